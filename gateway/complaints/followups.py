"""A citizen's reply about a ticket they have: thanks, a YA, a "belum beres" (issue 15).

:mod:`gateway.complaints.messages` asks :func:`handle_reply` before filing a text with a hint
(:mod:`gateway.complaints.commands`) as a new complaint:

- a questionnaire's answer: YA confirms the ticket, BELUM (or "belum beres", "masih", "tidak benar") reopens it;
- a reply saying a resolved ticket is not fixed (within ``questionnaire.answer_days`` of the resolution)
  reopens it;
- thanks, "ok", "siap", "👍", "?" from a number whose ticket is open or changed within ``short_replies.days``
  are attached to that ticket as a note, with a short polite reply at most once a day.

Everything runs in the caller's transaction, and the ticket's changes go through
:func:`gateway.complaints.deadlines.reopen` (status event, new clock, the citizen told).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.complaints import commands
from gateway.complaints.cleaning import strip_controls
from gateway.complaints.deadlines import reopen
from gateway.complaints.public import CLOSED_STATUSES, MACHINE_ACTORS
from gateway.complaints.questionnaire import NO, YES, pending_question, record_answer
from gateway.runtime import Runtime
from models import Complaint, Contact, InboundMessage, Outbox, StatusEvent, utcnow
from models.complaint import MERGED, REJECTED, RESOLVED
from models.tickets import format_ticket_code

Reply = Callable[..., None]  # messages._Reply: (template, complaint=None, **values)
SHORT_REPLY_EVERY = timedelta(days=1)


def handle_reply(session: Session, runtime: Runtime, reply: Reply, message: InboundMessage, contact: Contact,
                 command: commands.Command) -> bool:
    """Answer a short reply about the citizen's ticket; False when it is a new complaint after all."""
    hint, text = command.hint, command.text or message.body or ""
    if hint in (commands.YES, commands.DISPUTE):
        question = pending_question(session, runtime, contact)
        if question is not None:
            complaint = session.get(Complaint, question.complaint_id)
            if hint == commands.YES:
                confirm(session, runtime, reply, message, complaint)
            else:
                dispute(session, runtime, message, complaint, text)
            return True
    if hint == commands.DISPUTE:
        resolved = _recently_resolved(session, runtime, contact)
        if resolved is not None:
            dispute(session, runtime, message, resolved, text)
            return True
        if len(text.split()) > 3:  # "masih ada sampah di ..." with no resolved ticket: a complaint
            return False
    recent = _recent_ticket(session, runtime, contact)
    if recent is None:
        return False
    note(session, message, recent, text)
    since = utcnow() - SHORT_REPLY_EVERY
    if session.scalar(select(Outbox.id).where(Outbox.contact_id == contact.id, Outbox.kind == "short_reply",
                                              Outbox.created_at >= since).limit(1)) is None:
        reply("short_reply", complaint=recent, code=format_ticket_code(recent.ticket_code), digits=recent.ticket_code)
    return True


def confirm(session: Session, runtime: Runtime, reply: Reply, message: InboundMessage, complaint: Complaint) -> None:
    """YA: the citizen confirms the resolution (counted per agency), and is thanked."""
    record_answer(session, complaint, YES)
    session.add(StatusEvent(
        complaint_id=complaint.id, kind="citizen_confirm", from_status=complaint.status, to_status=complaint.status,
        agency_code=complaint.agency_code, actor="citizen", note=strip_controls(message.body) or "YA",
        inbound_message_id=message.id,
    ))
    message.complaint_id = complaint.id
    reply("confirmed", complaint=complaint, code=format_ticket_code(complaint.ticket_code),
          digits=complaint.ticket_code)


def dispute(session: Session, runtime: Runtime, message: InboundMessage, complaint: Complaint, text: str) -> None:
    """Not fixed: the citizen's words go on the ticket, which is reopened with its agency, and they are told."""
    note(session, message, complaint, text)
    if complaint.status != RESOLVED:
        return
    record_answer(session, complaint, NO)
    _, update = reopen(session, runtime, complaint)
    if update is not None:  # sent with the message's reply, not left to the scheduler
        update.inbound_message_id = message.id


def note(session: Session, message: InboundMessage, complaint: Complaint, text: str) -> None:
    """The citizen's words, kept on their ticket as a note (not a public answer)."""
    session.add(StatusEvent(
        complaint_id=complaint.id, kind="citizen_info", from_status=complaint.status, to_status=complaint.status,
        agency_code=complaint.agency_code, actor="citizen", note=strip_controls(text) or "(lampiran)",
        inbound_message_id=message.id,
    ))
    message.complaint_id = complaint.id
    complaint.updated_at = utcnow()


def _resolution_time(session: Session, complaint: Complaint):  # noqa: ANN202 - a datetime or None
    return session.scalar(select(StatusEvent.created_at).where(
        StatusEvent.complaint_id == complaint.id, StatusEvent.kind == "status", StatusEvent.to_status == RESOLVED,
    ).order_by(StatusEvent.id.desc()).limit(1))


def _recently_resolved(session: Session, runtime: Runtime, contact: Contact) -> Complaint | None:
    """The contact's newest resolved complaint, resolved within ``questionnaire.answer_days``; or None."""
    since = utcnow() - timedelta(days=runtime.settings.questionnaire.answer_days)
    for complaint in session.scalars(select(Complaint).where(Complaint.contact_id == contact.id,
                                                             Complaint.status == RESOLVED)
                                     .order_by(Complaint.updated_at.desc(), Complaint.id.desc()).limit(3)):
        resolved_at = _resolution_time(session, complaint)
        if resolved_at is not None and resolved_at >= since:
            return complaint
    return None


def is_recently_resolved(session: Session, runtime: Runtime, complaint: Complaint) -> bool:
    """True when the complaint is resolved, within ``questionnaire.answer_days``."""
    if complaint.status != RESOLVED:
        return False
    resolved_at = _resolution_time(session, complaint)
    since = utcnow() - timedelta(days=runtime.settings.questionnaire.answer_days)
    return resolved_at is not None and resolved_at >= since


def _recent_ticket(session: Session, runtime: Runtime, contact: Contact) -> Complaint | None:
    """The contact's newest ticket that is still open or changed within ``short_replies.days``; or None."""
    since = utcnow() - timedelta(days=runtime.settings.short_replies.days)
    return session.scalar(select(Complaint).where(
        Complaint.contact_id == contact.id, Complaint.status.not_in((REJECTED, MERGED)),
        (Complaint.status.not_in(CLOSED_STATUSES)) | (Complaint.updated_at >= since),
    ).order_by(Complaint.updated_at.desc(), Complaint.id.desc()).limit(1))


def latest_answer(session: Session, complaint: Complaint) -> StatusEvent | None:
    """The newest public answer on a ticket (an agency's note, a rejection's reason), or None."""
    return session.scalar(select(StatusEvent).where(
        StatusEvent.complaint_id == complaint.id, StatusEvent.kind == "status", StatusEvent.note.is_not(None),
        StatusEvent.actor.not_in(MACHINE_ACTORS),
    ).order_by(StatusEvent.id.desc()).limit(1))
