"""The outbox: every outbound message is a row before it is sent, claimed by one worker, sent once.

A row moves pending -> claimed -> (provider status: queued, sent, delivered ...) or retry/failed. Claims
and status changes are conditional UPDATEs, so two workers or a late callback never undo each other.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels.base import OutboundMessage, RecipientOptedOut, SendError, StatusReport
from gateway.complaints.status import stop_updates
from gateway.jobs.throttle import pace
from gateway.runtime import Runtime, current_runtime
from models import STATUS_RANK, Contact, Outbox, utcnow
from models.message import CLAIMED, ERROR_CODE_LENGTH, PENDING, RETRY

log = logging.getLogger(__name__)


def send_outbound(outbox_id: int) -> None:
    """rq job: send one outbox row if it still waits to be sent."""
    deliver(current_runtime(), outbox_id)


def deliver(runtime: Runtime, outbox_id: int) -> str | None:
    """Claim, send and record one outbox row. Returns its new status, or None if it was not ours to send."""
    with runtime.db.session() as session:
        now = utcnow()
        claimed = session.execute(
            update(Outbox)
            .where(Outbox.id == outbox_id, Outbox.status.in_((PENDING, RETRY)))
            .where((Outbox.next_attempt_at.is_(None)) | (Outbox.next_attempt_at <= now))
            .values(status=CLAIMED, attempts=Outbox.attempts + 1, status_updated_at=now)
        ).rowcount
        session.commit()
        if not claimed:
            return None
        row = session.get(Outbox, outbox_id)
        # Pace per provider (gateway.jobs.throttle): replies may wait for a reserved slot, updates step back.
        defer = pace(runtime.throttle, row.channel, row.id, urgent=row.kind != "status_update")
        if defer:
            row.status, row.attempts, row.next_attempt_at = RETRY, row.attempts - 1, now + timedelta(seconds=defer)
            row.last_error = f"throttled: {row.channel} is at its send rate; next try in {defer:.0f} s"
            session.commit()
            return RETRY
        sender = runtime.senders.get(row.channel)
        message = OutboundMessage(
            outbox_id=row.id, medium=row.medium, recipient=row.recipient, body=row.body, sender=row.sender,
            status_callback=runtime.status_callback_url(row.id, row.channel), kind=row.kind, subject=row.subject,
            in_reply_to=row.in_reply_to, references=row.thread_references,
        )
        try:
            if sender is None:
                raise SendError(f"no sender named {row.channel!r} is configured")
            result = sender.send(message)
        except SendError as exc:
            return _record_failure(session, runtime, row, exc)
        # A status callback may already have moved the row on; only a row still claimed takes ours.
        session.execute(
            update(Outbox).where(Outbox.id == row.id).values(
                provider_message_id=result.provider_message_id, sent_at=utcnow(), last_error=None,
                status=case((Outbox.status == CLAIMED, result.status), else_=Outbox.status),
            )
        )
        session.commit()
        log.info("outbox %s sent by %s as %s", row.id, row.channel, result.provider_message_id)
        return result.status


def _record_failure(session: Session, runtime: Runtime, row: Outbox, exc: SendError) -> str:
    settings = runtime.settings
    row.last_error = str(exc)[:2000]
    row.error_code = str(exc.code)[:ERROR_CODE_LENGTH] if exc.code else None
    row.status_updated_at = utcnow()
    if isinstance(exc, RecipientOptedOut) and row.contact_id:
        contact = session.get(Contact, row.contact_id)
        if contact:
            stop_updates(contact)
    if exc.retryable and row.attempts < settings.outbox.max_attempts:
        backoff = settings.outbox.retry_backoff
        delay = backoff[min(row.attempts - 1, len(backoff) - 1)]
        row.status, row.next_attempt_at = RETRY, utcnow() + timedelta(seconds=delay)
        log.warning("outbox %s: %s; retry %s in %ss", row.id, exc, row.attempts, delay)
    else:
        row.status = "failed"
        log.error("outbox %s failed for good after %s attempt(s): %s", row.id, row.attempts, exc)
    session.commit()
    return row.status


def apply_status(session: Session, report: StatusReport) -> str:
    """Record a provider's delivery report; an older status never replaces a newer or final one.

    Returns:
        A short reason for the provider's log: "updated", "ignored: older status", "ignored: unknown message".
    """
    row = session.scalar(select(Outbox).where(Outbox.provider_message_id == report.provider_message_id))
    if row is None and report.outbox_id is not None:
        row = session.get(Outbox, report.outbox_id)
        if row is not None and row.provider_message_id not in (None, report.provider_message_id):
            row = None
    if row is None:
        return "ignored: unknown message"
    new_rank = STATUS_RANK.get(report.status, 0)
    older = [status for status, rank in STATUS_RANK.items() if rank < new_rank]
    changed = session.execute(
        update(Outbox)
        .where(Outbox.id == row.id, Outbox.status.in_(older))
        .values(status=report.status, provider_message_id=report.provider_message_id,
                error_code=report.error_code[:ERROR_CODE_LENGTH] if report.error_code else Outbox.error_code,
                status_updated_at=utcnow())
    ).rowcount
    if report.error_code == "21610" and row.contact_id:
        contact = session.get(Contact, row.contact_id)
        if contact:
            stop_updates(contact)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return "ignored: provider id belongs to another message"
    return "updated" if changed else f"ignored: {row.status} is not older than {report.status}"
