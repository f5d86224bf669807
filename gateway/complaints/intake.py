"""Filing a complaint: the one :func:`file_complaint` for every channel, and the web's submissions around it.

An SMS, a WhatsApp message, an e-mail, the form, the app and Open311 all become complaints the same way: a new
ticket code, the router's decision, the agency (:func:`gateway.complaints.deadlines.assign`, whose clock starts
then) or the review queue, what the citizen added (place, category, photos), and the confirmation as an outbox
row keyed by the message. The worker calls it for messages from providers (``gateway.complaints.messages``);
:func:`file_submission` calls it at once for the form, the app and Open311, so the citizen sees the ticket
code, committing message, complaint, photos and confirmation together. A repeated provider id (an
Idempotency-Key sent twice) returns the first complaint.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels.base import InboundMessage
from channels.photos import keep_for_later, kept_for_later, remove_files, store_photos
from channels.web import Submission
from gateway.complaints.cleaning import strip_controls
from gateway.complaints.deadlines import assign
from gateway.complaints.outbox import NOT_SENT, add_message
from gateway.complaints.replies import render
from gateway.complaints.routing import roster, route_complaint
from gateway.complaints.status import change_status
from gateway.observability import count_received
from gateway.runtime import DEFAULT, HIGH, Runtime, job_id
from models import Agency, Attachment, Complaint, Contact, Outbox, utcnow
from models import InboundMessage as InboundRow
from models.base import upsert_insert
from models.complaint import ASSIGNED, NEW
from models.message import MEDIA_PENDING, MediaFetch
from models.tickets import format_ticket_code, new_ticket_code

log = logging.getLogger(__name__)
NO_USER = "no_user"  # routing["review_reason"]: the router's agency has no active console user


class IdempotencyConflict(Exception):
    """The same idempotency key came with a different request."""


@dataclass(frozen=True)
class Filed:
    """The outcome: the complaint's id and ticket code, whether it is new, and how the citizen is told."""

    complaint_id: int
    ticket_code: str
    created: bool
    confirmation: str  # "sms", "email", "opted_out", "sms_refused" (a number that gets no SMS) or "none"


def fingerprint(submission: Submission) -> str:
    """A hash of what was submitted, photos included, to tell a true repeat from a reused key."""
    digest = hashlib.sha256(json.dumps(submission.public_fields(), sort_keys=True, default=str).encode())
    for photo in submission.photos:
        digest.update(photo.sha256.encode())
    for upload in submission.later:
        digest.update(hashlib.sha256(upload.data).hexdigest().encode())
    return digest.hexdigest()


def file_submission(runtime: Runtime, submission: Submission, message: InboundMessage) -> Filed:
    """Store the message, file and route the complaint, keep the photos, queue the confirmation.

    Raises:
        IdempotencyConflict: the message's provider id was used before for a different submission.
    """
    print_ = fingerprint(submission)
    existing = _existing(runtime, message, print_)
    if existing is not None:
        return existing
    media_dir = runtime.settings.intake.media_dir
    written = store_photos(media_dir, list(submission.photos))
    # Photos too slow to clean within the request (header checked): kept as sent, cleaned by a worker's job.
    later = [keep_for_later(media_dir, upload) for upload in submission.later]
    written += [(kept_for_later(media_dir, relative), None) for relative in later]
    fetch_ids: list[int] = []
    try:
        with runtime.db.session() as session:
            filed, outbox_id = _file(session, runtime, submission, message, print_,
                                     [row for _, row in written if row is not None])
            if filed.created and later:
                fetch_ids = _fetch_later(session, filed, later)
            session.commit()
    except IntegrityError:
        remove_files([path for path, _ in written])
        # Another request with the same provider id committed first: answer as it did.
        again = _existing(runtime, message, print_)
        if again is None:
            raise
        return again
    except BaseException:
        remove_files([path for path, _ in written])
        raise
    count_received(message.channel, message.medium)
    if outbox_id is not None:
        runtime.send_soon(outbox_id, priority=HIGH)
    for fetch_id in fetch_ids:  # after the confirmation; the scheduler's sweep queues any this misses
        runtime.queue.enqueue("gateway.jobs.media.fetch_media", fetch_id, priority=DEFAULT,
                              job_id=job_id("media", fetch_id))
    return filed


def _fetch_later(session: Session, filed: Filed, later: list[str]) -> list[int]:
    """One media fetch row per photo kept for later, ``local:`` URLs the web channel reads back."""
    complaint = session.get(Complaint, filed.complaint_id)
    rows = [MediaFetch(inbound_message_id=complaint.inbound_message_id, position=position, url=f"local:{relative}",
                       content_type=None, status=MEDIA_PENDING, attempts=0)
            for position, relative in enumerate(later, start=100)]  # after the photos cleaned at once
    session.add_all(rows)
    session.flush()
    return [row.id for row in rows]


def _existing(runtime: Runtime, message: InboundMessage, print_: str) -> Filed | None:
    with runtime.db.session() as session:
        row = session.scalar(select(InboundRow).where(InboundRow.channel == message.channel,
                                                      InboundRow.provider_message_id == message.provider_message_id))
        if row is None:
            return None
        if (row.raw or {}).get("fingerprint") != print_:
            raise IdempotencyConflict(message.provider_message_id)
        complaint = session.get(Complaint, row.complaint_id) if row.complaint_id else None
        if complaint is None:
            raise IdempotencyConflict(message.provider_message_id)
        return Filed(complaint.id, complaint.ticket_code, False, (row.raw or {}).get("confirmation", "none"))


def _file(session: Session, runtime: Runtime, submission: Submission, message: InboundMessage, print_: str,
          attachments: list) -> tuple[Filed, int | None]:
    contact = _contact(session, submission)
    row = InboundRow(channel=message.channel, medium=message.medium, provider_message_id=message.provider_message_id,
                     sender=message.sender, recipient=None, body=message.text, media=[],
                     raw={**message.raw, "fingerprint": print_}, contact_id=contact.id if contact else None,
                     received_at=message.received_at or utcnow())
    session.add(row)
    session.flush()
    details = Details(category=submission.category, kelurahan=submission.kelurahan, address=submission.address,
                      latitude=submission.latitude, longitude=submission.longitude, attachments=tuple(attachments))
    complaint, outbox, confirmation = file_complaint(session, runtime, row, contact, submission.text, details)
    row.raw = {**row.raw, "confirmation": confirmation}
    row.processed_at = utcnow()
    session.flush()
    return Filed(complaint.id, complaint.ticket_code, True, confirmation), (outbox.id if outbox else None)


def _contact(session: Session, submission: Submission) -> Contact | None:
    """The contact a submission files under; None for an anonymous complaint.

    Nothing a submission gives is proven, so it never joins an identity to an existing contact: a phone alone
    files under that phone's contact, an address alone under that address's, and a phone with an address under
    the contact of exactly that pair (its own, never the phone's or the address's). Pairing a victim's address
    with another phone (or the reverse) thus reaches none of the victim's complaints or updates.
    """
    if not submission.phone and not submission.email:
        return None
    phone, email = submission.phone or None, submission.email or None
    found = _identity(phone, email)
    contact = session.scalar(select(Contact).where(*found))
    if contact is None:
        contact = _new_contact(session, submission, found)
    contact.name = contact.name or submission.name
    contact.language = submission.language
    return contact


def _identity(phone: str | None, email: str | None) -> tuple:  # noqa: ANN401 - SQL conditions
    """The conditions that find the one contact of exactly this phone, address, or pair."""
    return (Contact.phone.is_(None) if phone is None else Contact.phone == phone,
            Contact.email.is_(None) if email is None else Contact.email == email)


def identity_contact(session: Session, address: str) -> Contact:
    """Find or create the contact of one phone number (E.164) or one e-mail address alone, safe under races.

    This is the contact a message from that address belongs to: the message itself proves the address. A new
    one is inserted in the caller's transaction with INSERT ... ON CONFLICT DO NOTHING RETURNING: a worker that
    inserts the same identity at once waits for the other's commit, then reads its row.
    """
    phone, email = (None, address) if "@" in address else (address, None)
    found = _identity(phone, email)
    contact = session.scalar(select(Contact).where(*found))
    if contact is not None:
        return contact
    dialect = session.get_bind().dialect.name
    contact = session.scalar(upsert_insert(dialect)(Contact).values(phone=phone, email=email)
                             .on_conflict_do_nothing().returning(Contact))
    if contact is None:  # another worker created it first
        contact = session.scalar(select(Contact).where(*found))
    if contact is None:
        raise RuntimeError(f"could not create or find the contact for {address}")
    return contact


def _new_contact(session: Session, submission: Submission, found: tuple) -> Contact:
    """Create the contact in its own short transaction, so two requests at once end with one row."""
    with Session(session.get_bind()) as own:
        own.add(Contact(phone=submission.phone or None, email=submission.email or None, name=submission.name,
                        language=submission.language))
        try:
            own.commit()
        except IntegrityError:  # another request created it first
            own.rollback()
    contact = session.scalar(select(Contact).where(*found))
    if contact is None:
        raise RuntimeError(f"could not create or find the contact for {submission.phone or submission.email}")
    return contact


def filed_by(session: Session, complaint: Complaint, address: str) -> bool:
    """True when ``address`` (the proven sender of a message) is an identity that filed the complaint: the phone
    or address of the contact it was filed under. Only they may add to it (INFO, an e-mail reply)."""
    if complaint.contact_id is None or not address:
        return False
    contact = session.get(Contact, complaint.contact_id)
    if contact is None:
        return False
    if "@" in address:  # addresses are compared without case (the form keeps what was typed)
        return address.lower() == (contact.email or "").lower()
    return address == contact.phone


def sharing(session: Session, contact: Contact) -> list[Contact]:
    """Every contact that reaches the same phone (or, for an address alone, the same address): a STOP from
    that phone is meant for all of them, the pairs it was given in included."""
    if contact.phone:
        return list(session.scalars(select(Contact).where(Contact.phone == contact.phone)))
    if contact.email:
        return list(session.scalars(select(Contact).where(Contact.email == contact.email)))
    return [contact]


@dataclass(frozen=True)
class Details:
    """What a citizen adds to a complaint's text on the web: place, category, photos (an SMS adds none)."""

    category: str | None = None
    kelurahan: str | None = None
    address: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    attachments: tuple[Attachment, ...] = ()


def file_complaint(session: Session, runtime: Runtime, message: InboundRow, contact: Contact | None, text: str,
                   details: Details | None = None) -> tuple[Complaint, Outbox | None, str]:
    """File a complaint from a stored message: ticket, route, agency or review, details, confirmation.

    Args:
        session: the caller's session; the caller commits (with the message marked processed).
        runtime: settings (the routing table) and the channels' addresses.
        message: the stored inbound message the complaint comes from.
        contact: the citizen, or None for an anonymous web complaint.
        text: the complaint's text (without a SAMBAT/ADUAN keyword).
        details: what the web form, the app or Open311 added.

    Returns:
        The complaint, the confirmation's outbox row (or None), and how the citizen is told: ``sms`` (or
        WhatsApp, on its channel), ``email``, ``opted_out``, ``sms_refused`` (the number gets no SMS:
        ``sms.allowed_regions``, premium or satellite, or the SMS limits) or ``none``.
    """
    details = details or Details()
    text = strip_controls(text)  # on every channel; the message row keeps what arrived
    # Bounded work per message: the router reads at most the medium's intake.routed_chars (SMS 1,600, e-mail
    # 20,000); the whole text stays with the stored message.
    text = text[: runtime.settings.intake.routed_limit(message.medium)]
    active, staffed = roster(session)
    decision = route_complaint(session, runtime, text, active)
    evidence = ", ".join(decision.matched[:5]) or "no keyword matched"
    if decision.model is not None:
        similar = " ".join(f"{s.ref} -> {s.agency}" for s in decision.similar[:3])
        evidence = f"{evidence}; model {decision.model}" + (f"; mirip {similar}" if similar else "")
        if decision.bounced:
            evidence += "; pernah dikembalikan " + " ".join(f"{s.ref} <- {s.agency}" for s in decision.bounced[:3])
    agency_code, routing = decision.agency, decision.to_dict()
    if decision.review_reason == "inactive":
        # The super-admin deactivated this agency in the console: a person decides where it goes. The routing
        # keeps the router's choice (with review_reason "inactive").
        evidence, routing["agency"] = f"{evidence}; {decision.top} inactive", decision.top
    if not runtime.settings.admin.hold_without_users:
        staffed = None
    if agency_code is not None and staffed is not None and agency_code not in staffed:
        # Nobody can log in for this agency: it would never be read. A person decides (issue 15, point 10).
        evidence = f"{evidence}; {agency_code} has no active console user"
        routing.update(agency=agency_code, review_reason=NO_USER)
        agency_code = None
    # Written as the router's assignment below leaves it (agency and status), so the row is inserted once and
    # never updated in the same transaction.
    complaint = Complaint(
        ticket_code=unused_ticket_code(session), text=text, channel=message.channel, medium=message.medium,
        contact_id=contact.id if contact is not None else None, inbound_message_id=message.id,
        status=NEW if agency_code is None else ASSIGNED, agency_code=agency_code, routing=routing,
        category=details.category, kelurahan=details.kelurahan, address=details.address,
        latitude=details.latitude, longitude=details.longitude,
    )
    session.add(complaint)
    session.flush()
    message.complaint_id = complaint.id
    note = f"confidence {decision.confidence:.2f}; {evidence}"
    if agency_code is not None:
        assign(session, runtime, complaint, agency_code, "router", note=note, notify=False, opening=True)
    else:
        change_status(session, runtime, complaint, NEW, "router", note=note, notify=False, opening=True)
        category = runtime.settings.intake.category(details.category) if details.category else None
        if category is not None and category.agency and agency_accepts(session, category.agency) \
                and (staffed is None or category.agency in staffed):
            # The router could not place the text; the category the citizen chose names the agency.
            assign(session, runtime, complaint, category.agency, "category", note=f"category {category.code}",
                   notify=False)
    for attachment in details.attachments:
        attachment.complaint_id, attachment.inbound_message_id = complaint.id, message.id
        session.add(attachment)
    if details.attachments:
        message.media = [{"url": f"attachment:{attachment.path}", "content_type": attachment.content_type}
                         for attachment in details.attachments]
    outbox, confirmation = _confirm(session, runtime, complaint, contact, message)
    return complaint, outbox, confirmation


def _confirm(session: Session, runtime: Runtime, complaint: Complaint, contact: Contact | None,
             message: InboundRow) -> tuple[Outbox | None, str]:
    """The ticket reply, as every channel's citizen gets it: on the channel the message came in on, or to the
    contact's phone or e-mail for the web; a web citizen who texted STOP gets none."""
    if (message.raw or {}).get("auth") == "fail":  # a sender nobody proved is never answered (no backscatter)
        return None, "none"
    if not runtime.answers_in_kind(message.channel):
        if contact is None:
            return None, "none"
        if contact.opted_out:
            return None, "opted_out"
    routed = runtime.answer_address(message, complaint, contact)
    if routed is None:
        return None, "none"
    channel, address = routed
    template = "ticket_created" if complaint.agency_code else "ticket_created_review"
    language = (contact.language if contact is not None else None) or runtime.settings.default_language
    body = render(runtime.settings.templates, language, template, **ticket_values(complaint))
    outbox = add_message(session, dedupe_key=f"reply:{message.id}", kind=template, channel=channel,
                         medium=address.medium, recipient=address.recipient, sender=address.sender,
                         body=body + address.note, contact_id=contact.id if contact is not None else None,
                         complaint_id=complaint.id, inbound_message_id=message.id, subject=address.subject,
                         in_reply_to=address.in_reply_to, references=address.references,
                         template_values=ticket_values(complaint), settings=runtime.settings)
    if outbox.status == NOT_SENT:  # a number that gets no SMS (sms.allowed_regions, premium, limits)
        return None, "sms_refused"
    return outbox, "email" if address.medium == "email" else "sms"


def agency_accepts(session: Session, code: str) -> bool:
    """True when the agency exists and is active (the console can deactivate one the router knows)."""
    agency = session.get(Agency, code)
    return agency is not None and agency.active


TICKET_CODES = "sambat.ticket_codes"  # session.info key: codes a batch checked at once (reserve_ticket_codes)


def reserve_ticket_codes(session: Session, count: int) -> None:
    """Draw ``count`` new ticket codes checked unused in one query, for :func:`unused_ticket_code` to hand out in
    this session (a batch of messages: one query, not one per complaint)."""
    drawn = {new_ticket_code() for _ in range(count)}
    taken = set(session.scalars(select(Complaint.ticket_code).where(Complaint.ticket_code.in_(drawn))))
    session.info[TICKET_CODES] = sorted(drawn - taken)


def unused_ticket_code(session: Session) -> str:
    """A new ticket code no complaint in the database has yet (codes are random, so two can meet)."""
    reserved = session.info.get(TICKET_CODES)
    if reserved:
        return reserved.pop()
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
