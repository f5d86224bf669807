"""The public ticket page at /tiket/<code>: status, agency, dates and public answers, no personal data."""

from flask import Blueprint

bp = Blueprint("ticket", __name__, template_folder="templates")

from gateway.ticket_page import routes  # noqa: E402,F401 - registers the routes on bp
