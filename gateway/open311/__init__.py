"""Open311 GeoReport v2 at /open311/v2: discovery, services, requests, in XML and JSON."""

from flask import Blueprint

bp = Blueprint("open311", __name__, url_prefix="/open311/v2")

from gateway.open311 import media, routes  # noqa: E402,F401 - registers the routes on bp
