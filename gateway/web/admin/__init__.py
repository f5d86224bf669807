"""The admin console at /admin: the super-admin's review queue, agencies' work queues, dashboards, users."""

from gateway.web.admin import agencies, complaints, dead, people, review, routes  # noqa: F401 - registers the routes on bp
from gateway.web.admin.blueprint import bp

__all__ = ["bp"]
