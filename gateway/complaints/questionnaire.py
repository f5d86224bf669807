"""Closing the loop (issue 15): "Sudah beres? Balas YA atau BELUM", asked once per resolution.

``questionnaire.after_days`` working days (the deadlines calendar) after an agency resolves a complaint, its
citizen gets one message on the channel they used. The question is a :class:`models.Questionnaire` row keyed
by the resolving status event, written with its outbox row in one transaction: several schedulers may run
this at once, the one whose insert wins asks, the others hit the key and send nothing.

The answer (``gateway.complaints.followups``): YA confirms the ticket (a ``citizen_confirm`` event; the share
confirmed fixed per agency is :func:`gateway.complaints.figures.confirmed_fixed`); BELUM reopens it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.complaints.replies import render
from gateway.complaints.status import add_parts
from gateway.runtime import DEFAULT, Runtime, due
from models import Complaint, Contact, InboundMessage, Questionnaire, StatusEvent, utcnow
from models.complaint import RESOLVED
from models.tickets import format_ticket_code

log = logging.getLogger(__name__)

INTERVAL = 60.0  # seconds between checks in one scheduler process
BATCH = 200
YES, NO = "yes", "no"


def questionnaire_work(runtime: Runtime, interval: float = INTERVAL) -> int | None:
    """Called on every scheduler sweep: :func:`ask_due` at most once per ``interval`` seconds."""
    if not due("questionnaire", runtime, interval):
        return None
    return ask_due(runtime)


def ask_due(runtime: Runtime, now: datetime | None = None) -> int:
    """Ask every citizen whose complaint was resolved ``after_days`` working days ago and is still resolved.

    Returns:
        How many questions were written (their outbox rows are handed to the queue after the commit).
    """
    now = now or utcnow()
    settings = runtime.settings.questionnaire
    calendar = runtime.settings.deadline_policy.calendar()
    # Only resolutions young enough to be answered; the working-day check below is exact.
    oldest = now - timedelta(days=settings.answer_days + settings.after_days * 2 + 14)
    asked = exists().where(Questionnaire.event_id == StatusEvent.id)
    outbox: list[int] = []
    with runtime.db.session() as session:
        candidates = session.execute(
            select(StatusEvent, Complaint).join(Complaint, Complaint.id == StatusEvent.complaint_id).where(
                StatusEvent.kind == "status", StatusEvent.to_status == RESOLVED, StatusEvent.created_at >= oldest,
                Complaint.status == RESOLVED, Complaint.contact_id.is_not(None), ~asked,
            ).order_by(StatusEvent.id).limit(BATCH)).all()
        for event, complaint in candidates:
            if calendar.add_working_days(event.created_at, settings.after_days) > now:
                continue
            if _latest_resolution(session, complaint) != event.id:  # resolved again since: that one is asked
                continue
            row = _ask(session, runtime, complaint, event)
            if row is not None:
                outbox.append(row)
    for outbox_id in outbox:
        runtime.send_soon(outbox_id, priority=DEFAULT)
    if outbox:
        log.info("questionnaire: %s asked", len(outbox))
    return len(outbox)


def _latest_resolution(session: Session, complaint: Complaint) -> int | None:
    return session.scalar(select(StatusEvent.id).where(
        StatusEvent.complaint_id == complaint.id, StatusEvent.kind == "status", StatusEvent.to_status == RESOLVED,
    ).order_by(StatusEvent.id.desc()).limit(1))


def _ask(session: Session, runtime: Runtime, complaint: Complaint, event: StatusEvent) -> int | None:
    """Write the question and its message in one commit; None when another scheduler asked first, or when the
    citizen cannot be reached (stopped updates, no address): the row is kept so they are not tried again."""
    contact = session.get(Contact, complaint.contact_id)
    question = Questionnaire(complaint_id=complaint.id, event_id=event.id, agency_code=complaint.agency_code,
                             contact_id=complaint.contact_id, asked_at=utcnow())
    try:
        with session.begin_nested():
            session.add(question)
    except IntegrityError:  # another scheduler asked first
        return None
    routed = None
    if contact is not None and not contact.opted_out:
        origin = session.get(InboundMessage, complaint.inbound_message_id) if complaint.inbound_message_id else None
        routed = runtime.update_address(complaint, contact, origin)
    if routed is None:
        question.answer = "none"  # nobody to ask: not counted as asked
        session.commit()
        return None
    channel, address = routed
    language = contact.language or runtime.settings.default_language
    values = {"code": format_ticket_code(complaint.ticket_code), "digits": complaint.ticket_code}
    body = render(runtime.settings.templates, language, "questionnaire", **values)
    row = add_parts(session, runtime, dedupe_key=f"questionnaire:{event.id}", kind="questionnaire", channel=channel,
                    medium=address.medium, recipient=address.recipient, sender=address.sender,
                    body=(body + address.note).strip(), contact_id=contact.id, complaint_id=complaint.id,
                    subject=address.subject, in_reply_to=address.in_reply_to, references=address.references,
                    template_values=values)
    session.flush()
    question.outbox_id = row.id
    session.commit()
    return row.id


def pending_question(session: Session, runtime: Runtime, contact: Contact,
                     now: datetime | None = None) -> Questionnaire | None:
    """The contact's newest unanswered question still open to an answer, whose ticket is still resolved."""
    now = now or utcnow()
    since = now - timedelta(days=runtime.settings.questionnaire.answer_days)
    return session.scalar(select(Questionnaire).join(Complaint, Complaint.id == Questionnaire.complaint_id).where(
        Questionnaire.contact_id == contact.id, Questionnaire.answer.is_(None), Questionnaire.asked_at >= since,
        Complaint.status == RESOLVED,
    ).order_by(Questionnaire.asked_at.desc(), Questionnaire.id.desc()).limit(1))


def record_answer(session: Session, complaint: Complaint, answer: str, now: datetime | None = None) -> None:
    """The citizen's answer about a resolution: on its question if one is open (asked or not yet asked)."""
    now = now or utcnow()
    resolution = _latest_resolution(session, complaint)
    if resolution is None:
        return
    question = session.scalar(select(Questionnaire).where(Questionnaire.event_id == resolution))
    if question is None:  # answered before being asked ("INFO ... belum selesai" the day after): counts too
        question = Questionnaire(complaint_id=complaint.id, event_id=resolution, agency_code=complaint.agency_code,
                                 contact_id=complaint.contact_id, asked_at=now)
        session.add(question)
    if question.answer in (None, "none"):
        question.answer, question.answered_at = answer, now
