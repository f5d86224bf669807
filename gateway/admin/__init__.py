"""The admin console at /admin: the super-admin's review queue, agencies' work queues, dashboards, users."""

from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates", static_folder="static",
               static_url_path="/static")

from gateway.admin import agencies, complaints, people, review, routes  # noqa: E402,F401 - registers the routes on bp
