"""One citizen's message, once it is stored: a command to answer (CEK, INFO, BANTUAN, STOP ...) or a complaint.

Runs inside the caller's transaction (``gateway.jobs.inbound.handle_inbound``); the one reply is an outbox row
keyed by the message, so a second run adds nothing. A message without text that belongs with the citizen's
complaint of the last hour (:data:`RECENT`) adds to it: a photo (WhatsApp sends each photo as its own message)
or a location pin, which sets where the complaint is. A pin with no such complaint is kept, and the citizen is
asked for the complaint's text; their next complaint within the hour takes that place. A message's photos
hosted by its provider (MMS, WhatsApp) get a fetch row each (:mod:`gateway.complaints.media`), fetched by
their own jobs after the reply.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from gateway.complaints import commands, followups
from gateway.complaints.intake import (
    file_complaint,
    filed_by,
    identity_contact,
    reserve_ticket_codes,
    sharing,
    ticket_values,
)
from gateway.complaints.media import attach_media
from gateway.complaints.replies import MAX_SEGMENTS, render, status_text
from gateway.complaints.routing import ROSTER, roster
from gateway.complaints.status import add_parts, resume_updates, stop_updates
from gateway.runtime import Runtime
from models import Complaint, ComplaintMerge, Contact, InboundMessage, utcnow
from models.base import upsert_insert
from models.complaint import MERGED
from models.tickets import format_ticket_code, parse_ticket_code

RECENT = timedelta(hours=1)  # a text-less photo or pin this soon after a complaint belongs to it


CONTACTS = "sambat.contacts"  # session.info keys of a batch (prepare_batch): its senders' contacts by address,
PINS = "sambat.pins"  # and the contacts that may have a place waiting (a pin sent without a complaint)


def contact_for(session: Session, address: str) -> Contact:
    """The contact of the phone number (or e-mail address) a message came from: that identity's own contact,
    never a pair someone gave on the form (:func:`gateway.complaints.intake.identity_contact`)."""
    known = session.info.get(CONTACTS, {}).get(address)
    return known if known is not None else identity_contact(session, address)


def prepare_batch(session: Session, messages: list[InboundMessage]) -> None:
    """Read at once what handling each of ``messages`` would read one by one, for this session: the roster of
    agencies, the senders' contacts (the new ones inserted in one statement), which of them may have a pin
    waiting for its complaint, and a ticket code for each. Handling then reads these from ``session.info``."""
    session.info[ROSTER] = roster(session)
    reserve_ticket_codes(session, len(messages))
    senders = sorted({m.sender for m in messages if m.sender and not m.automated and not unproven(m)})
    if not senders:
        return
    contacts = {_address_of(c): c for c in session.scalars(select(Contact).where(or_(
        Contact.phone.in_([a for a in senders if "@" not in a]) & Contact.email.is_(None),
        Contact.email.in_([a for a in senders if "@" in a]) & Contact.phone.is_(None))))}
    new = [a for a in senders if a not in contacts]
    if new:
        dialect = session.get_bind().dialect.name
        for contact in session.scalars(upsert_insert(dialect)(Contact).values(
                [{"phone": None, "email": a} if "@" in a else {"phone": a, "email": None} for a in new])
                .on_conflict_do_nothing().returning(Contact)):
            contacts[_address_of(contact)] = contact
    session.info[CONTACTS] = contacts  # a sender another worker created at once is looked up one by one
    since = min(m.received_at or utcnow() for m in messages) - RECENT
    session.info[PINS] = set(session.scalars(select(InboundMessage.contact_id).distinct().where(
        InboundMessage.contact_id.in_([c.id for c in contacts.values()]), InboundMessage.location.is_not(None),
        InboundMessage.complaint_id.is_(None), InboundMessage.received_at >= since,
    ))) | {contacts[m.sender].id for m in messages if m.location and m.sender in contacts}


def _address_of(contact: Contact) -> str:
    return contact.email if contact.phone is None else contact.phone


def unproven(message: InboundMessage) -> bool:
    """True when the channel could not prove who sent the message (an e-mail whose SPF/DKIM/DMARC verdict, as
    the receiving server recorded it, is ``fail``): such a message is nobody's and is never answered."""
    return (message.raw or {}).get("auth") == "fail"


def handle_message(session: Session, runtime: Runtime, message: InboundMessage, contact: Contact | None) -> None:
    if contact is None:  # an unproven sender: the complaint is filed for people to see, never answered or threaded
        if not message.automated:
            file_complaint(session, runtime, message, None, message.body)
        return
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
    elif command.hint and followups.handle_reply(session, runtime, reply, message, contact, command):
        pass  # thanks, a YA or a "belum beres" about the citizen's own ticket: no new complaint (issue 15)
    elif command.name in (commands.COMPLAINT, commands.EMPTY) or (command.embedded and _find(session, command.code)
                                                                    is None):
        complaint, _, _ = file_complaint(session, runtime, message, contact, command.text or message.body)
        _take_waiting_place(session, message, contact, complaint)
    elif command.name == commands.STATUS:
        _status(session, reply, command.code)
    elif command.name == commands.INFO:
        _info(session, reply, message, contact, command)
    elif command.name == commands.HELP:
        reply("help")
    elif command.name == commands.STOP:
        for each in sharing(session, contact):  # the pairs this phone was given in, too
            stop_updates(each)
        reply("stopped")
    elif command.name == commands.START:
        for each in sharing(session, contact):
            resume_updates(each)
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
    if message.location or contact.id not in session.info.get(PINS, {contact.id}):
        return  # a pin of its own, or none waiting (a batch looked for all its senders' at once)
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

    def __call__(self, template: str, complaint: Complaint | None = None, max_segments: int = 1,
                 **values: object) -> None:
        body = render(self.runtime.settings.templates, self.language, template, max_segments=max_segments, **values)
        channel, address = self.runtime.reply_address(self.message, complaint)
        add_parts(
            self.session, self.runtime, dedupe_key=f"reply:{self.message.id}", kind=template, channel=channel,
            medium=address.medium, recipient=address.recipient, sender=address.sender, body=body + address.note,
            contact_id=self.contact.id, complaint_id=complaint.id if complaint else None,
            inbound_message_id=self.message.id, subject=address.subject, in_reply_to=address.in_reply_to,
            references=address.references, template_values=values, settings=self.runtime.settings,
        )


def _find(session: Session, code: str | None) -> Complaint | None:
    """The complaint of a code found inside a sentence (checked), or None."""
    parsed = parse_ticket_code(code or "")
    if parsed is None or not parsed.valid:
        return None
    return session.scalar(select(Complaint).where(Complaint.ticket_code == parsed.digits))


def _status(session: Session, reply: _Reply, code_text: str | None) -> None:
    """CEK: the status, with the latest public answer (up to three segments), or where a merged ticket went."""
    if code_text is None:  # a bare CEK or STATUS
        reply("status_usage")
        return
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
    if complaint.status == MERGED:
        link = session.scalar(select(ComplaintMerge).where(ComplaintMerge.merged_id == complaint.id))
        kept = session.get(Complaint, link.kept_id) if link is not None else None
        if kept is not None:
            reply("status_merged", complaint=complaint, kept=format_ticket_code(kept.ticket_code),
                  **ticket_values(complaint))
            return
    status = status_text(reply.runtime.settings.statuses, reply.language, complaint.status)
    updated = complaint.updated_at.astimezone(_zone(reply.runtime)).strftime("%d-%m-%Y %H:%M")
    answer = followups.latest_answer(session, complaint)
    if answer is not None:
        answered = answer.created_at.astimezone(_zone(reply.runtime)).strftime("%d-%m-%Y")
        reply("status_answer", complaint=complaint, max_segments=MAX_SEGMENTS, status=status, updated=answered,
              note=answer.note, **ticket_values(complaint))
        return
    reply("status", complaint=complaint, status=status, updated=updated, **ticket_values(complaint))


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
    # Only the identity that filed it may add to it; anyone else is told it was not found, nothing more.
    if complaint is None or not filed_by(session, complaint, message.sender):
        reply("info_not_yours")
        return
    if commands.is_dispute(command.text) and followups.is_recently_resolved(session, reply.runtime, complaint):
        followups.dispute(session, reply.runtime, message, complaint, command.text)  # reopened; the citizen told
        return
    _add_to(session, reply, message, complaint, command.text)


def _add_to(session: Session, reply: _Reply, message: InboundMessage, complaint: Complaint, text: str,
            template: str = "info_added") -> None:
    """Record the citizen's addition to their complaint (text, photos, a place) and thank them."""
    followups.note(session, message, complaint, text)
    reply(template, complaint=complaint, **ticket_values(complaint))


def _zone(runtime: Runtime):  # noqa: ANN202 - a tzinfo
    from zoneinfo import ZoneInfo

    return ZoneInfo(runtime.settings.timezone)
