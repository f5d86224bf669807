"""The super-admin's review queue: unrouted and bounced complaints, oldest first, assigned with one click.

One form holds the whole queue: a row's candidate buttons assign that complaint at once; the checkboxes and
the bar below act on many at once (assign, not a complaint, spam, merge into a ticket).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway.complaints.actions import ActionError, assign, last_bounce, merge, reject
from gateway.complaints.status import enqueue_sends
from gateway.settings.sections import REJECT_REASONS
from gateway.web.admin.blueprint import bp
from gateway.web.admin.scope import STAFF, complaints_by_ids, require_role
from gateway.web.auth import db, roles_required
from models import Agency, Complaint, StatusEvent, utcnow
from models.complaint import NEW
from models.tickets import parse_ticket_code
from models.user import SUPER_ADMIN

PAGE = 200


@dataclass(frozen=True)
class DayCount:
    """How the review queue moved on one day."""

    day: date
    came_in: int
    went_out: int


def queue_counters(session: Session, days: int = 7, now: datetime | None = None) -> dict[str, Any]:
    """The queue's size now, its oldest complaint, and per day how many came in and went out."""
    now = now or utcnow()
    zone = ZoneInfo(current_app.extensions["sambat"].settings.timezone)
    since = (now.astimezone(zone) - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    events = session.execute(select(StatusEvent.created_at, StatusEvent.from_status, StatusEvent.to_status).where(
        StatusEvent.created_at >= since, StatusEvent.kind.in_(("status", "bounce"))))
    came_in: dict[date, int] = {}
    went_out: dict[date, int] = {}
    for created_at, from_status, to_status in events:
        day = created_at.astimezone(zone).date()
        if to_status == NEW and from_status != NEW:
            came_in[day] = came_in.get(day, 0) + 1
        elif from_status == NEW and to_status != NEW:
            went_out[day] = went_out.get(day, 0) + 1
    first = since.date()
    per_day = [DayCount(first + timedelta(days=n), came_in.get(first + timedelta(days=n), 0),
                        went_out.get(first + timedelta(days=n), 0)) for n in range(days)]
    size, oldest = session.execute(select(func.count(Complaint.id), func.min(Complaint.created_at))
                                   .where(Complaint.status == NEW)).one()
    bounced = session.scalar(select(func.count(func.distinct(StatusEvent.complaint_id)))
                             .join(Complaint, Complaint.id == StatusEvent.complaint_id)
                             .where(Complaint.status == NEW, StatusEvent.kind == "bounce")) or 0
    return {"size": size, "oldest": oldest, "bounced": bounced, "per_day": per_day}


def _candidates(complaint: Complaint, agencies: dict[str, str]) -> list[dict[str, Any]]:
    """The router's candidates (best first), then the category's agency if the router did not name it."""
    routing = complaint.routing or {}
    found = [{"agency": c.get("agency"), "score": c.get("score"), "matched": c.get("matched") or []}
             for c in routing.get("candidates") or [] if c.get("agency") in agencies]
    similar = [s for s in routing.get("similar") or [] if isinstance(s, dict)]
    for candidate in found:  # up to three similar past complaints (the learned model's) beside each candidate
        candidate["similar"] = [s for s in similar if s.get("agency") == candidate["agency"]][:3]
    category = current_app.extensions["sambat"].settings.intake.category(complaint.category or "")
    if category and category.agency in agencies and all(c["agency"] != category.agency for c in found):
        found.append({"agency": category.agency, "score": None, "matched": [f"kategori: {category.name()}"],
                      "similar": []})
    return found


@bp.get("/review")
@roles_required(SUPER_ADMIN)
def review_queue() -> Any:
    """Unrouted complaints, oldest first, with the router's candidates and any agency's reason for a bounce."""
    session = db()
    agencies = {a.code: a.name for a in session.scalars(select(Agency).where(Agency.active).order_by(Agency.code))}
    complaints = list(session.scalars(select(Complaint).where(Complaint.status == NEW)
                                      .order_by(Complaint.created_at, Complaint.id).limit(PAGE)))
    rows = [{"complaint": c, "candidates": _candidates(c, agencies), "bounce": last_bounce(session, c),
             "routing": c.routing or {}} for c in complaints]
    return render_template("admin/review.html", rows=rows, agencies=agencies, counters=queue_counters(session),
                           reasons=REJECT_REASONS)


@bp.post("/review")
@roles_required(*STAFF)
def review_action() -> Any:
    """One click on a row (``one=<id>|<agency>``) or the bar's action on the ticked complaints."""
    session, runtime = db(), current_app.extensions["sambat"]
    one = request.form.get("one", "")
    if one:
        complaint_id, _, agency = one.partition("|")
        ids, action = [complaint_id], "assign"
    else:
        ids, action, agency = request.form.getlist("ids"), request.form.get("action", ""), request.form.get("agency")
    try:
        id_numbers = [int(value) for value in ids]
    except ValueError:
        require_role(SUPER_ADMIN)
        return _back(400, "Pilihan aduan tidak sah.")
    if current_user.role != SUPER_ADMIN and len(complaints_by_ids(id_numbers)) < len(set(id_numbers)):
        abort(404, description="Aduan tidak ditemukan.")  # another agency's complaint, asked for by id
    require_role(SUPER_ADMIN)
    if not id_numbers:
        return _back(400, "Centang dulu aduan yang akan diproses.")
    complaints = list(session.scalars(select(Complaint).where(Complaint.id.in_(id_numbers)).order_by(Complaint.id)))
    if len(complaints) != len(set(id_numbers)):
        return _back(404, "Sebagian aduan yang dipilih tidak ditemukan.")
    kept = None
    if action == "merge":
        parsed = parse_ticket_code(request.form.get("kept", ""))
        kept = session.scalar(select(Complaint).where(Complaint.ticket_code == parsed.digits)) if parsed else None
        if kept is None or not parsed.valid:
            return _back(400, "Tiket tujuan penggabungan tidak ditemukan; periksa nomornya.")
    outbox = []
    try:
        for complaint in complaints:
            if action == "assign":
                outbox += assign(session, runtime, current_user, complaint, agency or "")
            elif action.startswith("reject:"):
                outbox += reject(session, runtime, current_user, complaint, action.removeprefix("reject:"))
            elif action == "merge":
                outbox += merge(session, runtime, current_user, complaint, kept)
            else:
                return _back(400, f"Tindakan {action!r} tidak dikenal.")
    except ActionError as error:
        session.rollback()
        return _back(409, str(error))
    session.commit()
    enqueue_sends(runtime, outbox)
    flash(f"{len(complaints)} aduan diproses.")
    return redirect(url_for("admin.review_queue"))


def _back(status: int, message: str) -> Any:
    """Say what was wrong, with the right status code and a way back; nothing was changed."""
    return render_template("admin/error.html", code=status, message=message, back=url_for("admin.review_queue")), status
