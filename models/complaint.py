"""Complaints, their ticket codes and the history of every status change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, JSONType, UTCDateTime, utcnow
from models.contact import Agency, Contact

# Where a complaint stands. "new" waits in the super-admin's review queue (no agency yet).
# "reopened": the citizen said a resolved complaint is not fixed; it is back with its agency, on a new clock.
NEW, ASSIGNED, ACKNOWLEDGED, IN_PROGRESS, RESOLVED, REJECTED, MERGED, REOPENED = (
    "new", "assigned", "acknowledged", "in_progress", "resolved", "rejected", "merged", "reopened",
)
COMPLAINT_STATUSES = (NEW, ASSIGNED, ACKNOWLEDGED, IN_PROGRESS, RESOLVED, REJECTED, MERGED, REOPENED)


class Complaint(Base):
    """One complaint, with its ticket code, the agency handling it and the router's evidence."""

    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_agency_status", "agency_code", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_code: Mapped[str] = mapped_column(String(8), unique=True)
    text: Mapped[str] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(20))
    medium: Mapped[str] = mapped_column(String(20))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    # The message that created it: unique, so running the job twice never makes a second ticket.
    inbound_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"), unique=True)
    agency_code: Mapped[str | None] = mapped_column(ForeignKey("agencies.code"))
    status: Mapped[str] = mapped_column(String(20), default=NEW, index=True)
    routing: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    # Where it is, as the web form, the app or Open311 gave it (SMS complaints leave these empty).
    category: Mapped[str | None] = mapped_column(String(40))  # an Open311 service code from config.yaml
    kelurahan: Mapped[str | None] = mapped_column(String(40), index=True)  # a key from the kelurahan list
    address: Mapped[str | None] = mapped_column(String(500))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    contact: Mapped[Contact | None] = relationship()
    agency: Mapped[Agency | None] = relationship()
    events: Mapped[list[StatusEvent]] = relationship(back_populates="complaint", order_by="StatusEvent.id")

    def __repr__(self) -> str:
        return f"<Complaint {self.ticket_code} {self.status} {self.agency_code}>"


class StatusEvent(Base):
    """One change to a complaint: a status change, an assignment, or a note from the citizen."""

    __tablename__ = "status_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20), default="status")  # status | citizen_info
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    agency_code: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(120))  # "router", "citizen", "system" or a user's e-mail
    note: Mapped[str | None] = mapped_column(Text)
    inbound_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    complaint: Mapped[Complaint] = relationship(back_populates="events")


class Questionnaire(Base):
    """"Sudah beres? Balas YA atau BELUM": asked once per resolution, some working days after it.

    The key is the resolving status event, so two schedulers never ask twice and a ticket resolved again after
    a reopening is asked again. ``answer`` is ``yes`` (confirmed fixed), ``no`` (reopened) or None.
    """

    __tablename__ = "questionnaires"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("status_events.id"), unique=True)
    agency_code: Mapped[str | None] = mapped_column(String(32), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"))
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    answer: Mapped[str | None] = mapped_column(String(8))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
