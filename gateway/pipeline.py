"""The worker's side of an inbound message: answer a command, or file a complaint and route it.

``process_inbound`` is an rq job that takes a message id. It is safe to run twice, even at once on
two workers: the complaint is unique per message, the reply's outbox row unique per message, and
whichever run commits first wins while the other rolls back and only hands on the replies.

A message without text that belongs with the citizen's complaint of the last hour (:data:`RECENT`) adds to
it: a photo (WhatsApp sends each photo as its own message) or a location pin, which sets where the complaint
is. A pin with no such complaint is kept, and the citizen is asked for the complaint's text; their next
complaint within the hour takes that place. A message's photos hosted by its provider (MMS, WhatsApp) are
fetched by their own jobs, queued after the reply (:mod:`gateway.media`).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import router
from gateway import commands
from gateway.media import attach_media, fetch_media, waiting
from gateway.outbox import add_message, send_outbound
from gateway.queue import DEFAULT, HIGH
from gateway.replies import render
from gateway.runtime import Runtime, current_runtime
from models import Agency, Complaint, Contact, InboundMessage, Outbox, StatusEvent, utcnow
from models.complaint import ASSIGNED, NEW
from models.message import PENDING
from models.tickets import format_ticket_code, new_ticket_code, parse_ticket_code

log = logging.getLogger(__name__)

RECENT = timedelta(hours=1)  # a text-less photo or pin this soon after a complaint belongs to it


def process_inbound(message_id: int) -> None:
    """rq job: handle one stored inbound message, then enqueue the sends of its replies, then its downloads."""
    runtime = current_runtime()
    for outbox_id in handle_inbound(runtime, message_id):
        runtime.queue.enqueue(send_outbound, outbox_id, priority=HIGH)
    for fetch_id in waiting(runtime, message_id):  # photos never hold up the ticket reply
        runtime.queue.enqueue(fetch_media, fetch_id, priority=DEFAULT)


def handle_inbound(runtime: Runtime, message_id: int) -> list[int]:
    """Do the work for one message once; return the ids of its replies still waiting to be sent."""
    with runtime.db.session() as session:
        message = session.get(InboundMessage, message_id)
        if message is None:
            log.error("inbound message %s does not exist", message_id)
            return []
        if message.processed_at is None and message.automated:
            # An auto-reply, a bounce, a carrier's SMS: kept, never answered, and nobody's contact.
            message.processed_at = utcnow()
            session.commit()
        if message.processed_at is None:
            contact = _contact_for(session, message.sender)
            try:
                _handle(session, runtime, message, contact)
                message.processed_at = utcnow()
                session.commit()
            except IntegrityError:
                # Another run of this job committed first; its replies are the ones to send.
                session.rollback()
                log.info("inbound message %s was processed by another run", message_id)
        return list(session.scalars(
            select(Outbox.id).where(Outbox.inbound_message_id == message_id, Outbox.status == PENDING)
        ))


def _contact_for(session: Session, address: str) -> Contact:
    """Find or create the contact for a phone number (or e-mail address), safe under races."""
    column = Contact.email if "@" in address else Contact.phone
    contact = session.scalar(select(Contact).where(column == address))
    if contact is not None:
        return contact
    contact = Contact(**({"email": address} if "@" in address else {"phone": address}))
    session.add(contact)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        contact = session.scalar(select(Contact).where(column == address))
    return contact


def _handle(session: Session, runtime: Runtime, message: InboundMessage, contact: Contact) -> None:
    message.contact_id = contact.id
    if message.automated:  # an auto-reply, bounce or list mail: kept, never answered (no mail loops)
        return
    command = commands.parse_command(message.body)
    thread = runtime.thread_of(session, message) if command.name in (commands.COMPLAINT, commands.EMPTY) else None
    if command.language and command.language != contact.language:
        contact.language = command.language
    language = contact.language or runtime.settings.default_language
    reply = _Reply(session, runtime, message, contact, language)

    textless = command.name == commands.EMPTY and (message.media or message.location)
    recent = _recent_complaint(session, message, contact) if textless else None
    if thread is not None:  # a reply in the thread of an earlier complaint (e-mail) adds to it
        _add_to(session, reply, message, session.get(Complaint, thread), command.text or message.body)
    elif command.name == commands.EMPTY and message.location:  # a pin: never "empty"
        if recent is not None:
            _add_to(session, reply, message, recent, _place_note(message.location), template="location_added")
        else:
            reply("location_waiting")  # kept: the next complaint within the hour takes this place
    elif command.name == commands.EMPTY and message.media and recent is not None:
        _add_to(session, reply, message, recent, "")  # a photo sent after the complaint's text
    elif command.name == commands.EMPTY and not message.media:
        reply("empty")
    elif command.name in (commands.COMPLAINT, commands.EMPTY):
        complaint = file_complaint(session, runtime, message, contact, command.text or message.body)
        _take_waiting_place(session, message, contact, complaint)
        template = "ticket_created" if complaint.agency_code else "ticket_created_review"
        reply(template, complaint=complaint, **ticket_values(complaint))
    elif command.name == commands.STATUS:
        _status(session, reply, command.code or "")
    elif command.name == commands.INFO:
        _info(session, reply, message, contact, command)
    elif command.name == commands.HELP:
        reply("help")
    elif command.name == commands.STOP:
        contact.opted_out, contact.opted_out_at = True, utcnow()
        reply("stopped")
    elif command.name == commands.START:
        contact.opted_out, contact.opted_out_at = False, None
        reply("started")
    if message.complaint_id is not None:
        if message.location:  # the complaint it came with (or added to) is where the pin is
            set_place(session.get(Complaint, message.complaint_id), message.location)
        attach_media(session, runtime, message)


def _recent_complaint(session: Session, message: InboundMessage, contact: Contact) -> Complaint | None:
    """The citizen's complaint filed within :data:`RECENT` before this message, the newest; or None."""
    since = (message.received_at or utcnow()) - RECENT
    return session.scalar(select(Complaint).where(Complaint.contact_id == contact.id, Complaint.created_at >= since)
                          .order_by(Complaint.created_at.desc(), Complaint.id.desc()).limit(1))


def _take_waiting_place(session: Session, message: InboundMessage, contact: Contact, complaint: Complaint) -> None:
    """A new complaint without a place takes the pin the citizen sent within the hour before it, if any."""
    if message.location:
        return
    since = (message.received_at or utcnow()) - RECENT
    pin = session.scalar(select(InboundMessage).where(
        InboundMessage.contact_id == contact.id, InboundMessage.location.is_not(None),
        InboundMessage.complaint_id.is_(None), InboundMessage.received_at >= since, InboundMessage.id != message.id,
    ).order_by(InboundMessage.received_at.desc(), InboundMessage.id.desc()).limit(1))
    if pin is not None:
        set_place(complaint, pin.location)
        pin.complaint_id = complaint.id


def set_place(complaint: Complaint, location: dict[str, Any]) -> None:
    """Where a complaint is, from a shared location: its coordinates, and the place's name and address."""
    complaint.latitude, complaint.longitude = location["latitude"], location["longitude"]
    place = ", ".join(part for part in (location.get("label"), location.get("address")) if part)
    if place:
        complaint.address = place[:500]


def _place_note(location: dict[str, Any]) -> str:
    place = ", ".join(part for part in (location.get("label"), location.get("address")) if part)
    return f"lokasi {location['latitude']:.6f}, {location['longitude']:.6f}" + (f" ({place})" if place else "")


class _Reply:
    """Writes the one reply to an inbound message as an outbox row, on the channel it came in on."""

    def __init__(self, session: Session, runtime: Runtime, message: InboundMessage, contact: Contact,
                 language: str) -> None:
        self.session, self.runtime, self.message, self.contact = session, runtime, message, contact
        self.language = language

    def __call__(self, template: str, complaint: Complaint | None = None, **values: object) -> None:
        body = render(self.runtime.settings.templates, self.language, template, **values)
        channel, address = self.runtime.reply_address(self.message, complaint)
        add_message(
            self.session, dedupe_key=f"reply:{self.message.id}", kind=template, channel=channel,
            medium=address.medium, recipient=address.recipient, sender=address.sender, body=body + address.note,
            contact_id=self.contact.id, complaint_id=complaint.id if complaint else None,
            inbound_message_id=self.message.id, subject=address.subject, in_reply_to=address.in_reply_to,
            references=address.references, template_values=values,
        )


def file_complaint(session: Session, runtime: Runtime, message: InboundMessage, contact: Contact,
                   text: str) -> Complaint:
    """Create a complaint with a new ticket code, route it, and record the first status event."""
    decision = router.route(text, runtime.settings.routing)
    evidence = ", ".join(decision.matched[:5]) or "no keyword matched"
    agency_code = decision.agency
    if agency_code is not None and not agency_accepts(session, agency_code):
        # The super-admin deactivated this agency in the console: a person decides where it goes.
        agency_code, evidence = None, f"{evidence}; {decision.agency} inactive"
    status = ASSIGNED if agency_code else NEW
    complaint = Complaint(
        ticket_code=_unused_ticket_code(session), text=text, channel=message.channel, medium=message.medium,
        contact_id=contact.id, inbound_message_id=message.id, agency_code=agency_code, status=status,
        routing=decision.to_dict(),
    )
    session.add(complaint)
    session.flush()
    message.complaint_id = complaint.id
    session.add(StatusEvent(
        complaint_id=complaint.id, kind="status", from_status=None, to_status=status,
        agency_code=agency_code, actor="router",
        note=f"confidence {decision.confidence:.2f}; {evidence}",
    ))
    return complaint


def agency_accepts(session: Session, code: str) -> bool:
    """True when the agency exists and is active (the console can deactivate one the router knows)."""
    agency = session.get(Agency, code)
    return agency is not None and agency.active


def _unused_ticket_code(session: Session) -> str:
    for _ in range(10):
        code = new_ticket_code()
        if session.scalar(select(Complaint.id).where(Complaint.ticket_code == code)) is None:
            return code
    raise RuntimeError("could not find an unused ticket code in 10 tries")


def ticket_values(complaint: Complaint) -> dict[str, str]:
    """Template values that describe a complaint's ticket and agency."""
    return {
        "code": format_ticket_code(complaint.ticket_code),
        "digits": complaint.ticket_code,
        "agency": complaint.agency_code or "-",
    }


def _status(session: Session, reply: _Reply, code_text: str) -> None:
    parsed = parse_ticket_code(code_text)
    if parsed is None:
        reply("not_found")
        return
    if not parsed.valid:
        reply("bad_code", given=parsed.digits)
        return
    complaint = session.scalar(select(Complaint).where(Complaint.ticket_code == parsed.digits))
    if complaint is None:
        reply("not_found")
        return
    statuses = reply.runtime.settings.statuses
    status_text = (statuses.get(reply.language) or statuses["id"]).get(complaint.status, complaint.status)
    updated = complaint.updated_at.astimezone(_zone(reply.runtime)).strftime("%d-%m-%Y %H:%M")
    reply("status", complaint=complaint, status=status_text, updated=updated, **ticket_values(complaint))


def _info(session: Session, reply: _Reply, message: InboundMessage, contact: Contact,
          command: commands.Command) -> None:
    parsed = parse_ticket_code(command.code or "")
    if parsed is None or not command.text:
        reply("info_usage")
        return
    if not parsed.valid:
        reply("bad_code", given=parsed.digits)
        return
    complaint = session.scalar(select(Complaint).where(Complaint.ticket_code == parsed.digits))
    # Only the phone that filed it may add to it; anyone else is told it was not found, nothing more.
    if complaint is None or complaint.contact_id != contact.id:
        reply("info_not_yours")
        return
    _add_to(session, reply, message, complaint, command.text)


def _add_to(session: Session, reply: _Reply, message: InboundMessage, complaint: Complaint, text: str,
            template: str = "info_added") -> None:
    """Record the citizen's addition to their complaint (text, photos, a place) and thank them."""
    session.add(StatusEvent(
        complaint_id=complaint.id, kind="citizen_info", from_status=complaint.status, to_status=complaint.status,
        agency_code=complaint.agency_code, actor="citizen", note=text or "(lampiran)", inbound_message_id=message.id,
    ))
    message.complaint_id = complaint.id
    complaint.updated_at = utcnow()
    reply(template, complaint=complaint, **ticket_values(complaint))


def _zone(runtime: Runtime):  # noqa: ANN202 - a tzinfo
    from zoneinfo import ZoneInfo

    return ZoneInfo(runtime.settings.timezone)
