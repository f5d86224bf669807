"""Open311 GeoReport v2 at /open311/v2: discovery, services, requests, in XML and JSON."""

from gateway.web.open311 import media, routes  # noqa: F401 - registers the routes on bp
from gateway.web.open311.blueprint import bp

__all__ = ["bp"]
