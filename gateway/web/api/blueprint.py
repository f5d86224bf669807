"""The blueprint of the mobile-app JSON API at /api/v1, described by /api/v1/openapi.json; its routes register on it."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")
