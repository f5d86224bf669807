"""The outbox: every outbound message is a row before it is sent, claimed by one worker, sent once.

A row moves pending -> claimed -> (provider status: queued, sent, delivered ...) or retry/failed. Claims
and status changes are conditional UPDATEs, so two workers or a late callback never undo each other.

A WhatsApp row picks its path at each send (:mod:`gateway.jobs.whatsapp`): free text inside the 24-hour window,
an approved template past it, else SMS; ``outbox.path`` records which.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels.base import OutboundMessage, RecipientOptedOut, SendError, SendResult, StatusReport, WindowClosed
from gateway.complaints.status import stop_updates
from gateway.jobs import whatsapp
from gateway.jobs.throttle import pace
from gateway.observability import count_send_error, count_sent, observe_reply
from gateway.runtime import DEFAULT, Runtime, current_runtime
from models import STATUS_RANK, Contact, Outbox, utcnow
from models import InboundMessage as InboundRow
from models.message import CLAIMED, ERROR_CODE_LENGTH, PENDING, RETRY, TEMPLATE

log = logging.getLogger(__name__)

TICKET_REPLIES = ("ticket_created", "ticket_created_review")  # the replies timed from the webhook


def send_outbound(outbox_id: int) -> None:
    """rq job: send one outbox row if it still waits to be sent."""
    deliver(current_runtime(), outbox_id)


def deliver(runtime: Runtime, outbox_id: int, _hops: int = 2) -> str | None:
    """Claim, send and record one outbox row. Returns its new status, or None if it was not ours to send.

    A WhatsApp row the provider refuses because the window is closed takes the next path (template, SMS) and is
    sent again at once.
    """
    with runtime.db.session() as session:
        now = utcnow()
        # Claim the row and read it, with when its message came in (the webhook-to-reply histogram), in one
        # UPDATE ... RETURNING; committed before anything is sent.
        received = (select(InboundRow.received_at).where(InboundRow.id == Outbox.inbound_message_id)
                    .correlate(Outbox).scalar_subquery())
        claimed = session.execute(
            update(Outbox)
            .where(Outbox.id == outbox_id, Outbox.status.in_((PENDING, RETRY)))
            .where((Outbox.next_attempt_at.is_(None)) | (Outbox.next_attempt_at <= now))
            .values(status=CLAIMED, attempts=Outbox.attempts + 1, status_updated_at=now)
            .returning(Outbox, received)
        ).one_or_none()
        session.commit()
        if claimed is None:
            return None
        row, received_at = claimed
        # WhatsApp: free text inside the 24-hour window, else a template, else re-addressed to SMS.
        problem = whatsapp.choose_path(session, runtime, row)
        if problem:
            return _fail(session, row, problem)
        # Pace per provider (gateway.jobs.throttle): replies may wait for a reserved slot, updates step back.
        defer = pace(runtime.throttle, row.channel, row.id, urgent=row.kind != "status_update")
        if defer:
            row.status, row.attempts, row.next_attempt_at = RETRY, row.attempts - 1, now + timedelta(seconds=defer)
            row.last_error = f"throttled: {row.channel} is at its send rate; next try in {defer:.0f} s"
            session.commit()
            return RETRY
        sender = runtime.senders.get(row.channel)
        template = whatsapp.row_template(session, runtime, row) if row.path == TEMPLATE else None
        message = OutboundMessage(
            outbox_id=row.id, medium=row.medium, recipient=row.recipient, body=row.body, sender=row.sender,
            status_callback=runtime.status_callback_url(row.id, row.channel), kind=row.kind, subject=row.subject,
            in_reply_to=row.in_reply_to, references=row.thread_references,
            template=template.sid if template else None,
            template_variables=template.fill(row.template_values or {}) if template else None,
        )
        try:
            if sender is None:
                raise SendError(f"no sender named {row.channel!r} is configured")
            result = sender.send(message)
        except WindowClosed as exc:
            if not _hops or row.medium != "whatsapp":
                return _record_failure(session, runtime, row, exc)
            problem = whatsapp.after_refusal(session, runtime, row)
            if problem:
                return _record_failure(session, runtime, row, exc, note=problem)
            log.warning("outbox %s: %s; sending it again as %s", row.id, exc, row.path)
            row.attempts -= 1  # the refusal created no message: the next path starts afresh
            session.commit()
        except SendError as exc:
            return _record_failure(session, runtime, row, exc)
        else:
            return _record_sent(session, row, result, received_at)
    return deliver(runtime, outbox_id, _hops - 1)


def _record_sent(session: Session, row: Outbox, result: SendResult, received_at: datetime | None = None) -> str:
    # A status callback may already have moved the row on; only a row still claimed takes ours.
    session.execute(
        update(Outbox).where(Outbox.id == row.id).values(
            provider_message_id=result.provider_message_id, sent_at=utcnow(), last_error=None,
            status=case((Outbox.status == CLAIMED, result.status), else_=Outbox.status),
        )
    )
    session.commit()
    log.info("outbox %s sent by %s as %s%s", row.id, row.channel, result.provider_message_id,
             f" ({row.path})" if row.path else "")
    count_sent(row.channel, row.kind)
    if received_at is not None and row.kind in TICKET_REPLIES:
        observe_reply(row.channel, (utcnow() - received_at).total_seconds())
    return result.status


def _fail(session: Session, row: Outbox, reason: str) -> str:
    """Fail a row for good without sending it (nothing can reach the citizen this way)."""
    row.status, row.last_error, row.status_updated_at = "failed", reason[:2000], utcnow()
    session.commit()
    log.error("outbox %s: %s", row.id, reason)
    return row.status


def _record_failure(session: Session, runtime: Runtime, row: Outbox, exc: SendError, note: str | None = None) -> str:
    settings = runtime.settings
    row.last_error = (f"{exc}; {note}" if note else str(exc))[:2000]
    row.error_code = str(exc.code)[:ERROR_CODE_LENGTH] if exc.code else None
    row.status_updated_at = utcnow()
    count_send_error(row.channel, str(exc.code) if exc.code else type(exc).__name__)
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


def apply_report(runtime: Runtime, report: StatusReport) -> str:
    """Record a delivery report (:func:`apply_status`); a WhatsApp message that failed because the window is
    closed is written again on the next path (template, else SMS) and that row is queued."""
    follow_id = None
    with runtime.db.session() as session:
        outcome = apply_status(session, report)
        if report.window_closed:
            row = session.scalar(select(Outbox).where(Outbox.provider_message_id == report.provider_message_id))
            follow = whatsapp.reroute(session, runtime, row) if row is not None else None
            if follow is not None:
                try:
                    session.commit()
                    follow_id = follow.id
                except IntegrityError:  # the same callback, twice at once
                    session.rollback()
    if follow_id is not None:
        log.info("outbox %s: WhatsApp window closed (%s); the message goes again as outbox %s",
                 report.outbox_id, report.error_code, follow_id)
        try:
            runtime.queue.enqueue(send_outbound, follow_id, priority=DEFAULT)
        except Exception:  # noqa: BLE001 - committed; the scheduler's sweep sends pending rows
            log.exception("could not enqueue outbox %s; the scheduler will send it", follow_id)
        outcome += f"; sent again as outbox {follow_id}"
    return outcome


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
