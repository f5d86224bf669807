"""Thin edge: check, store, commit, enqueue by id, answer. The worker does the rest.

With the database unreachable, what was checked and read is spooled to Redis and answered 2xx all the same
(:mod:`gateway.jobs.spool`); only when Redis is down too does the webhook answer 503.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Response, current_app, request

from channels import registry
from channels.base import Ignored, InboundError, StatusReport
from gateway.jobs.inbound import store_and_enqueue
from gateway.jobs.outbox import apply_report
from gateway.jobs.spool import MESSAGE, REPORT, STORE, accept_or_spool
from gateway.runtime import Runtime
from gateway.web.webhooks.blueprint import bp

log = logging.getLogger(__name__)


def _runtime() -> Runtime:
    return current_app.extensions["sambat"]


def public_request_url() -> str:
    """The URL the provider called, as it signed it: SAMBAT_PUBLIC_URL + path + query behind a proxy."""
    public_url = _runtime().settings.public_url
    if not public_url:
        return request.url
    query = request.query_string.decode("latin-1")
    return public_url.rstrip("/") + request.path + (f"?{query}" if query else "")


def _refuse(error: InboundError) -> Response:
    log.warning("refused %s %s: %s", request.method, request.path, error)
    return Response(f"{error}\n", status=error.status, mimetype="text/plain")


def _webhook_view(channel_name: str, parse: str, store: str | None = None) -> Callable[[], Response]:
    """The view for one registered webhook: check and read, then store and enqueue, or apply a status.

    A webhook that names a ``store`` method hands what it parsed to the channel, which stores it itself.
    """

    def view() -> Response:
        runtime = _runtime()
        channel = runtime.channels[channel_name]
        try:
            result = getattr(channel, parse)(request, public_request_url())
            if store is not None:
                answer = accept_or_spool(runtime, STORE, result, lambda: getattr(channel, store)(runtime, result),
                                         channel=channel_name, method=store)
                return Response(f"{answer}\n", status=200, mimetype="text/plain")
        except InboundError as error:
            return _refuse(error)
        except Ignored as reason:
            return Response(f"{reason}\n", status=200, mimetype="text/plain")
        if isinstance(result, StatusReport):
            # A WhatsApp message failed because the window is closed (Twilio 63016): it goes again as a
            # template or by SMS, a new outbox row queued here.
            outcome = accept_or_spool(runtime, REPORT, result, lambda: apply_report(runtime, result))
            return Response(f"{outcome}\n", status=200, mimetype="text/plain")
        accept_or_spool(runtime, MESSAGE, result, lambda: store_and_enqueue(runtime, result))
        return channel.answer()

    return view


def register_webhooks() -> None:
    """Add every registered channel's webhooks to the blueprint (``channels.registry``)."""
    for spec in registry.specs():
        for webhook in spec.webhooks:
            bp.add_url_rule(webhook.rule, webhook.endpoint, _webhook_view(spec.name, webhook.parse, webhook.store),
                            methods=["POST"])


register_webhooks()
