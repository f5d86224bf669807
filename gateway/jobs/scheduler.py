"""The scheduler: the safety net that makes "nothing is lost" true, and the home of timed work.

Every few seconds it hands to the queue what the database says is still owed: inbound messages not
yet processed (a lost job, Redis restarted), outbox rows waiting or due for a retry, and rows whose
sender died mid-send. Running several schedulers at once is safe: every job it enqueues is idempotent.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from gateway.complaints.devices import device_work
from gateway.complaints.questionnaire import questionnaire_work
from gateway.complaints.reminders import deadline_work
from gateway.jobs.media import sweep_media
from gateway.jobs.outbox import send_outbound
from gateway.jobs.retrain import maybe_retrain
from gateway.runtime import Runtime
from models import InboundMessage, Outbox, utcnow
from models.message import CLAIMED, PENDING, RETRY

log = logging.getLogger(__name__)

GRACE = timedelta(seconds=30)  # leave fresh rows to the job that was enqueued for them
CLAIM_TIMEOUT = timedelta(minutes=5)  # a send that has not finished by then died with its worker
BATCH = 500


@dataclass
class SweepResult:
    """How many rows one sweep handed back to the queue."""

    inbound: int = 0
    outbox: int = 0
    reclaimed: int = 0
    media: int = 0  # photo downloads (MMS, WhatsApp) never queued, due again, or whose worker died


def sweep_once(runtime: Runtime, grace: timedelta = GRACE) -> SweepResult:
    """Enqueue whatever is owed. Returns the counts, for logs and tests."""
    now = utcnow()
    result = SweepResult()
    with runtime.db.session() as session:
        # A send whose worker died: no provider id, claimed long ago. Twilio's callback carries our
        # outbox id, so a message that did reach Twilio has its provider id by now and stays put.
        result.reclaimed = session.execute(
            update(Outbox)
            .where(Outbox.status == CLAIMED, Outbox.provider_message_id.is_(None),
                   Outbox.status_updated_at < now - CLAIM_TIMEOUT)
            .values(status=RETRY, next_attempt_at=now, last_error="send outcome unknown: worker stopped mid-send")
        ).rowcount
        session.commit()
        inbound_ids = list(session.scalars(
            select(InboundMessage.id)
            .where(InboundMessage.processed_at.is_(None), InboundMessage.received_at < now - grace)
            .order_by(InboundMessage.id).limit(BATCH)
        ))
        outbox_ids = list(session.scalars(
            select(Outbox.id).where(
                ((Outbox.status == PENDING) & (Outbox.created_at < now - grace))
                | ((Outbox.status == RETRY) & (Outbox.next_attempt_at <= now))
            ).order_by(Outbox.id).limit(BATCH)
        ))
    for message_id in inbound_ids:
        runtime.process_soon(message_id)
    for outbox_id in outbox_ids:
        runtime.queue.enqueue(send_outbound, outbox_id)
    result.inbound, result.outbox = len(inbound_ids), len(outbox_ids)
    result.media = sweep_media(runtime, grace)
    if result.inbound or result.outbox or result.reclaimed or result.media:
        log.info("sweep: %s inbound, %s outbox, %s reclaimed, %s media", result.inbound, result.outbox,
                 result.reclaimed, result.media)
    return result


def run_forever(runtime: Runtime, interval: float = 5.0, stop: threading.Event | None = None) -> None:
    """Sweep every ``interval`` seconds until ``stop`` is set; a failed sweep is logged and retried."""
    stop = stop or threading.Event()
    while not stop.is_set():
        started = time.monotonic()
        try:
            sweep_once(runtime)
            deadline_work(runtime)  # reminders and escalation (issue 4), at most once a minute
            device_work(runtime)  # an e-mail when the SMS phones go quiet while messages wait, once a minute
            maybe_retrain(runtime)  # the router's model, when enough new examples arrived (issue 12)
            questionnaire_work(runtime)  # "Sudah beres? Balas YA atau BELUM" after a resolution (issue 15)
        except Exception:  # noqa: BLE001 - keep the scheduler alive through a database blip
            log.exception("sweep failed; trying again in %ss", interval)
        stop.wait(max(0.0, interval - (time.monotonic() - started)))
