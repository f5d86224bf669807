"""The mobile-app JSON API at /api/v1, described by /api/v1/openapi.json."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")

from gateway.api import routes  # noqa: E402,F401 - registers the routes on bp
