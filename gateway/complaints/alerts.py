"""Reading the deadline alerts for a dashboard: each role sees the alerts meant for it that still stand."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Assignment, Complaint, DeadlineAlert, User
from models.user import AGENCY_ADMIN, SUPER_ADMIN, VIEWER

# Which alerts each role's dashboard shows.
AUDIENCES = {SUPER_ADMIN: ("super-admin", "viewer"), AGENCY_ADMIN: ("agency-admin", "super-admin"),
             VIEWER: ("viewer",)}
KIND_NAMES = {"reminder": "Pengingat", "overdue": "Lewat batas", "escalated": "Eskalasi"}
STAGE_NAMES = {"acknowledge": "diterima", "respond": "ditanggapi", "resolve": "diselesaikan"}


@dataclass(frozen=True)
class ShownAlert:
    """One alert as a dashboard lists it."""

    kind: str
    kind_name: str
    stage_name: str
    agency_code: str
    ticket_code: str
    due_at: datetime
    created_at: datetime


def alerts_for(session: Session, user: User, limit: int = 50) -> list[ShownAlert]:
    """Alerts for this user's role whose stage is still unmet and whose complaint is still with that agency."""
    query = (select(DeadlineAlert, Complaint.ticket_code, Assignment)
             .join(Assignment, Assignment.id == DeadlineAlert.assignment_id)
             .join(Complaint, Complaint.id == DeadlineAlert.complaint_id)
             .where(DeadlineAlert.audience.in_(AUDIENCES.get(user.role, ())), Assignment.ended_at.is_(None))
             .order_by(DeadlineAlert.due_at, DeadlineAlert.id))
    if user.role == AGENCY_ADMIN:
        query = query.where(DeadlineAlert.agency_code == user.agency_code)
    shown = []
    for alert, code, assignment in session.execute(query.limit(limit * 3)):
        if assignment.met(alert.stage) is not None:
            continue
        shown.append(ShownAlert(kind=alert.kind, kind_name=KIND_NAMES[alert.kind], stage_name=STAGE_NAMES[alert.stage],
                                agency_code=alert.agency_code, ticket_code=code, due_at=alert.due_at,
                                created_at=alert.created_at))
    return shown[:limit]
