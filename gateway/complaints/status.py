"""Status changes: every change is a status event, and the citizen hears of it on the channel they used.

The admin console (and anything else that moves a complaint) calls :func:`change_status`, commits, then
:func:`enqueue_sends`. Contacts who texted STOP get nothing; each event makes at most one message per
contact (its outbox key is the event's id), so a retried request never notifies twice.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from gateway.complaints import learning
from gateway.complaints.outbox import add_message
from gateway.complaints.replies import MAX_SEGMENTS, fits, numbered_parts, render, status_text
from gateway.runtime import DEFAULT, Runtime
from models import Complaint, ComplaintMerge, Contact, InboundMessage, Outbox, StatusEvent, utcnow
from models.complaint import ACKNOWLEDGED, COMPLAINT_STATUSES, RESOLVED
from models.tickets import format_ticket_code

_UNCHANGED = object()


def change_status(session: Session, runtime: Runtime, complaint: Complaint, to_status: str, actor: str,
                  note: str | None = None, agency_code: str | None | object = _UNCHANGED,
                  notify: bool = True, opening: bool = False) -> tuple[StatusEvent, Outbox | None]:
    """Move a complaint to a new status (and agency), record the event, and write the citizen's update.

    Args:
        session: the caller's session; the caller commits.
        runtime: settings and senders.
        complaint: the complaint to change.
        to_status: one of :data:`models.complaint.COMPLAINT_STATUSES`.
        actor: who did it: a user's e-mail, "router", "system", "scheduler".
        note: the public answer or reason, sent to the citizen.
        agency_code: the new agency, if it changes (None sends it back to review).
        notify: False for changes the citizen need not hear of.
        opening: the complaint's first event (it had no status before; ``from_status`` is None).

    Returns:
        The event, and the outbox row of the update (None when nobody is to be told).
    """
    if to_status not in COMPLAINT_STATUSES:
        raise ValueError(f"unknown status {to_status!r}; expected one of {', '.join(COMPLAINT_STATUSES)}")
    if agency_code is not _UNCHANGED:
        complaint.agency_code = agency_code  # type: ignore[assignment]
    event = StatusEvent(complaint_id=complaint.id, kind="status", from_status=None if opening else complaint.status,
                        to_status=to_status, agency_code=complaint.agency_code, actor=actor, note=note,
                        created_at=utcnow())
    complaint.status = to_status
    if not opening:  # a new complaint's first event is when it was filed: no UPDATE of the row just inserted
        complaint.updated_at = utcnow()
    session.add(event)
    if opening and not notify and to_status not in (ACKNOWLEDGED, RESOLVED):
        # A new complaint's first event, which nobody is told of: written with the rest of the filing (its
        # clock refers to it by relationship, gateway.complaints.deadlines.assign), not a flush of its own.
        return event, None
    session.flush()
    if to_status in (ACKNOWLEDGED, RESOLVED):  # the agency took it: an example for the router to learn from
        learning.accepted(session, complaint)
    if not notify:
        return event, None
    row = _write_update(session, runtime, complaint, event)
    _write_merged_updates(session, runtime, complaint, event)
    return event, row


def _write_merged_updates(session: Session, runtime: Runtime, complaint: Complaint, event: StatusEvent) -> None:
    """Citizens whose duplicates were merged into this complaint get its update too, once each, on their channel.

    Their outbox rows share the event's key prefix ``event:<id>:``; the admin console enqueues them all.
    """
    told = {complaint.contact_id}
    duplicates = list(session.scalars(select(Complaint).join(ComplaintMerge, ComplaintMerge.merged_id == Complaint.id)
                                      .where(ComplaintMerge.kept_id == complaint.id).order_by(Complaint.id)))
    for duplicate in duplicates:
        if duplicate.contact_id not in told:
            told.add(duplicate.contact_id)
            _write_update(session, runtime, complaint, event, via=duplicate)


def _write_update(session: Session, runtime: Runtime, complaint: Complaint, event: StatusEvent,
                  via: Complaint | None = None) -> Outbox | None:
    via = via or complaint  # a merged duplicate: its citizen, reached the way they wrote in
    contact = via.contact
    if contact is None or contact.opted_out:
        return None
    origin = session.get(InboundMessage, via.inbound_message_id) if via.inbound_message_id else None
    routed = runtime.update_address(via, contact, origin)
    if routed is None:
        return None
    channel, address = routed
    language = contact.language or runtime.settings.default_language
    status = status_text(runtime.settings.statuses, language, event.to_status)
    # An SMS takes up to three segments, cut at a word (the whole answer is on the ticket page); an e-mail all.
    values = {"code": format_ticket_code(complaint.ticket_code), "digits": complaint.ticket_code,
              "status": status, "agency": complaint.agency_code or "-", "note": event.note or ""}
    body = render(runtime.settings.templates, language, "status_update", one_segment=address.medium != "email",
                  max_segments=MAX_SEGMENTS, **values)
    # The values are kept too: past WhatsApp's 24-hour window they fill an approved template (gateway.jobs.whatsapp).
    return add_parts(
        session, runtime, dedupe_key=f"event:{event.id}:{contact.id}", kind="status_update", channel=channel,
        medium=address.medium, recipient=address.recipient, sender=address.sender, body=body.strip(),
        contact_id=contact.id, complaint_id=complaint.id, subject=address.subject, in_reply_to=address.in_reply_to,
        references=address.references, template_values=values, settings=runtime.settings,
    )


def add_parts(session: Session, runtime: Runtime, *, dedupe_key: str, channel: str, medium: str, body: str,
              **fields: object) -> Outbox:
    """An outbox row for a text; an SMS longer than a segment through a provider that does not join the parts
    of a long SMS becomes one row per part, numbered "(1/2)", keyed ``<key>``, ``<key>:2`` ... Returns the first.
    """
    if medium != "sms" or fits(body, 1) or runtime.concatenates_sms(channel):
        return add_message(session, dedupe_key=dedupe_key, channel=channel, medium=medium, body=body,
                           **fields)  # type: ignore[arg-type]
    rows = [add_message(session, dedupe_key=dedupe_key if number == 1 else f"{dedupe_key}:{number}", channel=channel,
                        medium=medium, body=part, **fields)  # type: ignore[arg-type]
            for number, part in enumerate(numbered_parts(body), start=1)]
    return rows[0]


def enqueue_sends(runtime: Runtime, outbox_rows: list[Outbox | None]) -> None:
    """After the commit: hand the updates to the queue, behind ticket replies."""
    for row in outbox_rows:
        if row is not None:
            runtime.send_soon(row.id, priority=DEFAULT)


def stop_updates(contact: Contact) -> None:
    """The citizen texted STOP (or their provider says they did): no more updates until they text MULAI."""
    if not contact.opted_out:
        contact.opted_out, contact.opted_out_at = True, utcnow()


def resume_updates(contact: Contact) -> None:
    """The citizen texted MULAI (START): updates again."""
    contact.opted_out, contact.opted_out_at = False, None
