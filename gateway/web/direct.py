"""Provider webhooks answered at the WSGI level, before Flask's request machinery.

A provider's POST to one of its webhooks (``/webhooks/twilio/sms`` ...) is a machine sending a signed payload:
no session, no page, no rate limit, no per-request nonce (:mod:`gateway.web.security`). Flask's dispatch for it
(contexts pushed and popped, the URL matched, each extension's before and after hooks) cost as much CPU as the
webhook's own work (bench/RESULTS.md). :class:`DirectWebhooks` sits in front of the Flask app and answers those
POSTs with :func:`gateway.web.webhooks.routes.answer_webhook`, the same function the Flask routes call, on a
werkzeug request:

- the app's body limit (``MAX_CONTENT_LENGTH``) holds: a larger body is 413;
- a NUL in a query field is a 400 naming it, as on every path;
- the answer carries the headers every webhook's answer carries (:meth:`gateway.web.security.Headers.webhook_headers`,
  and HSTS behind HTTPS);
- the database and the spool both unreachable is a 503 with Retry-After, as the app answers it;
- any other error is logged with its traceback and answered 500, or raised where Flask would raise it (testing).

Anything else (another path, another method) goes to Flask unchanged. It sits inside ProxyFix, so the scheme and
host it reads are those the trusted proxies reported.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.wrappers import Request, Response

from gateway.web.security import HSTS, behind_https, nul_in_query
from gateway.web.webhooks.routes import answer_webhook, webhooks

if TYPE_CHECKING:
    from flask import Flask

log = logging.getLogger(__name__)


def answer_database_unavailable(error: OperationalError) -> Response:
    """The answer while the database cannot be reached: 503, try again in 5 s (and never a traceback)."""
    log.warning("database unavailable: %s", error.orig)
    response = Response("Database unavailable, try again shortly.\n", status=503, mimetype="text/plain")
    response.headers["Retry-After"] = "5"
    return response


class DirectWebhooks:
    """WSGI middleware: provider webhooks' POSTs answered here, everything else by the Flask app."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self.flask = app.wsgi_app
        self.runtime = app.extensions["sambat"]
        self.routes = webhooks()
        self.headers = app.extensions["talisman"].webhook_headers(app)
        self.max_content_length = app.config["MAX_CONTENT_LENGTH"]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        route = self.routes.get(environ.get("PATH_INFO", "")) if environ.get("REQUEST_METHOD") == "POST" else None
        if route is None:
            return self.flask(environ, start_response)
        incoming = Request(environ)
        incoming.max_content_length = self.max_content_length
        try:
            response = self.answer(incoming, *route)
        finally:
            incoming.close()
        return self.send(environ, response, behind_https(incoming, self.runtime.settings.public_url), start_response)

    def send(self, environ: dict[str, Any], response: Response, https: bool, start_response: Any) -> Iterable[bytes]:
        """Start the answer with its own headers, then every webhook's (and HSTS behind HTTPS), and give its body.

        Each answer here is a whole body in memory with its Content-Length, to a POST: werkzeug's WSGI answer
        (a copy of the headers checked one by one, then the body) would only give the same status, headers and
        bytes at more cost (tests/gateway/web/test_direct_webhooks.py compares them with Flask's)."""
        extra = [*self.headers, ("Strict-Transport-Security", HSTS)] if https else self.headers
        if response.direct_passthrough or "Content-Length" not in response.headers:  # not one here: werkzeug's way
            response.headers.extend(extra)
            return response(environ, start_response)
        headers = response.headers.to_wsgi_list()
        headers.extend(extra)
        start_response(response.status, headers)
        return [response.get_data()]

    def answer(self, incoming: Request, channel: str, parse: str, store: str | None) -> Response:
        try:
            if incoming.environ.get("QUERY_STRING"):
                nul_in_query(incoming)
            return answer_webhook(self.runtime, channel, parse, store, incoming)
        except HTTPException as error:  # a body too large (413), a form that cannot be read (400) ...
            return error.get_response(incoming.environ)  # type: ignore[return-value]
        except OperationalError as error:  # the database and the spool both down (gateway.jobs.spool)
            return answer_database_unavailable(error)
        except Exception:
            if self.propagate():
                raise
            log.exception("Exception on %s [%s]", incoming.path, incoming.method)
            return InternalServerError().get_response(incoming.environ)  # type: ignore[return-value]

    def propagate(self) -> bool:
        """Whether Flask would raise an unhandled error to the server (its testing and debug modes) rather than
        answer 500."""
        propagate = self.app.config["PROPAGATE_EXCEPTIONS"]
        return bool(self.app.testing or self.app.debug) if propagate is None else bool(propagate)
