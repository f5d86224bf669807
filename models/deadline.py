"""Deadline clocks of agencies' work, the reminders and escalations sent about them, and merged tickets."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:
    from models.complaint import StatusEvent

# The three deadlines of one assignment, in the order they fall due.
STAGES = ("acknowledge", "respond", "resolve")


class Assignment(Base):
    """One complaint in one agency's hands, from the status event that assigned it, with its deadlines.

    A complaint sent on to another agency, or bounced and assigned again, gets a new row; the old one is
    closed (``ended_at``, ``outcome``). Met stages keep the time they were met, so the dashboard's medians
    and shares within deadline are plain arithmetic over these rows.
    """

    __tablename__ = "assignments"
    __table_args__ = (Index("ix_assignments_agency_open", "agency_code", "ended_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    # The event that assigned it: unique, so two processes computing the clock never make two rows.
    event_id: Mapped[int] = mapped_column(ForeignKey("status_events.id"), unique=True)
    # Set instead of event_id when the event is not written yet (a complaint's first clock, filed in one flush).
    event: Mapped[StatusEvent] = relationship()
    agency_code: Mapped[str] = mapped_column(ForeignKey("agencies.code"))
    category: Mapped[str | None] = mapped_column(String(40))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acknowledge_due: Mapped[datetime] = mapped_column(UTCDateTime())
    respond_due: Mapped[datetime] = mapped_column(UTCDateTime())
    resolve_due: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(20))  # resolved, bounced, reassigned, rejected, merged

    def due(self, stage: str) -> datetime:
        """The deadline of one stage."""
        return getattr(self, f"{stage}_due")

    def met(self, stage: str) -> datetime | None:
        """When one stage was met, or None."""
        return getattr(self, {"acknowledge": "acknowledged_at", "respond": "responded_at",
                              "resolve": "resolved_at"}[stage])

    def next_stage(self) -> str | None:
        """The first stage not yet met (None when resolved)."""
        return next((stage for stage in STAGES if self.met(stage) is None), None)

    def __repr__(self) -> str:
        return f"<Assignment {self.id} complaint {self.complaint_id} {self.agency_code}>"


class DeadlineAlert(Base):
    """A reminder before a deadline or an escalation after one, recorded once under a unique key.

    The key (e.g. ``remind:12:acknowledge``) is what makes "each reminder is sent once" hold with several
    schedulers: the process whose insert wins writes the e-mails in the same transaction; the others fail
    on the key and send nothing.
    """

    __tablename__ = "deadline_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # reminder | overdue | escalated
    audience: Mapped[str] = mapped_column(String(20), index=True)  # agency-admin | super-admin | viewer
    stage: Mapped[str] = mapped_column(String(20))
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id"), index=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    agency_code: Mapped[str] = mapped_column(String(32))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class ComplaintMerge(Base):
    """A duplicate folded into the ticket that stays: its citizen gets the kept ticket's updates."""

    __tablename__ = "complaint_merges"

    id: Mapped[int] = mapped_column(primary_key=True)
    merged_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), unique=True)
    kept_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    actor: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
