"""Rate limits (Flask-Limiter): per client address for the form, per API key for the API and Open311.

One limiter for the process, bound to the app with :func:`init_limiter`; its counts live in Redis when
REDIS_URL is set (shared by every web worker), else in memory. A Redis failure never fails a request. A
provider's webhook is never limited (Twilio does not send a refused SMS again): the limiter skips it outright.
"""

from __future__ import annotations

import hashlib

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from gateway.web.security import form_value, provider_webhook


class SambatLimiter(Limiter):
    """Flask-Limiter, whose check before every request returns at once for a provider's webhook.

    A request filter would do the same, but only after the limiter has resolved the view's limits and looked
    for exemptions, which cost a webhook more CPU than its signature check (bench/RESULTS.md).
    """

    def _check_request_limit(self, callable_name: str | None = None, in_middleware: bool = True) -> None:
        if in_middleware and provider_webhook():
            return
        super()._check_request_limit(callable_name, in_middleware)


limiter = SambatLimiter(key_func=get_remote_address, headers_enabled=True, swallow_errors=True)


def init_limiter(app: Flask) -> None:
    """Bind the limiter to the app with the storage its settings name."""
    settings = app.extensions["sambat"].settings
    app.config.setdefault("RATELIMIT_STORAGE_URI", settings.redis_url or "memory://")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", f"{settings.queue_name}-limits")
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    limiter.init_app(app)


def form_limit() -> str:
    """The form's limit, from settings."""
    return current_app.extensions["sambat"].settings.intake.form_rate_limit


def api_limit() -> str:
    """The API's and Open311's limit per client, from settings."""
    return current_app.extensions["sambat"].settings.intake.api_rate_limit


def api_client() -> str:
    """Who a request counts against: its API key (hashed, never stored in clear), else its address."""
    # Never request.values: a key function that raises (a NUL in a form field) would make Flask-Limiter drop
    # to in-memory counting for the whole process.
    key = request.headers.get("X-API-Key") or request.args.get("api_key") or form_value("api_key")
    if key:
        return "key:" + hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    return "addr:" + (get_remote_address() or "unknown")
