"""A provider's message in: stored and committed first (:func:`store_and_enqueue`), then filed by a worker.

The webhook does not queue a job per message: it wakes ``process_inbound``
(:meth:`gateway.runtime.Runtime.process_soon`), and a job woken while another waits to start adds nothing. The job
files every message waiting, in batches of up to :data:`BATCH_SIZE` in one transaction, then sends their replies
(:func:`gateway.jobs.outbox.deliver_many`; the queue is the fallback when that send cannot run). Under load the
batches grow with the backlog, so the cost per message falls as the rate rises; alone, a message is a batch of one.

Each message is claimed before it is worked: ``attempts`` counted and ``next_attempt_at`` set past the job's timeout
(a lease), in one UPDATE ... FOR UPDATE SKIP LOCKED, so two workers never file the same message and the scheduler
hands it out again only once the lease has passed. A message claimed before (its earlier run failed, or stopped:
a worker killed, a timeout) is filed alone, so a message that kills its worker never takes others down with it. A
batch whose transaction fails is filed again one message at a time, each in its own transaction: one message's
error is that message's alone. A run that fails records its error, and a message whose runs fail
``jobs.max_attempts`` times is dead (``dead_at``): the scheduler no longer hands it out, and the console lists it
with a retry button (:mod:`gateway.jobs.dead`).
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, timedelta
from typing import Any

from sqlalchemy import Insert, bindparam, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from channels.base import InboundMessage
from gateway.complaints.cleaning import storable
from gateway.complaints.media import waiting
from gateway.complaints.messages import contact_for, handle_message, prepare_batch, unproven
from gateway.complaints.outbox import WRITTEN
from gateway.jobs.media import fetch_media
from gateway.jobs.outbox import HAND_BACK_DELAYS, deliver_many
from gateway.jobs.reconnect import job_timed_out, outage_for, write_through_restart
from gateway.observability import count_received
from gateway.runtime import DEFAULT, HIGH, INBOUND_WAKE, Runtime, current_runtime, job_id, wake_window
from models import InboundMessage as InboundRow
from models import Outbox, utcnow
from models.base import upsert_insert
from models.message import PENDING

log = logging.getLogger(__name__)

LEASE_MARGIN = 30  # seconds past the job's timeout before the scheduler may hand the message out again
BATCH_SIZE = 50  # messages filed in one transaction
BUDGET_SHARE = 0.25  # of the job's timeout: past it, the job takes no new batch and wakes another job instead


def process_inbound(message_id: int | None = None) -> None:
    """rq job: file the inbound messages waiting, a batch at a time, and send their replies, then queue their
    downloads. (``message_id``, of a job queued by an earlier version, is one of those waiting.)"""
    runtime = current_runtime()
    # jobs.batch_wait (0.1 s): the messages that arrive meanwhile find this job still waiting and join its first
    # batch. At 50 messages a second that is about five per batch instead of one (the job's own cost, rq's
    # bookkeeping, is shared), for 0.1 s more before the reply; under heavy load batches are full anyway.
    time.sleep(runtime.settings.jobs.batch_wait)
    runtime.queue.woken(INBOUND_WAKE)  # before the first look: a message stored after this wakes a new job
    # A webhook whose wake found the flag before it was cleared may store messages without waking for this long
    # (Runtime.process_soon): they are committed before this job looks.
    time.sleep(wake_window(runtime.settings))
    budget = runtime.settings.jobs.timeout("process_inbound") * BUDGET_SHARE
    started, errors = time.monotonic(), []
    while True:
        fresh, again, dead = claim_waiting(runtime, BATCH_SIZE)
        for batch in ([fresh] if fresh else []) + [[each] for each in again]:
            errors += work_batch(runtime, batch)
        if len(fresh) + len(again) + len(dead) < BATCH_SIZE:
            break  # all that waited when this job started is done; later messages woke a job of their own
        if time.monotonic() - started > budget:
            runtime.process_soon(force=True)  # the rest go to a new job, after the jobs queued meanwhile
            break
    if errors:
        raise errors[0]  # recorded with its message already; rq keeps the job as failed, for people to see


def claim_waiting(runtime: Runtime, limit: int) -> tuple[list[int], list[int], list[int]]:
    """Claim up to ``limit`` messages due for processing, oldest first: count the run and lease them to this job.

    Returns the ids claimed for the first time, those claimed before (their earlier run failed or stopped), which
    are filed one at a time, and those that became dead: a message whose earlier runs all stopped without
    finishing (a worker killed, a timeout: nothing recorded their end) is dead once ``jobs.max_attempts`` runs
    have started.
    """
    settings = runtime.settings
    now = utcnow()
    lease = now + timedelta(seconds=settings.jobs.timeout("process_inbound") + LEASE_MARGIN)
    due = (select(InboundRow.id)
           .where(InboundRow.processed_at.is_(None), InboundRow.dead_at.is_(None),
                  InboundRow.next_attempt_at.is_(None) | (InboundRow.next_attempt_at <= now))
           .order_by(InboundRow.id).limit(limit).with_for_update(skip_locked=True))
    with runtime.db.session() as session:
        claimed = session.execute(
            update(InboundRow).where(InboundRow.id.in_(due.scalar_subquery()))
            .values(attempts=InboundRow.attempts + 1, next_attempt_at=lease)
            .returning(InboundRow.id, InboundRow.attempts)
        ).all()
        spent = sorted(row_id for row_id, attempts in claimed if attempts > settings.jobs.max_attempts)
        for row_id in spent:
            row = session.get(InboundRow, row_id)
            row.dead_at = now
            row.last_error = (f"stopped {row.attempts - 1} times without finishing (job timeout or worker killed)"
                              + (f"; last error: {row.last_error}" if row.last_error else ""))[:2000]
            log.error("inbound message %s is dead: %s", row_id, row.last_error)
        session.commit()
    fresh = sorted(row_id for row_id, attempts in claimed if attempts == 1)
    again = sorted(row_id for row_id, attempts in claimed if 1 < attempts <= settings.jobs.max_attempts)
    return fresh, again, spent


def work_batch(runtime: Runtime, message_ids: list[int]) -> list[Exception]:
    """File claimed messages in one transaction, send their replies, queue their downloads. A batch that fails is
    filed again one message at a time; returns the errors of the messages that failed (each recorded). rq's
    timeout ends the job at once: every message of the batch is recorded as failed, to be tried again alone."""
    errors: list[Exception] = []
    replies: list[int] = []
    with_media: list[int] = []
    alone = message_ids
    if len(message_ids) > 1:
        try:
            replies, with_media = _file_batch(runtime, message_ids)
            alone = []
        except Exception as exc:
            if job_timed_out(exc):
                for message_id in message_ids:
                    record_failure(runtime, message_id, exc)
                raise
            if outage_for(exc) is not None:
                put_back(runtime, message_ids, exc)
                raise
            log.warning("a batch of %s messages failed (%s: %s); filing them one at a time", len(message_ids),
                        type(exc).__name__, exc)
    for number, message_id in enumerate(alone):
        try:
            written, media = _handle(runtime, message_id)
        except Exception as error:  # rq's JobTimeoutException included: recorded, then rq records the failure too
            if outage_for(error) is not None:
                put_back(runtime, alone[number:], error)
                raise
            record_failure(runtime, message_id, error)
            if job_timed_out(error):
                raise
            log.exception("inbound message %s failed", message_id)
            errors.append(error)
            continue
        replies += written
        with_media += media
    send_now(runtime, replies)
    for message_id in with_media:  # photos never hold up the ticket reply
        for fetch_id in waiting(runtime, message_id):
            runtime.queue.enqueue(fetch_media, fetch_id, priority=DEFAULT, job_id=job_id("media", fetch_id))
    return errors


def put_back(runtime: Runtime, message_ids: list[int], error: BaseException) -> None:
    """Hand claimed messages back when the database or Redis went away under them: not their failure, so the run is
    not counted, and they are due again at once (not at the end of their lease, 90 s on). The database is tried again
    after each of :data:`gateway.jobs.outbox.HAND_BACK_DELAYS` (a restart takes seconds); one away longer leaves them
    to the sweep once their lease has passed."""
    def write() -> None:
        with runtime.db.session() as session:
            session.execute(
                update(InboundRow)
                .where(InboundRow.id.in_(message_ids), InboundRow.processed_at.is_(None),
                       InboundRow.dead_at.is_(None), InboundRow.attempts > 0)
                .values(attempts=InboundRow.attempts - 1, next_attempt_at=None)
            )
            session.commit()

    failure = write_through_restart(write, HAND_BACK_DELAYS)
    if failure is not None:  # leased: the sweep hands them out when the lease has passed
        log.warning("inbound messages %s: could not put them back (%s); the sweep hands them out when their lease "
                    "has passed", message_ids, failure)
        return
    log.warning("inbound messages %s put back: %s: %s", message_ids, type(error).__name__, error)
    try:
        runtime.process_soon(force=True)
    except Exception:  # noqa: BLE001 - Redis away too: the scheduler's sweep wakes a job
        log.warning("could not wake a job for the messages put back; the scheduler will")


def _file_batch(runtime: Runtime, message_ids: list[int]) -> tuple[list[int], list[int]]:
    """Handle claimed messages in one transaction. Returns the replies written (pending) and the messages that
    came with files."""
    with runtime.db.session() as session:
        messages = session.scalars(select(InboundRow).where(InboundRow.id.in_(message_ids))
                                   .order_by(InboundRow.id)).all()
        if len(messages) > 1:
            prepare_batch(session, [m for m in messages if m.processed_at is None])
        with_media = []
        for message in messages:
            if message.processed_at is not None:
                continue  # an earlier run whose lease ran out finished it after all: its replies are its own
            message.processed_at = utcnow()  # marked first: the row is written once, with its contact
            if message.media:
                with_media.append(message.id)
            if message.automated:
                continue  # an auto-reply, a bounce, a carrier's SMS: kept, never answered, and nobody's contact
            # A sender the channel could not prove (an e-mail whose SPF/DKIM/DMARC verdict failed) is nobody's
            # contact: the complaint is filed, nothing is answered.
            contact = None if unproven(message) else contact_for(session, message.sender)
            handle_message(session, runtime, message, contact)
        session.flush()
        # The replies this transaction wrote are pending by construction: no query for them after the commit.
        written = [row.id for row in session.info.get(WRITTEN, ()) if row.status == PENDING]
        session.commit()
        return written, with_media


def send_now(runtime: Runtime, outbox_ids: list[int]) -> None:
    """Send committed replies in this job; when that cannot run (the database or the provider failed in a way
    the send could not record), hand them to the queue, whose job the scheduler's sweep also backs up."""
    if not outbox_ids:
        return
    try:
        deliver_many(runtime, outbox_ids)
    except Exception as exc:  # the rows are committed: the queue (or the sweep) sends them
        if job_timed_out(exc):
            raise  # rq's timeout: the job ends now (the sends not recorded were handed back, the sweep sends them)
        log.exception("outbox %s: sending in the processing job failed; queueing them", outbox_ids)
        for outbox_id in outbox_ids:
            runtime.send_soon(outbox_id, priority=HIGH)


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


def _handle(runtime: Runtime, message_id: int) -> tuple[list[int], list[int]]:
    """:func:`handle_inbound` in a transaction of its own, and the message's id if it came with files. A message
    another run processed first (it committed first) hands on the replies that run left pending."""
    try:
        written, with_media = _file_batch(runtime, [message_id])
        if written or with_media:
            return written, with_media
    except IntegrityError:
        log.info("inbound message %s was processed by another run", message_id)
    with runtime.db.session() as session:
        return list(session.scalars(
            select(Outbox.id).where(Outbox.inbound_message_id == message_id, Outbox.status == PENDING)
        )), []


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
        "location": message.location.to_dict() if message.location else None, "attempts": 0,
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

    if runtime.db.driver == "psycopg":
        insert, find = driver_statements(tuple(values))
        parameters = {**values, "media": json.dumps(values["media"]), "raw": json.dumps(values["raw"]),
                      "location": None if values["location"] is None else json.dumps(values["location"]),
                      "received_at": values["received_at"].astimezone(UTC)}

        def store_on_driver(connection: Any) -> tuple[int, bool, bool]:
            row = connection.execute(insert, parameters).fetchone()
            if row is not None:
                return row[0], True, False
            existing = connection.execute(find, parameters).fetchone()
            return existing[0], False, existing[1] is not None

        message_id, created, processed = runtime.db.driver_autocommit(store_on_driver, insert)
    else:
        message_id, created, processed = runtime.db.autocommit(store)
    if created:
        count_received(message.channel, message.medium)
    if before_enqueue is not None:
        before_enqueue(message_id, created)
    if not processed:
        try:
            runtime.process_soon()
        except Exception:  # noqa: BLE001 - stored and committed; the sweep will enqueue it again
            log.exception("could not enqueue inbound message %s; the scheduler will retry", message_id)
    return message_id, created


@functools.cache
def driver_statements(columns: tuple[str, ...]) -> tuple[str, str]:
    """:func:`insert_once` of ``columns`` and the look-up of a repeat delivery, as PostgreSQL SQL for psycopg's own
    cursor (``%(name)s`` parameters: the JSON columns as JSON text, cast): the webhook's INSERT without SQLAlchemy's
    statement execution (:meth:`models.base.Database.driver_autocommit`). Compiled from the same statements, so
    both paths write the same row (tests/gateway/jobs/test_driver_insert.py compares them)."""
    dialect = postgresql.psycopg.dialect()
    insert = insert_once("postgresql").compile(dialect=dialect, column_keys=list(columns))
    find = (select(InboundRow.id, InboundRow.processed_at)
            .where(InboundRow.channel == bindparam("channel"),
                   InboundRow.provider_message_id == bindparam("provider_message_id"))
            .compile(dialect=dialect))
    return str(insert), str(find)


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
