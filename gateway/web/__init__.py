"""Wire the public surfaces into the app: the form, the ticket page, the JSON API, Open311, rate limits."""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from gateway.web.limiter import init_limiter


def init_intake(app: Flask) -> None:
    """Register the blueprints of issue 5 and bind the rate limiter."""
    # A citizen may take a while on a slow phone: the form's CSRF token lasts as long as its session.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    init_limiter(app)
    from gateway.web.api import bp as api_bp
    from gateway.web.form import bp as form_bp
    from gateway.web.home import bp as home_bp
    from gateway.web.open311 import bp as open311_bp
    from gateway.web.ticket_page import bp as ticket_bp

    for blueprint in (form_bp, ticket_bp, api_bp, open311_bp, home_bp):
        app.register_blueprint(blueprint)
    for status in (404, 405):
        app.register_error_handler(status, _unmatched)


def _unmatched(error: HTTPException) -> Any:
    """A URL no route matched: under /api/v1 and /open311/v2 it is answered in that API's error shape."""
    if request.path.startswith("/api/v1/") or request.path == "/api/v1":
        from gateway.web.api.errors import http_error

        return http_error(error)
    if request.path.startswith("/open311/"):
        from gateway.web.open311.formats import error_response

        return error_response([(error.code or 404, error.description or "not found")],
                              "json" if request.path.endswith(".json") else "xml")
    return error
