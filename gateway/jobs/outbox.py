"""The outbox: every outbound message is a row before it is sent, claimed by one worker, sent once.

A row moves pending -> claimed -> (provider status: queued, sent, delivered ...) or retry/failed. Claims
and status changes are conditional UPDATEs, so two workers or a late callback never undo each other.

A WhatsApp row picks its path at each send (:mod:`gateway.jobs.whatsapp`): free text inside the 24-hour window,
an approved template past it, else SMS; ``outbox.path`` records which.

At most one send per reply: a send whose outcome is unknown (the worker stopped after the provider took it, the
answer timed out, a 5xx) leaves ``unsure_since``; before such a row is sent again its provider is asked whether
it has the message (:meth:`channels.base.Lookup.find`: Twilio's List Messages, the Android gateway's
``GET /messages/{id}``), and it is sent again only when the provider has no record. A provider that cannot answer
is a failed attempt, not a reason to send. A send stopped by an error it could not record (Redis away while
pacing, the database lost as the outcome was written) is put back at once as unsure (:func:`hand_back`); a worker
that died mid-send leaves its claim to the scheduler's sweep. A row whose sends fail ``jobs.max_attempts`` times (or
``outbox.max_attempts``, the lower) is dead (:mod:`gateway.jobs.dead`). A message that stays non-final
(queued, sent ...) for ``outbox.reconcile_after`` has its state fetched (:func:`check_outbound`), at growing
intervals, for a day.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import bindparam, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels.base import (
    OutboundMessage,
    ProviderUnavailable,
    RecipientOptedOut,
    Sender,
    SendError,
    SendResult,
    StatusReport,
    Throttled,
    WindowClosed,
)
from gateway.complaints.status import stop_updates
from gateway.jobs import whatsapp
from gateway.jobs.claimant import claimant
from gateway.jobs.reconnect import database_unavailable, job_timed_out, write_through_restart
from gateway.jobs.throttle import pace
from gateway.observability import count_send_error, count_sent, observe_reply
from gateway.runtime import DEFAULT, HIGH, Runtime, current_runtime, job_id, send_priority
from models import STATUS_RANK, Contact, Outbox, utcnow
from models import InboundMessage as InboundRow
from models.message import CLAIMED, DEAD, ERROR_CODE_LENGTH, IN_FLIGHT, PENDING, RETRY, TEMPLATE

log = logging.getLogger(__name__)

TICKET_REPLIES = ("ticket_created", "ticket_created_review")  # the replies timed from the webhook
CHECK_HORIZON = timedelta(days=1)  # a message still non-final a day after it was sent is no longer asked about
HAND_BACK_DELAYS = (1.0, 2.0, 4.0)  # seconds between tries at putting a claim back while the database is away


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
        claimed = _claim(session, now, Outbox.id == outbox_id)
        if not claimed:
            return None
        row, received_at = claimed[0]
        attempts = row.attempts
        try:
            outcome = _send_claimed(session, runtime, row, received_at, now, _hops)
        except Exception as exc:
            with contextlib.suppress(Exception):  # a lost connection: nothing to roll back
                session.rollback()
            hand_back(runtime, outbox_id, attempts, exc)
            raise
        if outcome is not None:
            return outcome
    return deliver(runtime, outbox_id, _hops - 1)


def deliver_many(runtime: Runtime, outbox_ids: list[int]) -> None:
    """:func:`deliver` for the replies of one batch of messages: claimed in one UPDATE, sent one by one, and the
    sends that went through recorded in one statement (a failure, a WhatsApp path or an unsure row is recorded on
    its own at once, as :func:`deliver` does). A send stopped by an error it could not record hands its claim back
    and goes to the queue; the others go on. The database lost on the way, or rq's timeout (a slow provider): every
    claim not recorded is handed back at once (as unsure: its provider is asked before the next try), and the error
    raised."""
    with runtime.db.session() as session:
        now = utcnow()
        sent: list[Sent] = []
        again: list[int] = []
        claims = _claim(session, now, Outbox.id.in_(outbox_ids))
        held = [(row.id, row.attempts) for row, _ in claims]  # as claimed: what hand_back_many may put back
        try:
            for row, received_at in claims:
                row_id, attempts = row.id, row.attempts
                try:
                    if _send_claimed(session, runtime, row, received_at, now, 2, sent) is None:
                        again.append(row_id)  # WhatsApp's window closed: the next path, at once
                except Exception as exc:
                    if database_unavailable(exc) or job_timed_out(exc):
                        raise
                    with contextlib.suppress(Exception):
                        session.rollback()
                    hand_back(runtime, row_id, attempts, exc)
                    log.exception("outbox %s: the send stopped; queueing it", row_id)
                    runtime.send_soon(row_id, priority=HIGH)
            _record_sent_many(session, runtime, sent)
        except Exception as exc:
            with contextlib.suppress(Exception):  # a lost connection: nothing to roll back
                session.rollback()
            hand_back_many(runtime, held, exc)
            raise
    for row_id in again:
        deliver(runtime, row_id, 1)


def _claim(session: Session, now: datetime, which: Any) -> list[Any]:
    """Claim the rows ``which`` selects that wait to be sent and read them, with when their message came in (the
    webhook-to-reply histogram), in one UPDATE ... RETURNING; committed before anything is sent. The claim names
    this process (:func:`gateway.jobs.claimant.claimant`), so the sweep can take it back soon if it dies."""
    received = (select(InboundRow.received_at).where(InboundRow.id == Outbox.inbound_message_id)
                .correlate(Outbox).scalar_subquery())
    claimed = session.execute(
        update(Outbox)
        .where(which, Outbox.status.in_((PENDING, RETRY)))
        .where((Outbox.next_attempt_at.is_(None)) | (Outbox.next_attempt_at <= now))
        .values(status=CLAIMED, attempts=Outbox.attempts + 1, status_updated_at=now, claimed_by=claimant())
        .returning(Outbox, received)
    ).all()
    session.commit()
    return sorted(claimed, key=lambda each: each[0].id)


def _send_claimed(session: Session, runtime: Runtime, row: Outbox, received_at: datetime | None, now: datetime,
                  hops: int, sent: list[Sent] | None = None) -> str | None:
    """Send a row this worker claimed (at ``now``) and record the outcome: its new status, or None when the provider
    refused it because the WhatsApp window is closed and it takes the next path (sent again at once by
    :func:`deliver`). With ``sent``, a send that went through is added there, for :func:`_record_sent_many`."""
    # WhatsApp: free text inside the 24-hour window, else a template, else re-addressed to SMS.
    problem = whatsapp.choose_path(session, runtime, row)
    if problem:
        return _fail(session, row, problem)
    sender = runtime.senders.get(row.channel)
    template = whatsapp.row_template(session, runtime, row) if row.path == TEMPLATE else None
    message = OutboundMessage(
        outbox_id=row.id, medium=row.medium, recipient=row.recipient, body=row.body, sender=row.sender,
        status_callback=runtime.status_callback_url(row.id, row.channel), kind=row.kind, subject=row.subject,
        in_reply_to=row.in_reply_to, references=row.thread_references,
        template=template.sid if template else None,
        template_variables=template.fill(row.template_values or {}) if template else None,
    )
    if row.unsure_since is not None and sender is not None:  # asking is no send: before the pacing
        outcome = _reconcile(session, runtime, row, sender, message)
        if outcome is not None:
            return outcome
    # Pace per provider (gateway.jobs.throttle): replies may wait for a reserved slot, updates step back.
    defer = pace(runtime.throttle, row.channel, row.id, urgent=row.kind != "status_update")
    if defer:
        row.status, row.attempts, row.next_attempt_at = RETRY, row.attempts - 1, now + timedelta(seconds=defer)
        row.last_error = f"throttled: {row.channel} is at its send rate; next try in {defer:.0f} s"
        session.commit()
        return RETRY
    try:
        if sender is None:
            raise SendError(f"no sender named {row.channel!r} is configured")
        result = sender.send(message)
    except WindowClosed as exc:
        if not hops or row.medium != "whatsapp":
            return _record_failure(session, runtime, row, exc)
        problem = whatsapp.after_refusal(session, runtime, row)
        if problem:
            return _record_failure(session, runtime, row, exc, note=problem)
        log.warning("outbox %s: %s; sending it again as %s", row.id, exc, row.path)
        row.attempts -= 1  # the refusal created no message: the next path starts afresh
        session.commit()
        return None
    except ProviderUnavailable as exc:
        # A timeout or a 5xx may come after the provider took the message: ask before sending it again.
        row.unsure_since = row.unsure_since or now
        return _record_failure(session, runtime, row, exc)
    except SendError as exc:
        return _record_failure(session, runtime, row, exc)
    if sent is None:
        return _record_sent(session, runtime, row, result, received_at)
    sent.append(Sent(row.id, row.channel, row.kind, row.path, result, received_at))
    return result.status


def hand_back(runtime: Runtime, outbox_id: int, attempts: int, error: BaseException) -> None:
    """Put back a row whose send stopped on an error it could not record (Redis away while pacing, the database
    lost as the outcome was written): due again at once, unsure since its claim, so the next try asks the provider
    before it sends. Without this the row stayed claimed until the sweep's claim timeout (90 s). Only this
    worker's claim (``attempts`` as it claimed it) is put back. A database that is away is tried again after each
    of :data:`HAND_BACK_DELAYS` (a restart takes seconds); one away longer leaves it to the sweep."""
    hand_back_many(runtime, [(outbox_id, attempts)], error)


def hand_back_many(runtime: Runtime, claims: list[tuple[int, int]], error: BaseException) -> None:
    """:func:`hand_back` for several claims (row id, attempts as claimed) in one statement."""
    if not claims:
        return
    now = utcnow()
    mine = or_(*[(Outbox.id == row_id) & (Outbox.attempts == attempts) for row_id, attempts in claims])

    def write() -> None:
        with runtime.db.session() as session:
            session.execute(
                update(Outbox)
                .where(mine, Outbox.status == CLAIMED, Outbox.provider_message_id.is_(None))
                .values(status=RETRY, next_attempt_at=now, status_updated_at=now,
                        unsure_since=func.coalesce(Outbox.unsure_since, Outbox.status_updated_at),
                        last_error=f"send stopped: {type(error).__name__}: {error}"[:2000])
            )
            session.commit()

    failure = write_through_restart(write, HAND_BACK_DELAYS)
    if failure is not None:  # the sweep takes the claims back after the claim timeout
        log.warning("outbox %s: could not put the rows back (%s); the scheduler takes them back after the claim "
                    "timeout", [row_id for row_id, _ in claims], failure)


def _reconcile(session: Session, runtime: Runtime, row: Outbox, sender: Sender, message: OutboundMessage) -> str | None:
    """Ask the provider whether an earlier send of this row got through. Returns the row's new status when the
    provider has it (recorded, not sent again) or cannot say (a failed attempt, tried later); None when it has
    no record, so the caller sends. A sender that cannot be asked (e-mail, the console) sends again."""
    find = getattr(sender, "find", None)
    if find is None:
        log.warning("outbox %s: %s cannot say whether it has the message; sending it again", row.id, row.channel)
        return None

    def known(provider_id: str) -> bool:
        return session.scalar(select(Outbox.id).where(Outbox.provider_message_id == provider_id,
                                                      Outbox.id != row.id)) is not None

    try:
        found = find(message, row.unsure_since, known)
    except SendError as exc:
        return _record_failure(session, runtime, row, exc, note="not sent again until the provider can say "
                                                                "whether it has it")
    if found is None:
        log.info("outbox %s: %s has no record of it since %s; sending it", row.id, row.channel,
                 row.unsure_since.isoformat())
        row.unsure_since = None
        return None
    log.warning("outbox %s: %s already has it as %s (status %s); not sent again", row.id, row.channel,
                found.provider_message_id, found.status)
    return _record_sent(session, runtime, row, found)


class Sent(NamedTuple):
    """A send that went through, to be recorded (:func:`_record_sent_many`)."""

    id: int
    channel: str
    kind: str
    path: str | None
    result: SendResult
    received_at: datetime | None


def _record_sent(session: Session, runtime: Runtime, row: Outbox, result: SendResult,
                 received_at: datetime | None = None) -> str:
    _record_sent_many(session, runtime, [Sent(row.id, row.channel, row.kind, row.path, result, received_at)])
    return result.status


def _record_sent_many(session: Session, runtime: Runtime, sent: list[Sent]) -> None:
    """Record sends that went through, in one statement (executemany) and one commit. A status callback may already
    have moved a row on; only a row still claimed takes ours. ``next_attempt_at`` is when its provider is asked for
    its state if no final report came by then (:func:`check_outbound`)."""
    if not sent:
        return
    now = utcnow()
    table = Outbox.__table__
    session.connection().execute(
        update(table).where(table.c.id == bindparam("sent_id")).values(
            provider_message_id=bindparam("sent_provider_id"), sent_at=now, last_error=None, unsure_since=None,
            next_attempt_at=now + timedelta(seconds=runtime.settings.outbox.reconcile_after),
            status=case((table.c.status == CLAIMED, bindparam("sent_status")), else_=table.c.status),
        ),
        [{"sent_id": each.id, "sent_provider_id": each.result.provider_message_id,
          "sent_status": each.result.status} for each in sent],
    )
    session.commit()
    for each in sent:
        log.info("outbox %s sent by %s as %s%s", each.id, each.channel, each.result.provider_message_id,
                 f" ({each.path})" if each.path else "")
        count_sent(each.channel, each.kind)
        if each.received_at is not None and each.kind in TICKET_REPLIES:
            observe_reply(each.channel, (now - each.received_at).total_seconds())


def _fail(session: Session, row: Outbox, reason: str) -> str:
    """Fail a row for good without sending it (nothing can reach the citizen this way)."""
    row.status, row.last_error, row.status_updated_at = "failed", reason[:2000], utcnow()
    session.commit()
    log.error("outbox %s: %s", row.id, reason)
    return row.status


def max_sends(runtime: Runtime) -> int:
    """Attempts at one row before it is dead: ``jobs.max_attempts``, or ``outbox.max_attempts`` if lower."""
    return min(runtime.settings.jobs.max_attempts, runtime.settings.outbox.max_attempts)


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
    if isinstance(exc, Throttled) and row.throttled < settings.outbox.max_throttled:
        # "Too many requests": the provider took nothing. Not a failed attempt (up to outbox.max_throttled of
        # them), but the wait before the next try grows with each, as for a failure.
        row.attempts, row.throttled = row.attempts - 1, row.throttled + 1
    if exc.retryable and row.attempts < max_sends(runtime):
        backoff = settings.outbox.retry_backoff
        delay = backoff[min(row.attempts + row.throttled - 1, len(backoff) - 1)]
        row.status, row.next_attempt_at = RETRY, utcnow() + timedelta(seconds=delay)
        log.warning("outbox %s: %s; retry %s in %ss", row.id, exc, row.attempts, delay)
    elif exc.retryable:
        row.status = DEAD  # the console lists it with its error and a retry button
        log.error("outbox %s is dead after %s attempt(s): %s", row.id, row.attempts, exc)
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
        with runtime.db.session() as session:
            priority = send_priority(session.get(Outbox, follow_id))
        runtime.send_soon(follow_id, priority=priority)
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


def check_outbound(outbox_id: int) -> None:
    """rq job: ask the provider for the state of a message that stayed non-final (:func:`check`)."""
    check(current_runtime(), outbox_id)


def check(runtime: Runtime, outbox_id: int) -> str:
    """Fetch the provider's state of one sent message still non-final at its ``next_attempt_at`` and record it like
    a delivery report. The next check, if it stays non-final, waits as long again as the message has been out
    (10 min, 20, 40 ...), until a day after it was sent. Returns what changed, for logs and tests."""
    with runtime.db.session() as session:
        row = session.get(Outbox, outbox_id)
        if row is None or row.status not in IN_FLIGHT or not row.provider_message_id:
            return "nothing to check"
        now = utcnow()
        if row.next_attempt_at is not None and row.next_attempt_at > now:
            return "not due"
        sent_at = row.sent_at or row.created_at
        out_for = max(now - sent_at, timedelta(seconds=runtime.settings.outbox.reconcile_after))
        row.next_attempt_at = now + out_for if now + out_for < sent_at + CHECK_HORIZON else None
        session.commit()
        fetch = getattr(runtime.senders.get(row.channel), "fetch_status", None)
        if fetch is None:
            return f"{row.channel} cannot be asked"
        provider_id, channel = row.provider_message_id, row.channel
    try:
        report = fetch(provider_id)
    except SendError as exc:
        log.warning("outbox %s: could not ask %s for its state: %s", outbox_id, channel, exc)
        return f"not asked: {exc}"
    if report is None:
        return "unknown to the provider"
    outcome = apply_report(runtime, report)
    log.info("outbox %s: %s says %s: %s", outbox_id, channel, report.status, outcome)
    return outcome


def queue_checks(runtime: Runtime, session: Session, now: Any, limit: int) -> int:
    """Queue :func:`check_outbound` for sent messages still non-final at their ``next_attempt_at``."""
    due = list(session.scalars(
        select(Outbox.id).where(Outbox.status.in_(IN_FLIGHT), Outbox.provider_message_id.is_not(None),
                                Outbox.next_attempt_at <= now, Outbox.sent_at > now - CHECK_HORIZON)
        .order_by(Outbox.next_attempt_at).limit(limit)
    ))
    for outbox_id in due:
        runtime.queue.enqueue(check_outbound, outbox_id, priority=DEFAULT, job_id=job_id("check", outbox_id))
    return len(due)
