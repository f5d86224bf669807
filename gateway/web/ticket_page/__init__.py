"""The public ticket page at /tiket/<code>: status, agency, dates and public answers, no personal data."""

from gateway.web.ticket_page import routes  # noqa: F401 - registers the routes on bp
from gateway.web.ticket_page.blueprint import bp

__all__ = ["bp"]
