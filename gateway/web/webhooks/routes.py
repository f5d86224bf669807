"""Thin edge: check, store, commit, enqueue by id, answer. The worker does the rest.

With the database unreachable, what was checked and read is spooled to Redis and answered 2xx all the same
(:mod:`gateway.jobs.spool`); only when Redis is down too does the webhook answer 503.

A provider's POST is answered by :func:`answer_webhook` before Flask sees it (:mod:`gateway.web.direct`);
the Flask routes registered here answer the same way for what reaches Flask (a test's request context, and every
other method, which Flask answers 405).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Response, current_app, request
from werkzeug.wrappers import Request

from channels import registry
from channels.base import Ignored, InboundError, StatusReport
from gateway.jobs.inbound import store_and_enqueue
from gateway.jobs.outbox import apply_report
from gateway.jobs.spool import MESSAGE, REPORT, STORE, accept_or_spool
from gateway.runtime import Runtime
from gateway.web.webhooks.blueprint import bp

log = logging.getLogger(__name__)


def public_request_url(public_url: str | None, incoming: Request) -> str:
    """The URL the provider called, as it signed it: SAMBAT_PUBLIC_URL + path + query behind a proxy."""
    if not public_url:
        return incoming.url
    query = incoming.query_string.decode("latin-1")
    return public_url.rstrip("/") + incoming.path + (f"?{query}" if query else "")


def _refuse(incoming: Request, error: InboundError) -> Response:
    log.warning("refused %s %s: %s", incoming.method, incoming.path, error)
    return Response(f"{error}\n", status=error.status, mimetype="text/plain")


def answer_webhook(runtime: Runtime, channel_name: str, parse: str, store: str | None, incoming: Request) -> Response:
    """Answer one registered webhook: check and read, then store and enqueue, or apply a status.

    A webhook that names a ``store`` method hands what it parsed to the channel, which stores it itself.
    """
    channel = runtime.channels[channel_name]
    try:
        result = getattr(channel, parse)(incoming, public_request_url(runtime.settings.public_url, incoming))
        if store is not None:
            answer = accept_or_spool(runtime, STORE, result, lambda: getattr(channel, store)(runtime, result),
                                     channel=channel_name, method=store)
            return Response(f"{answer}\n", status=200, mimetype="text/plain")
    except InboundError as error:
        return _refuse(incoming, error)
    except Ignored as reason:
        return Response(f"{reason}\n", status=200, mimetype="text/plain")
    if isinstance(result, StatusReport):
        # A WhatsApp message failed because the window is closed (Twilio 63016): it goes again as a
        # template or by SMS, a new outbox row queued here.
        outcome = accept_or_spool(runtime, REPORT, result, lambda: apply_report(runtime, result))
        return Response(f"{outcome}\n", status=200, mimetype="text/plain")
    accept_or_spool(runtime, MESSAGE, result, lambda: store_and_enqueue(runtime, result))
    return channel.answer()


def _webhook_view(channel_name: str, parse: str, store: str | None = None) -> Callable[[], Response]:
    """The Flask view for one registered webhook (:func:`answer_webhook` on Flask's request)."""

    def view() -> Response:
        return answer_webhook(current_app.extensions["sambat"], channel_name, parse, store,
                              request._get_current_object())  # type: ignore[attr-defined]

    return view


def webhooks() -> dict[str, tuple[str, str, str | None]]:
    """Every registered channel's webhooks: full path -> (channel, parse method, store method)."""
    return {f"{bp.url_prefix}{webhook.rule}": (spec.name, webhook.parse, webhook.store)
            for spec in registry.specs() for webhook in spec.webhooks}


def register_webhooks() -> None:
    """Add every registered channel's webhooks to the blueprint (``channels.registry``)."""
    for spec in registry.specs():
        for webhook in spec.webhooks:
            bp.add_url_rule(webhook.rule, webhook.endpoint, _webhook_view(spec.name, webhook.parse, webhook.store),
                            methods=["POST"])


register_webhooks()
