"""Thin edge: check, store, commit, enqueue by id, answer. The worker does the rest."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from flask import Response, current_app, request
from sqlalchemy import Insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from channels import registry
from channels.base import Ignored, InboundError, InboundMessage, StatusReport
from gateway.outbox import apply_report
from gateway.pipeline import process_inbound
from gateway.queue import HIGH
from gateway.runtime import Runtime
from gateway.webhooks import bp
from models import InboundMessage as InboundRow
from models import utcnow

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
                return Response(f"{getattr(channel, store)(runtime, result)}\n", status=200, mimetype="text/plain")
        except InboundError as error:
            return _refuse(error)
        except Ignored as reason:
            return Response(f"{reason}\n", status=200, mimetype="text/plain")
        if isinstance(result, StatusReport):
            # A WhatsApp message failed because the window is closed (Twilio 63016): it goes again as a
            # template or by SMS, a new outbox row queued here.
            outcome = apply_report(runtime, result)
            return Response(f"{outcome}\n", status=200, mimetype="text/plain")
        store_and_enqueue(runtime, result)
        return channel.answer()

    return view


def register_webhooks() -> None:
    """Add every registered channel's webhooks to the blueprint (``channels.registry``)."""
    for spec in registry.specs():
        for webhook in spec.webhooks:
            bp.add_url_rule(webhook.rule, webhook.endpoint, _webhook_view(spec.name, webhook.parse, webhook.store),
                            methods=["POST"])


register_webhooks()


def store_and_enqueue(runtime: Runtime, message: InboundMessage,
                      before_enqueue: Callable[[int, bool], None] | None = None) -> tuple[int, bool]:
    """Store a message under its provider id, committed, then enqueue its processing.

    A repeat delivery (same channel and provider id) creates nothing new. Returns the row id and
    whether it was new. Enqueue failures are logged, not raised: the message is committed and the
    scheduler's sweep hands it to a worker later. ``before_enqueue(row id, created)`` runs between the
    two (a channel's photos join the message there, before any worker can see it).

    The row is written with one INSERT ... ON CONFLICT DO NOTHING in autocommit mode: committed when
    the statement returns, one round trip, and safe to repeat if the connection drops on the way.
    """
    values = {
        "channel": message.channel, "medium": message.medium, "provider_message_id": message.provider_message_id,
        "sender": message.sender, "recipient": message.recipient, "body": message.text,
        "device_id": message.device_id, "sim_number": message.sim_number,
        "media": [{"url": m.url, "content_type": m.content_type} for m in message.media],
        "raw": message.raw, "received_at": message.received_at or utcnow(), "automated": message.automated,
        "location": message.location.to_dict() if message.location else None,
    }

    def store(connection: Connection) -> tuple[int, bool, bool]:
        new_id = connection.execute(insert_once(connection.dialect.name), values).scalar()
        if new_id is not None:
            return new_id, True, False
        existing = connection.execute(
            select(InboundRow.id, InboundRow.processed_at).where(
                InboundRow.channel == message.channel,
                InboundRow.provider_message_id == message.provider_message_id,
            )
        ).one()
        return existing.id, False, existing.processed_at is not None

    message_id, created, processed = runtime.db.autocommit(store)
    if before_enqueue is not None:
        before_enqueue(message_id, created)
    if not processed:
        try:
            runtime.queue.enqueue(process_inbound, message_id, priority=HIGH)
        except Exception:  # noqa: BLE001 - stored and committed; the sweep will enqueue it again
            log.exception("could not enqueue inbound message %s; the scheduler will retry", message_id)
    return message_id, created


@functools.cache
def insert_once(dialect: str) -> Insert:
    """INSERT an inbound message unless its (channel, provider id) is stored already; RETURNING its id.

    Built once per dialect and executed with the values as parameters: building and cache-keying a
    statement with its values inline took more CPU than the round trip to the database.
    """
    dialect_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    return (
        dialect_insert(InboundRow)
        .on_conflict_do_nothing(index_elements=["channel", "provider_message_id"])
        .returning(InboundRow.id)
    )
