"""What anyone may see of a complaint: its ticket, status, agency, dates and the agency's public answers.

Never the citizen's name, phone or e-mail, the complaint's own text (it may name people), the address
they typed, their coordinates, the photos or anything about them, nor who in an agency acted. The ticket
page, the JSON API and Open311 all read this one view.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import phonenumbers
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from channels.kelurahan import kelurahan_by_key
from gateway.complaints.replies import status_text
from models import Agency, Attachment, Complaint, StatusEvent
from models.complaint import MERGED, REJECTED, RESOLVED
from models.tickets import format_ticket_code

CLOSED_STATUSES = (RESOLVED, REJECTED, MERGED)
# Status events written by machines: their notes are evidence for staff, not answers to the citizen.
MACHINE_ACTORS = {"router", "category", "system", "scheduler", "citizen"}


@dataclass(frozen=True)
class Answer:
    """One step in a complaint's history: when, the status it moved to, and the agency's public note."""

    at: datetime
    status: str
    status_text: str
    note: str | None


@dataclass(frozen=True)
class PublicTicket:
    """The public face of one complaint."""

    ticket_code: str
    display_code: str
    status: str
    status_text: str
    closed: bool
    agency_code: str | None
    agency_name: str | None
    category: str | None
    kelurahan: str | None
    kelurahan_label: str | None
    created_at: datetime
    updated_at: datetime
    photos: int
    answers: tuple[Answer, ...]

    def local(self, moment: datetime, timezone: str) -> str:
        """A time as people in the city read it: ``23-11-2026 09:15``."""
        return moment.astimezone(ZoneInfo(timezone)).strftime("%d-%m-%Y %H:%M")


def public_ticket(session: Session, complaint: Complaint, statuses: dict, language: str = "id") -> PublicTicket:
    """Build the public view of a complaint, with answers oldest first."""
    agency = session.get(Agency, complaint.agency_code) if complaint.agency_code else None
    events = session.scalars(select(StatusEvent).where(StatusEvent.complaint_id == complaint.id,
                                                       StatusEvent.kind == "status").order_by(StatusEvent.id))
    answers = tuple(
        Answer(at=event.created_at, status=event.to_status,
               status_text=status_text(statuses, language, event.to_status),
               note=event.note if event.note and event.actor not in MACHINE_ACTORS else None)
        for event in events
    )
    photos = session.scalar(select(func.count(Attachment.id)).where(Attachment.complaint_id == complaint.id)) or 0
    place = kelurahan_by_key(complaint.kelurahan)
    return PublicTicket(
        ticket_code=complaint.ticket_code, display_code=format_ticket_code(complaint.ticket_code),
        status=complaint.status, status_text=status_text(statuses, language, complaint.status),
        closed=complaint.status in CLOSED_STATUSES, agency_code=complaint.agency_code,
        agency_name=agency.name if agency else None, category=complaint.category,
        kelurahan=place.key if place else None, kelurahan_label=place.label if place else None,
        created_at=complaint.created_at, updated_at=complaint.updated_at, photos=photos, answers=answers,
    )


def find_complaint(session: Session, digits: str) -> Complaint | None:
    """The complaint with this ticket code (already checked), or None."""
    return session.scalar(select(Complaint).where(Complaint.ticket_code == digits))


def last_public_note(ticket: PublicTicket) -> str | None:
    """The latest answer's note, for Open311's status_notes."""
    return next((answer.note for answer in reversed(ticket.answers) if answer.note), None)


_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# Runs of 8 or more digits, allowing the spaces, dots and dashes people type between them (NIK, account numbers).
_LONG_NUMBER = re.compile(r"\+?\d(?:[\s.\-()]*\d){7,}")
HIDDEN = "[...]"


def redact_personal(text: str, names: tuple[str, ...] = (), region: str = "ID") -> str:
    """A complaint's text with what names its citizen taken out, for a public field (Open311's description).

    Removes e-mail addresses, phone numbers (any format phonenumbers recognises in ``region``), any other run
    of 8 or more digits, and each word of the citizen's name given in ``names``.
    """
    redacted = _EMAIL.sub(HIDDEN, text)
    spans = [(match.start, match.end) for match in phonenumbers.PhoneNumberMatcher(
        redacted, region, leniency=phonenumbers.Leniency.POSSIBLE)]
    for start, end in reversed(spans):
        redacted = redacted[:start] + HIDDEN + redacted[end:]
    redacted = _LONG_NUMBER.sub(HIDDEN, redacted)
    words = {word for name in names if name for word in re.findall(r"\w{3,}", name)}
    for word in sorted(words, key=len, reverse=True):
        redacted = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", HIDDEN, redacted, flags=re.IGNORECASE)
    return redacted
