"""Wire the console into the app: Flask-Login, the /admin blueprint and the public transparency page."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import generate_csrf

from gateway.web.auth import init_auth


def init_admin(app: Flask) -> None:
    """Register the console (issue 4). Call after the rate limiter is bound (init_intake)."""
    init_auth(app)
    from gateway.web.admin import bp as admin_bp
    from gateway.web.admin.transparency import bp as transparency_bp

    app.register_blueprint(admin_bp)
    app.register_blueprint(transparency_bp)
    app.jinja_env.globals.setdefault("csrf_token", generate_csrf)
