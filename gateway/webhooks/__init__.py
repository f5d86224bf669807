"""Provider webhooks: messages in and delivery reports."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")

from gateway.webhooks import routes  # noqa: E402,F401 - registers the routes on bp
