"""The blueprint of Open311 GeoReport v2 at /open311/v2; its routes register on it."""

from flask import Blueprint

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")
