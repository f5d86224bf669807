"""What holds for every response and request of the web app (issue 14): security headers, the session cookie, and
input no field may hold.

- **Headers** (flask-talisman): a Content-Security-Policy that allows scripts, styles, images and fonts from this
  site only (``'self'``) plus, for the rare inline ``<script>``/``<style>`` element, a per-request nonce that
  templates write as ``nonce="{{ csp_nonce() }}"``; no inline event handlers, ``javascript:`` URLs or ``style``
  attributes. ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY`` (no page can be framed),
  ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: same-origin``, and HSTS behind HTTPS. docs/security.md
  says what templates must follow. A provider's webhook (no browser, no page) gets the same headers without a
  nonce, worked out once per process (:class:`Headers`).
- **The session cookie**: HttpOnly, SameSite=Lax, Secure behind HTTPS (the request came over HTTPS, as the
  trusted proxies tell, or ``SAMBAT_PUBLIC_URL`` is https), and it lasts ``admin.session_max_hours``. A provider's
  webhook has no session: no cookie is read or set.
- **A NUL character** in a query or form field, or in a JSON string, is a 400 naming the field
  (:class:`BadInput`), answered in the shape of the surface it reached, never a database error (500).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask, Request, current_app, request
from flask.sessions import SecureCookieSessionInterface
from flask_talisman import DENY, Talisman
from werkzeug.exceptions import BadRequest
from werkzeug.wrappers import Request as BaseRequest
from werkzeug.wrappers import Response

from gateway.web.webhooks.blueprint import bp as webhooks_bp

CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
NONCE_IN = ["script-src", "style-src"]
# The "use my location" button of the form asks for the position; nothing here uses the camera or microphone
# (a file input's capture is the phone's own camera app, not governed by this header).
PERMISSIONS = {"browsing-topics": "()", "camera": "()", "microphone": "()", "payment": "()", "geolocation": "(self)"}
HSTS = "max-age=31536000; includeSubDomains"
WEBHOOKS_PATH = f"{webhooks_bp.url_prefix}/"


def provider_webhook() -> bool:
    """True for a request to a provider's webhook (``/webhooks/...``): a machine posting a signed payload, never a
    browser. Read from the path, so it holds before the URL is matched (when the session is opened)."""
    return request.path.startswith(WEBHOOKS_PATH)


class BadInput(BadRequest):
    """A field holds what no field may (a NUL character); the description names the field."""

    def __init__(self, field: str) -> None:
        super().__init__(description=f"{field}: contains a NUL character (\\x00), which no field may hold")
        self.field = field


def _nul_in(value: Any, path: str) -> str | None:
    """The path of the first string holding a NUL in a JSON value, else None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return where.replace("\x00", "\\x00")
            found = _nul_in(item, where)
            if found:
                return found
    if isinstance(value, list):
        for number, item in enumerate(value):
            found = _nul_in(item, f"{path}[{number}]")
            if found:
                return found
    return None


class SambatRequest(Request):
    """Flask's request, refusing a NUL in form fields and JSON strings where they are read (so each blueprint's
    own error handler answers, after its own body limits were set). Every read of ``form`` (or ``values``)
    raises again; code that must not raise (rate-limit keys) uses :func:`form_value`."""

    @property  # type: ignore[override]
    def form(self) -> Any:
        form = Request.form.__get__(self, type(self))  # werkzeug's cached parse
        if self.blueprint == "webhooks":
            # A provider's signed payload is what a citizen sent: a NUL in an SMS is stripped on intake
            # (gateway.complaints.cleaning), never refused, since Twilio does not send a refused SMS again.
            return form
        for name, value in form.items(multi=True):
            if "\x00" in str(value) or "\x00" in str(name):  # a part without a name has None
                raise BadInput(str(name).replace("\x00", "\\x00")[:60])
        return form

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:  # type: ignore[override]
        value = super().get_json(force=force, silent=silent, cache=cache)
        found = _nul_in(value, "")
        if found is not None:
            raise BadInput(found or "the body")
        return value


def form_value(name: str) -> str:
    """A form field for code that must never raise (a rate limit's key): "" when absent or not readable."""
    try:
        return request.form.get(name) or ""
    except BadRequest:
        return ""


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with the cookie Secure whenever Sambat is served over HTTPS.

    A provider's webhook gets Flask's null session: nothing is read from a cookie or written back (a signed
    serializer per request was a tenth of the webhook's CPU in Flask, bench/RESULTS.md).
    """

    def open_session(self, app: Flask, request: Request) -> Any:  # type: ignore[override]
        if provider_webhook():
            return None  # Flask then uses make_null_session(), which save_session never writes
        return super().open_session(app, request)

    def get_cookie_secure(self, app: Flask) -> bool:
        return behind_https()


class Headers(Talisman):
    """flask-talisman, with a provider's webhook answered with the same headers but no per-request work.

    A webhook's answer (empty TwiML, a line of text) is no page: no nonce is drawn for it, and the headers
    talisman writes for it (the CSP without a nonce, frame, type, referrer and permissions policies) are the
    same for every webhook, so they are worked out once (:meth:`webhook_headers`) and copied onto each answer,
    by the webhooks' direct path (:mod:`gateway.web.direct`) and by Flask alike.
    """

    _webhook_headers: list[tuple[str, str]] | None = None

    def webhook_headers(self, app: Flask) -> list[tuple[str, str]]:
        """The headers of every webhook's answer: what talisman writes for an answer to a webhook's path."""
        if self._webhook_headers is None:
            with app.test_request_context(WEBHOOKS_PATH, method="POST"):
                response = Response()
                before = set(response.headers.keys())
                super()._set_response_headers(response)
            self._webhook_headers = [(name, value) for name, value in response.headers.items() if name not in before]
        return self._webhook_headers

    def _force_https(self) -> Any:
        if provider_webhook():
            return None  # force_https is off: it would only read the options of the view
        return super()._force_https()

    def _make_nonce(self) -> None:
        if not provider_webhook():
            super()._make_nonce()

    def _set_response_headers(self, response: Response) -> Response:
        if not provider_webhook():
            return super()._set_response_headers(response)
        response.headers.extend(self.webhook_headers(current_app))  # a webhook's view sets none of these itself
        return response


def behind_https(incoming: BaseRequest | None = None, public_url: str | None = None) -> bool:
    """True when this request reached Sambat over HTTPS, or Sambat's public address is an https URL.

    Without arguments: Flask's request and the app's SAMBAT_PUBLIC_URL."""
    if incoming is None:
        incoming, public_url = request, current_app.extensions["sambat"].settings.public_url
    return incoming.is_secure or (public_url or "").startswith("https://")


def nul_in_query(incoming: BaseRequest) -> None:
    """A NUL in a query field is a 400 naming the field (:class:`BadInput`), on every path."""
    for name, value in incoming.args.items(multi=True):
        if "\x00" in value or "\x00" in name:
            raise BadInput(name.replace("\x00", "\\x00")[:60])


def init_security(app: Flask) -> None:
    """Headers, the session cookie and the NUL check for the whole app."""
    settings = app.extensions["sambat"].settings
    app.request_class = SambatRequest
    app.session_interface = SessionInterface()
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # Only the console's sessions are permanent; the server also ends them when idle (auth.session_expired).
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(hours=settings.admin.session_max_hours)
    app.extensions["talisman"] = Headers(
        app, force_https=False, session_cookie_secure=False, session_cookie_http_only=True,
        session_cookie_samesite="Lax", frame_options=DENY, content_security_policy=CSP,
        content_security_policy_nonce_in=NONCE_IN, referrer_policy="same-origin",
        permissions_policy=PERMISSIONS, strict_transport_security=False, x_content_type_options=True)

    @app.before_request
    def _refuse_nul_in_query() -> None:
        nul_in_query(request)

    @app.after_request
    def _hsts(response: Any) -> Any:
        if behind_https():
            response.headers["Strict-Transport-Security"] = HSTS
        return response
