"""The mobile-app JSON API at /api/v1, described by /api/v1/openapi.json."""

from gateway.web.api import routes  # noqa: F401 - registers the routes on bp
from gateway.web.api.blueprint import bp

__all__ = ["bp"]
