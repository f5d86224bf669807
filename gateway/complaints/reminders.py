"""The scheduler's deadline work: remind agency admins before a deadline, escalate when one is missed.

Before each deadline (``deadlines.remind_before_hours``) the agency's admins get one e-mail. When a deadline
passes unmet, the super-admin's dashboard shows it and the super-admins get an e-mail; after
``deadlines.escalate_to_viewers_after_days`` more working days, so do the viewers (the mayor's office).

Each alert is a :class:`models.DeadlineAlert` row under a unique key such as ``remind:12:acknowledge``; its
e-mails are outbox rows written in the same transaction. Several schedulers may run this at once: the one
whose insert wins sends, the others hit the key and send nothing. No lock is relied on.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels.email import NAME as EMAIL
from gateway.complaints.deadlines import sync_unclocked
from gateway.complaints.outbox import add_message
from gateway.runtime import DEFAULT, Runtime, due
from gateway.settings.deadlines import STAGES, DeadlinePolicy, policy
from models import Assignment, Complaint, DeadlineAlert, User, utcnow
from models.tickets import format_ticket_code
from models.user import AGENCY_ADMIN, SUPER_ADMIN, VIEWER

log = logging.getLogger(__name__)

INTERVAL = 60.0  # seconds between deadline checks in one scheduler process
STAGE_NAMES = {"acknowledge": "diterima (acknowledge)", "respond": "ditanggapi (respond)",
               "resolve": "diselesaikan (resolve)"}
COUNTERS = {"reminder": "reminders", "overdue": "overdue", "escalated": "escalated"}


@dataclass
class DeadlineResult:
    """What one check did, for logs and tests."""

    clocked: int = 0
    reminders: int = 0
    overdue: int = 0
    escalated: int = 0
    emails: int = 0


def deadline_work(runtime: Runtime, interval: float = INTERVAL) -> DeadlineResult | None:
    """Called on every scheduler sweep: runs :func:`check_deadlines` at most once per ``interval`` seconds."""
    if not due("deadlines", runtime, interval):
        return None
    return check_deadlines(runtime)


def check_deadlines(runtime: Runtime, now: datetime | None = None) -> DeadlineResult:
    """Clock newly routed complaints, then write every reminder and escalation that is due, once."""
    now = now or utcnow()
    rules = policy(runtime.settings)
    result = DeadlineResult()
    with runtime.db.session() as session:
        result.clocked = sync_unclocked(session, rules)
        session.commit()
        rows = _due_rows(session, rules, now)
        existing = set(session.scalars(select(DeadlineAlert.key).where(
            DeadlineAlert.assignment_id.in_([row.id for row in rows]))))
        outbox: list[int] = []
        for row in rows:
            for key, kind, audience, stage in _alerts_due(rules, row, now):
                if key in existing:
                    continue
                written = _write_alert(session, runtime, row, key, kind, audience, stage)
                if written is None:
                    continue
                setattr(result, COUNTERS[kind], getattr(result, COUNTERS[kind]) + 1)
                outbox.extend(written)
        result.emails = len(outbox)
    for outbox_id in outbox:  # after the commits: the e-mails go behind citizens' replies
        runtime.send_soon(outbox_id, priority=DEFAULT)
    if result.reminders or result.overdue or result.escalated:
        log.info("deadlines: %s reminders, %s overdue, %s escalated to viewers, %s e-mails",
                 result.reminders, result.overdue, result.escalated, result.emails)
    return result


def _due_rows(session: Session, rules: DeadlinePolicy, now: datetime) -> list[Assignment]:
    """Open clocks with a stage unmet whose reminder time has come."""
    soon = now + timedelta(hours=rules.remind_before_hours)
    pending = or_(
        and_(Assignment.acknowledged_at.is_(None), Assignment.acknowledge_due <= soon),
        and_(Assignment.responded_at.is_(None), Assignment.respond_due <= soon),
        and_(Assignment.resolved_at.is_(None), Assignment.resolve_due <= soon),
    )
    return list(session.scalars(select(Assignment).where(Assignment.ended_at.is_(None), pending)
                                .order_by(Assignment.id).limit(1000)))


def _alerts_due(rules: DeadlinePolicy, row: Assignment, now: datetime) -> list[tuple[str, str, str, str]]:
    """(key, kind, audience, stage) of every alert this clock owes now."""
    owed = []
    for stage in STAGES:
        if row.met(stage) is not None:
            continue
        due = row.due(stage)
        if due - timedelta(hours=rules.remind_before_hours) <= now < due:
            owed.append((f"remind:{row.id}:{stage}", "reminder", AGENCY_ADMIN, stage))
        if now >= due:
            owed.append((f"overdue:{row.id}:{stage}", "overdue", SUPER_ADMIN, stage))
            if now >= rules.calendar().add_working_days(due, rules.escalate_to_viewers_after_days):
                owed.append((f"escalate:{row.id}:{stage}", "escalated", VIEWER, stage))
    return owed


def _write_alert(session: Session, runtime: Runtime, row: Assignment, key: str, kind: str, audience: str,
                 stage: str) -> list[int] | None:
    """Insert the alert under its key and its e-mails, in one commit; None when another process won."""
    alert = DeadlineAlert(key=key, kind=kind, audience=audience, stage=stage, assignment_id=row.id,
                          complaint_id=row.complaint_id, agency_code=row.agency_code, due_at=row.due(stage))
    session.add(alert)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return None
    complaint = session.get(Complaint, row.complaint_id)
    query = select(User).where(User.active, User.role == audience)
    if audience == AGENCY_ADMIN:
        query = query.where(User.agency_code == row.agency_code)
    subject, body = _email(runtime, complaint, row, kind, stage)
    rows = [add_message(session, dedupe_key=f"alert:{alert.id}:{user.id}", kind=f"deadline_{kind}", channel=EMAIL,
                        medium="email", recipient=user.email, sender=runtime.settings.mail.sender, body=body,
                        subject=subject, complaint_id=complaint.id)
            for user in session.scalars(query.order_by(User.id))]
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return [row.id for row in rows]


def _email(runtime: Runtime, complaint: Complaint, row: Assignment, kind: str, stage: str) -> tuple[str, str]:
    """Subject and text of a reminder or escalation e-mail (Indonesian, like the console)."""
    from zoneinfo import ZoneInfo

    code = format_ticket_code(complaint.ticket_code)
    due = row.due(stage).astimezone(ZoneInfo(runtime.settings.timezone)).strftime("%d-%m-%Y %H:%M")
    link = f"{(runtime.settings.public_url or '').rstrip('/')}/admin/complaints/{complaint.ticket_code}"
    stage_name = STAGE_NAMES[stage]
    if kind == "reminder":
        subject = f"[Sambat] Pengingat: tiket {code} harus {stage_name.split(' ')[0]} sebelum {due}"
        opening = f"Batas waktu tiket {code} ({row.agency_code}) untuk {stage_name} jatuh pada {due}."
    elif kind == "overdue":
        subject = f"[Sambat] Lewat batas waktu: tiket {code} ({row.agency_code})"
        opening = f"Tiket {code} belum {stage_name} oleh {row.agency_code}; batas waktunya {due}."
    else:
        subject = f"[Sambat] Eskalasi: tiket {code} ({row.agency_code}) masih terlambat"
        opening = f"Tiket {code} belum {stage_name} oleh {row.agency_code} sejak {due}, dan masih terlambat."
    body = f"{opening}\n\nIsi aduan:\n{complaint.text[:500]}\n\nBuka: {link}\n\n-- Sambat {runtime.settings.city}"
    return subject, body
