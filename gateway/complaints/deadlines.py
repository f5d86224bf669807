"""Giving a complaint to an agency, and its deadline clock (an :class:`models.Assignment` row).

:func:`assign` is the one way a complaint reaches an agency, whoever assigns it: the router, the category a
citizen chose, the super-admin, a reassignment. It records the status event and the citizen's update and
starts the agency's clock at that moment. :func:`sync_assignment` reads a complaint's events and opens,
updates or closes its row; the console calls it after each change, and the scheduler (and the work queue
page) call :func:`sync_unclocked` for complaints clocked by nothing else (filed before clocks started at
assignment). The row's key is the assigning status event, so two processes never make two rows.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.complaints.status import change_status
from gateway.runtime import Runtime
from gateway.settings.deadlines import DeadlinePolicy
from models import Assignment, Complaint, Outbox, StatusEvent, utcnow
from models.complaint import ACKNOWLEDGED, ASSIGNED, IN_PROGRESS, MERGED, NEW, REJECTED, REOPENED, RESOLVED

OPEN_STATUSES = (ASSIGNED, ACKNOWLEDGED, IN_PROGRESS, REOPENED)
STARTS_CLOCK = (ASSIGNED, REOPENED)  # reaching an agency, or coming back to it disputed: a new clock
WITH_AGENCY = (*OPEN_STATUSES, RESOLVED)
_MET = {"acknowledged_at": (ACKNOWLEDGED, IN_PROGRESS, RESOLVED), "responded_at": (IN_PROGRESS, RESOLVED),
        "resolved_at": (RESOLVED,)}
_OUTCOME = {NEW: "bounced", REJECTED: "rejected", MERGED: "merged"}


def assign(session: Session, runtime: Runtime, complaint: Complaint, agency_code: str, actor: str,
           note: str | None = None, notify: bool = True, opening: bool = False) -> tuple[StatusEvent, Outbox | None]:
    """Give a complaint to an agency: the status event, the citizen's update, and the clock, started now.

    Args:
        session: the caller's session; the caller commits.
        runtime: settings (the deadline policy) and senders.
        complaint: the complaint, flushed (it has an id).
        agency_code: the agency that takes it.
        actor: "router", "category", or the e-mail of the person who assigned it.
        note: why, as the event's note (and the citizen's update when ``notify``).
        notify: False when the citizen hears of it otherwise (the ticket reply names the agency).
        opening: the complaint's first event.

    Returns:
        The event, and the outbox row of the citizen's update (or None).
    """
    event, update = change_status(session, runtime, complaint, ASSIGNED, actor, note=note, agency_code=agency_code,
                                  notify=notify, opening=opening)
    if opening:
        # A complaint filed this moment has no other event and no clock, in this transaction or any other: its
        # clock starts with this event, without reading the events back (what sync_assignment would find).
        due = runtime.settings.deadline_policy.due_dates(event.created_at, complaint.agency_code, complaint.category)
        session.add(Assignment(complaint_id=complaint.id, event=event, agency_code=complaint.agency_code,
                               category=complaint.category, assigned_at=event.created_at,
                               acknowledge_due=due["acknowledge"], respond_due=due["respond"],
                               resolve_due=due["resolve"]))
    else:
        sync_assignment(session, runtime.settings.deadline_policy, complaint)
    return event, update


def reopen(session: Session, runtime: Runtime, complaint: Complaint, actor: str = "citizen",
           note: str | None = None) -> tuple[StatusEvent, Outbox | None]:
    """The citizen says a resolved complaint is not fixed: back to its agency as "reopened", on a new clock
    (acknowledge, respond and resolve deadlines from now), on the super-admin's dashboard, the citizen told.

    Returns:
        The event, and the outbox row of the citizen's update.
    """
    agency = complaint.agency.name if complaint.agency is not None else complaint.agency_code
    note = note or f"Warga menyatakan belum beres; diteruskan lagi ke {agency or 'dinas terkait'}."
    event, update = change_status(session, runtime, complaint, REOPENED, actor, note=note)
    sync_assignment(session, runtime.settings.deadline_policy, complaint)
    return event, update


def open_assignment(session: Session, complaint_id: int) -> Assignment | None:
    """The complaint's current clock, or None."""
    return session.scalar(select(Assignment).where(Assignment.complaint_id == complaint_id,
                                                   Assignment.ended_at.is_(None)).order_by(Assignment.id.desc()))


def current_assignment(session: Session, complaint_id: int) -> Assignment | None:
    """The newest clock of a complaint, open or closed."""
    return session.scalar(select(Assignment).where(Assignment.complaint_id == complaint_id)
                          .order_by(Assignment.id.desc()).limit(1))


def sync_assignment(session: Session, policy: DeadlinePolicy, complaint: Complaint,
                    now: datetime | None = None) -> Assignment | None:
    """Open, update or close the complaint's clock from its events (the caller commits).

    Returns:
        The open clock after the sync, or None when the complaint is not in an agency's hands.
    """
    now = now or utcnow()
    events = list(session.scalars(select(StatusEvent).where(StatusEvent.complaint_id == complaint.id,
                                                            StatusEvent.kind == "status").order_by(StatusEvent.id)))
    row = open_assignment(session, complaint.id)
    assigning = None
    if complaint.agency_code and complaint.status in WITH_AGENCY:
        assigning = next((event for event in reversed(events)
                          if event.to_status in STARTS_CLOCK and event.agency_code == complaint.agency_code), None)
    if row is not None and (assigning is None or row.event_id != assigning.id):
        row.ended_at = row.ended_at or now
        row.outcome = row.outcome or (_OUTCOME.get(complaint.status, "reassigned") if assigning is None
                                      else "reassigned")
        row = None
    if assigning is None:
        return None
    if row is None:
        row = session.scalar(select(Assignment).where(Assignment.event_id == assigning.id))
    if row is None:
        due = policy.due_dates(assigning.created_at, complaint.agency_code, complaint.category)
        row = Assignment(complaint_id=complaint.id, event_id=assigning.id, agency_code=complaint.agency_code,
                         category=complaint.category, assigned_at=assigning.created_at,
                         acknowledge_due=due["acknowledge"], respond_due=due["respond"], resolve_due=due["resolve"])
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # another process opened this clock first
            row = session.scalar(select(Assignment).where(Assignment.event_id == assigning.id))
            if row is None:
                raise
    later = [event for event in events if event.id > assigning.id]
    for column, statuses in _MET.items():
        if getattr(row, column) is None:
            first = next((event.created_at for event in later if event.to_status in statuses), None)
            setattr(row, column, first)
    if row.resolved_at is not None:
        row.ended_at, row.outcome = row.resolved_at, "resolved"
        return None
    return row


def sync_unclocked(session: Session, policy: DeadlinePolicy, agency_code: str | None = None,
                   limit: int = 500) -> int:
    """Clock complaints in an agency's hands that have no open clock yet (routed by the worker).

    Returns:
        How many complaints were synced; the caller commits.
    """
    has_clock = exists().where(Assignment.complaint_id == Complaint.id, Assignment.ended_at.is_(None))
    query = select(Complaint).where(Complaint.agency_code.is_not(None), Complaint.status.in_(OPEN_STATUSES),
                                    ~has_clock)
    if agency_code is not None:
        query = query.where(Complaint.agency_code == agency_code)
    complaints = list(session.scalars(query.order_by(Complaint.id).limit(limit)))
    for complaint in complaints:
        sync_assignment(session, policy, complaint)
    return len(complaints)
