"""Writing the audit log: every change made in the console, with who, what, when, before and after."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from sqlalchemy.orm import Session

from models import AuditEntry, Complaint, User
from models.tickets import format_ticket_code


def record(session: Session, actor: User | str, action: str, object_type: str | None = None,
           object_id: str | None = None, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None) -> AuditEntry:
    """Add one audit entry in the caller's transaction (so it commits, or rolls back, with the change).

    Args:
        actor: the user who acted, or a name such as ``cli`` or an e-mail for a failed login.
        action: what was done, e.g. ``complaint.assign``.
        object_type: ``complaint``, ``user`` ...
        object_id: the ticket code, the user's e-mail ...
        before: the fields the action changed, as they were.
        after: the same fields afterwards.
    """
    user = actor if isinstance(actor, User) else None
    entry = AuditEntry(
        actor=user.email if user else str(actor), user_id=user.id if user else None, action=action,
        object_type=object_type, object_id=object_id, before=before, after=after,
        remote_addr=(request.remote_addr if has_request_context() else None),
    )
    session.add(entry)
    return entry


def complaint_state(complaint: Complaint) -> dict[str, Any]:
    """The fields of a complaint that console actions change."""
    return {"status": complaint.status, "agency": complaint.agency_code}


def user_state(user: User) -> dict[str, Any]:
    """The fields of a user that the console changes (never the password hash)."""
    return {"email": user.email, "role": user.role, "agency": user.agency_code, "active": user.active,
            "name": user.name}


def ticket(complaint: Complaint) -> str:
    """A complaint as the audit log names it: its printed ticket code."""
    return format_ticket_code(complaint.ticket_code)
