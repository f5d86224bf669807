"""The scheduler: the safety net that makes "nothing is lost" true, and the home of timed work.

Every few seconds it hands to the queue what the database says is still owed: inbound messages not
yet processed (a lost job, Redis restarted), outbox rows waiting or due for a retry, rows whose
sender died mid-send, and sent messages whose state should be fetched from their provider. Running several
schedulers at once is safe: every job it enqueues is idempotent.

It owes each job once: jobs have deterministic ids (``send:42``), so a row whose job is still waiting is not
queued again, and a retry goes to the queue its first try went to (``gateway.runtime.send_priority``), so a
ticket reply never waits behind retries of status updates. Inbound messages owed wake one processing job for all
of them (:meth:`gateway.runtime.Runtime.process_soon`, forced: a flag a lost job left is no reason to wait). A
message whose processing job started
``jobs.max_attempts`` times without finishing, or a send claimed that often by workers that stopped, is dead
(``gateway.jobs.dead``): never handed out again until someone presses retry in the console.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import false, func, select, tuple_, update
from sqlalchemy.orm import Session

from gateway.complaints.devices import device_work
from gateway.complaints.questionnaire import questionnaire_work
from gateway.complaints.reminders import deadline_work
from gateway.jobs.claimant import ORPHAN_AGE, Orphans, gone
from gateway.jobs.media import sweep_media
from gateway.jobs.outbox import max_sends, queue_checks
from gateway.jobs.reconnect import DATABASE, MAX_DELAY, Outage, outage_for, ping_database, wait_until
from gateway.jobs.retrain import maybe_retrain
from gateway.jobs.spool import check_durability, drain
from gateway.runtime import Runtime, send_priority
from models import InboundMessage, Outbox, utcnow
from models.message import CLAIMED, DEAD, PENDING, RETRY

log = logging.getLogger(__name__)

GRACE = timedelta(seconds=30)  # leave fresh rows to the job that was enqueued for them
INBOUND_GRACE = timedelta(seconds=5)  # inbound messages: a second woken job costs little (it files what waits)
CLAIM_MARGIN = timedelta(seconds=30)  # past the job timeouts before a claim counts as its worker's death


def claim_timeout(runtime: Runtime) -> timedelta:
    """How long a claimed send may stay without an outcome: its job (a send, or the processing job that sends
    the ticket reply itself) is stopped at its timeout (jobs.timeouts), so a claim older than the longer of the
    two plus a margin died with its worker. The send is then asked about at the provider before any new try."""
    jobs = runtime.settings.jobs
    return timedelta(seconds=max(jobs.timeout("send_outbound"), jobs.timeout("process_inbound"))) + CLAIM_MARGIN
BATCH = 500


ORPHANS = Orphans()  # this process's sweeps: claims seen held by a gone process, and since when


def orphaned_claims(session: Session, now: datetime) -> list[tuple[int, str]]:
    """Claimed sends with no provider id, at least ``ORPHAN_AGE`` old, whose claiming process this machine can tell
    is gone (:func:`gateway.jobs.claimant.gone`) and has been seen gone for ``GONE_FOR`` by this process's sweeps:
    their ids, with the claimant."""
    rows = session.execute(
        select(Outbox.id, Outbox.claimed_by)
        .where(Outbox.status == CLAIMED, Outbox.provider_message_id.is_(None), Outbox.claimed_by.is_not(None),
               Outbox.status_updated_at < now - ORPHAN_AGE)
        .order_by(Outbox.id).limit(BATCH)
    ).all()
    return ORPHANS.settled(((row.id, row.claimed_by) for row in rows if gone(row.claimed_by)), now)


@dataclass
class SweepResult:
    """How many rows one sweep handed back to the queue."""

    inbound: int = 0
    outbox: int = 0
    reclaimed: int = 0
    dead: int = 0  # sends given up in this sweep: claimed jobs.max_attempts times by workers that stopped
    checks: int = 0  # sent messages whose state is fetched from the provider
    media: int = 0  # photo downloads (MMS, WhatsApp) never queued, due again, or whose worker died


def sweep_once(runtime: Runtime, grace: timedelta = GRACE) -> SweepResult:
    """Enqueue whatever is owed. Returns the counts, for logs and tests."""
    now = utcnow()
    result = SweepResult()
    with runtime.db.session() as session:
        # A send whose worker died: no provider id, claimed long ago. The provider may have taken it (the worker
        # stopped before recording its id, the callbacks were refused): unsure since the claim, so the provider is
        # asked before it is sent again; claimed jobs.max_attempts times, it is dead.
        # A claim whose process is gone (gateway.jobs.claimant) is as stale, once ORPHAN_AGE old and seen gone
        # for GONE_FOR: the same row held by the same claimant, so a claim another scheduler took back and a live
        # worker took again meanwhile is never one.
        orphans = orphaned_claims(session, now)
        orphaned = tuple_(Outbox.id, Outbox.claimed_by).in_(orphans) if orphans else false()
        stale = ((Outbox.status == CLAIMED) & Outbox.provider_message_id.is_(None)
                 & ((Outbox.status_updated_at < now - claim_timeout(runtime)) | orphaned))
        unsure = func.coalesce(Outbox.unsure_since, Outbox.status_updated_at)
        result.dead = session.execute(
            update(Outbox).where(stale, Outbox.attempts >= max_sends(runtime))
            .values(status=DEAD, unsure_since=unsure, status_updated_at=now,
                    last_error="send outcome unknown: the worker stopped mid-send on every attempt")
        ).rowcount
        result.reclaimed = session.execute(
            update(Outbox).where(stale)
            .values(status=RETRY, next_attempt_at=now, unsure_since=unsure,
                    last_error="send outcome unknown: worker stopped mid-send")
        ).rowcount
        session.commit()
        inbound_ids = list(session.scalars(
            select(InboundMessage.id)
            .where(InboundMessage.processed_at.is_(None), InboundMessage.dead_at.is_(None),
                   InboundMessage.received_at < now - min(grace, INBOUND_GRACE),
                   InboundMessage.next_attempt_at.is_(None) | (InboundMessage.next_attempt_at <= now))
            .order_by(InboundMessage.id).limit(BATCH)
        ))
        owed = list(session.execute(
            select(Outbox.id, Outbox.kind, Outbox.inbound_message_id).where(
                ((Outbox.status == PENDING) & (Outbox.created_at < now - grace))
                | ((Outbox.status == RETRY) & (Outbox.next_attempt_at <= now))
            ).order_by(Outbox.id).limit(BATCH)
        ))
        result.checks = queue_checks(runtime, session, now, BATCH)
    if inbound_ids:  # one job files them all; forced, as a flag may be left by a job that was lost
        runtime.process_soon(force=True)
    for row in owed:
        runtime.send_soon(row.id, priority=send_priority(row))
    result.inbound, result.outbox = len(inbound_ids), len(owed)
    result.media = sweep_media(runtime, grace)
    if result.inbound or result.outbox or result.reclaimed or result.dead or result.checks or result.media:
        log.info("sweep: %s inbound, %s outbox, %s reclaimed, %s dead, %s checks, %s media", result.inbound,
                 result.outbox, result.reclaimed, result.dead, result.checks, result.media)
    return result


def run_forever(runtime: Runtime, interval: float = 5.0, stop: threading.Event | None = None) -> None:
    """Import the spool and sweep every ``interval`` seconds until ``stop`` is set.

    An outage of the database or Redis is logged once and waited out with backoff (``gateway.jobs.reconnect``),
    never the end of the loop; any other failure is logged and tried again at the next interval.
    """
    stop = stop or threading.Event()
    warning = check_durability(runtime.spool)
    if warning:
        log.warning(warning)
    while not stop.is_set():
        started = time.monotonic()
        try:
            drain(runtime)  # what the webhooks spooled while the database was down (docs/spool.md)
            sweep_once(runtime)
            deadline_work(runtime)  # reminders and escalation (issue 4), at most once a minute
            device_work(runtime)  # an e-mail when the SMS phones go quiet while messages wait, once a minute
            maybe_retrain(runtime)  # the router's model, when enough new examples arrived (issue 12)
            questionnaire_work(runtime)  # "Sudah beres? Balas YA atau BELUM" after a resolution (issue 15)
        except Exception as error:  # noqa: BLE001 - keep the scheduler alive through outages and bugs alike
            outage = outage_for(error)
            if outage is None:
                log.exception("sweep failed; trying again in %ss", interval)
            else:
                _wait_out(runtime, outage, error, stop)
                continue
        stop.wait(max(0.0, interval - (time.monotonic() - started)))


def _wait_out(runtime: Runtime, outage: Outage, error: BaseException, stop: threading.Event) -> None:
    """Log the outage once, then probe the service with backoff until it answers (or ``stop`` is set)."""
    outage.failed(error, "the scheduler waits for it, retrying with backoff")
    connection = getattr(runtime.queue, "connection", None)
    if outage is DATABASE:
        wait_until(lambda: ping_database(runtime.db), outage, stop)
    elif connection is not None:
        wait_until(connection.ping, outage, stop)
    else:
        stop.wait(MAX_DELAY)
