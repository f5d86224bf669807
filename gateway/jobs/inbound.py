"""A provider's message in: stored and committed first (:func:`store_and_enqueue`), then handled by a worker.

``process_inbound`` is an rq job that takes a message id. It is safe to run twice, even at once on
two workers: the complaint is unique per message, the reply's outbox row unique per message, and
whichever run commits first wins while the other rolls back and only hands on the replies.

The reply goes out in the same job, right after its outbox row is committed (:func:`gateway.jobs.outbox.deliver`);
the queue is the fallback when that send cannot run. Each run is counted before it starts (``attempts``, committed,
with ``next_attempt_at`` leaving the message to this run until its timeout has passed); a run that fails records
its error, and a message whose runs fail ``jobs.max_attempts`` times is dead (``dead_at``): the scheduler no
longer hands it out, and the console lists it with a retry button (:mod:`gateway.jobs.dead`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import Insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from channels.base import InboundMessage
from gateway.complaints.cleaning import storable
from gateway.complaints.media import waiting
from gateway.complaints.messages import contact_for, handle_message, unproven
from gateway.complaints.outbox import WRITTEN
from gateway.jobs.media import fetch_media
from gateway.jobs.outbox import deliver
from gateway.observability import count_received
from gateway.runtime import DEFAULT, HIGH, Runtime, current_runtime, job_id
from models import InboundMessage as InboundRow
from models import Outbox, utcnow
from models.base import upsert_insert
from models.message import PENDING

log = logging.getLogger(__name__)

LEASE_MARGIN = 30  # seconds past the job's timeout before the scheduler may hand the message out again


def process_inbound(message_id: int) -> None:
    """rq job: handle one stored inbound message, send its replies, then enqueue its downloads."""
    runtime = current_runtime()
    if not begin_attempt(runtime, message_id):
        return
    try:
        replies, has_media = _handle(runtime, message_id)
    except Exception as exc:  # rq's JobTimeoutException included: recorded, then rq records the failure too
        record_failure(runtime, message_id, exc)
        raise
    for outbox_id in replies:
        send_now(runtime, outbox_id)
    if has_media:  # photos never hold up the ticket reply
        for fetch_id in waiting(runtime, message_id):
            runtime.queue.enqueue(fetch_media, fetch_id, priority=DEFAULT, job_id=job_id("media", fetch_id))


def send_now(runtime: Runtime, outbox_id: int) -> None:
    """Send a committed reply in this job; when that cannot run (the database or the provider failed in a way
    the send could not record), hand it to the queue, whose job the scheduler's sweep also backs up."""
    try:
        deliver(runtime, outbox_id)
    except Exception:  # noqa: BLE001 - the row is committed: the queue (or the sweep) sends it
        log.exception("outbox %s: sending in the processing job failed; queueing it", outbox_id)
        runtime.send_soon(outbox_id, priority=HIGH)


def begin_attempt(runtime: Runtime, message_id: int) -> bool:
    """Count one run of the message's job before it does anything. False when the message is dead, or becomes
    dead now because earlier runs stopped without finishing (a worker killed: nothing recorded their end)."""
    settings = runtime.settings
    now = utcnow()
    with runtime.db.session() as session:
        lease = now + timedelta(seconds=settings.jobs.timeout("process_inbound") + LEASE_MARGIN)
        attempts = session.execute(
            update(InboundRow)
            .where(InboundRow.id == message_id, InboundRow.processed_at.is_(None), InboundRow.dead_at.is_(None))
            .values(attempts=InboundRow.attempts + 1, next_attempt_at=lease)
            .returning(InboundRow.attempts)
        ).scalar()
        session.commit()
        if attempts is not None and attempts <= settings.jobs.max_attempts:
            return True
        row = session.get(InboundRow, message_id)
        if attempts is None:
            return row is not None and row.dead_at is None  # processed: a second run only hands on the replies
        row.dead_at = now
        row.last_error = (f"stopped {row.attempts - 1} times without finishing (job timeout or worker killed)"
                          + (f"; last error: {row.last_error}" if row.last_error else ""))[:2000]
        session.commit()
        log.error("inbound message %s is dead: %s", message_id, row.last_error)
        return False


def record_failure(runtime: Runtime, message_id: int, exc: BaseException) -> None:
    """Keep a failed run's error; after ``jobs.max_attempts`` runs the message is dead, else due again after the
    outbox's backoff. A database that cannot take even this is logged: the run stays counted."""
    settings = runtime.settings
    error = f"{type(exc).__name__}: {exc}"[:2000]
    try:
        with runtime.db.session() as session:
            row = session.get(InboundRow, message_id)
            if row is None or row.processed_at is not None:
                return
            row.last_error = error
            if row.attempts >= settings.jobs.max_attempts:
                row.dead_at = utcnow()
                log.error("inbound message %s is dead after %s runs: %s", message_id, row.attempts, error)
            else:
                backoff = settings.outbox.retry_backoff
                row.next_attempt_at = utcnow() + timedelta(seconds=backoff[min(row.attempts, len(backoff)) - 1])
            session.commit()
    except Exception:  # noqa: BLE001 - the original error is what the caller raises
        log.exception("could not record the failure of inbound message %s", message_id)


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
            # A sender the channel could not prove (an e-mail whose SPF/DKIM/DMARC verdict failed) is nobody's
            # contact: the complaint is filed, nothing is answered.
            contact = None if unproven(message) else contact_for(session, message.sender)
            try:
                # Marked first, so the message row is written once with its contact (one UPDATE, not two).
                message.processed_at = utcnow()
                handle_message(session, runtime, message, contact)
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
    values = storable({  # every field a provider wrote: a NUL anywhere (an id, a pin's label) is made storable
        "channel": message.channel, "medium": message.medium, "provider_message_id": message.provider_message_id,
        "sender": message.sender, "recipient": message.recipient, "body": message.text,
        "device_id": message.device_id, "sim_number": message.sim_number,
        "media": [{"url": m.url, "content_type": m.content_type} for m in message.media],
        "raw": message.raw, "received_at": message.received_at or utcnow(), "automated": message.automated,
        "location": message.location.to_dict() if message.location else None,
    })

    def store(connection: Connection) -> tuple[int, bool, bool]:
        new_id = connection.execute(insert_once(connection.dialect.name), values).scalar()
        if new_id is not None:
            return new_id, True, False
        existing = connection.execute(
            select(InboundRow.id, InboundRow.processed_at).where(
                InboundRow.channel == message.channel,
                InboundRow.provider_message_id == values["provider_message_id"],
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
    return (
        upsert_insert(dialect)(InboundRow)
        .on_conflict_do_nothing(index_elements=["channel", "provider_message_id"])
        .returning(InboundRow.id)
    )
