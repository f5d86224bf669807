"""A provider's message in: stored and committed first (:func:`store_and_enqueue`), then handled by a worker.

``process_inbound`` is an rq job that takes a message id. It is safe to run twice, even at once on
two workers: the complaint is unique per message, the reply's outbox row unique per message, and
whichever run commits first wins while the other rolls back and only hands on the replies.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable

from sqlalchemy import Insert, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from channels.base import InboundMessage
from gateway.complaints.media import waiting
from gateway.complaints.messages import contact_for, handle_message
from gateway.complaints.outbox import WRITTEN
from gateway.jobs.media import fetch_media
from gateway.observability import count_received
from gateway.runtime import DEFAULT, HIGH, Runtime, current_runtime
from models import InboundMessage as InboundRow
from models import Outbox, utcnow
from models.message import PENDING

log = logging.getLogger(__name__)


def process_inbound(message_id: int) -> None:
    """rq job: handle one stored inbound message, then enqueue the sends of its replies, then its downloads."""
    runtime = current_runtime()
    replies, has_media = _handle(runtime, message_id)
    for outbox_id in replies:
        runtime.send_soon(outbox_id, priority=HIGH)
    if has_media:
        for fetch_id in waiting(runtime, message_id):  # photos never hold up the ticket reply
            runtime.queue.enqueue(fetch_media, fetch_id, priority=DEFAULT)


def handle_inbound(runtime: Runtime, message_id: int) -> list[int]:
    """Do the work for one message once; return the ids of its replies still waiting to be sent."""
    return _handle(runtime, message_id)[0]


def _handle(runtime: Runtime, message_id: int) -> tuple[list[int], bool]:
    """:func:`handle_inbound`, and whether the message came with files (only then are downloads looked up)."""
    with runtime.db.session() as session:
        message = session.get(InboundRow, message_id)
        if message is None:
            log.error("inbound message %s does not exist", message_id)
            return [], False
        has_media = bool(message.media)
        if message.processed_at is None and message.automated:
            # An auto-reply, a bounce, a carrier's SMS: kept, never answered, and nobody's contact.
            message.processed_at = utcnow()
            session.commit()
        if message.processed_at is None:
            contact = contact_for(session, message.sender)
            try:
                handle_message(session, runtime, message, contact)
                message.processed_at = utcnow()
                session.flush()
                # The replies this run wrote are pending by construction: no query for them after the commit.
                written = [row.id for row in session.info.get(WRITTEN, ())
                           if row.inbound_message_id == message_id and row.status == PENDING]
                session.commit()
                return written, has_media
            except IntegrityError:
                # Another run of this job committed first; its replies are the ones to send.
                session.rollback()
                log.info("inbound message %s was processed by another run", message_id)
        return list(session.scalars(
            select(Outbox.id).where(Outbox.inbound_message_id == message_id, Outbox.status == PENDING)
        )), has_media


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
    if created:
        count_received(message.channel, message.medium)
    if before_enqueue is not None:
        before_enqueue(message_id, created)
    if not processed:
        try:
            runtime.process_soon(message_id)
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
