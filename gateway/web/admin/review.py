"""The super-admin's review queue: unrouted and bounced complaints, oldest first, assigned with one click.

One form holds a page of the queue (``PAGE`` complaints; ``?page=`` goes further): a row's candidate buttons
assign that complaint at once; the checkboxes and the bar below act on many at once (assign, not a complaint,
spam, merge into a ticket). Filters narrow it by channel, kelurahan, age, the router's first candidate and a
text search. After an action the page names each ticket and where it went, with an undo for
``admin.undo_minutes``. ``static/review.js`` adds select-all, "select all with the same first candidate" and
the keyboard (j/k, 1-9); everything else works without it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from channels.kelurahan import kelurahan_by_key
from gateway.complaints.actions import ActionError, assign, last_bounce, merge, reject, undo, undo_refusal
from gateway.complaints.intake import NO_USER
from gateway.complaints.routing import staffed_agencies
from gateway.complaints.status import enqueue_sends
from gateway.settings.sections import REJECT_REASONS
from gateway.web.admin.blueprint import bp
from gateway.web.admin.scope import STAFF, complaints_by_ids, require_role
from gateway.web.auth import db, roles_required
from models import Agency, Complaint, StatusEvent, utcnow
from models.complaint import NEW
from models.tickets import format_ticket_code, parse_ticket_code
from models.user import SUPER_ADMIN

PAGE = 200
AGES = {"1": 1, "3": 3, "7": 7, "30": 30}
FILTERS = ("channel", "kelurahan", "age", "candidate", "q")
MAX_DONE = 500  # event ids a confirmation names (a page is 200)


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
        StatusEvent.created_at >= since, StatusEvent.kind.in_(("status", "bounce", "undo"))))
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


def _candidates(complaint: Complaint, agencies: dict[str, str], staffed: set[str]) -> list[dict[str, Any]]:
    """The router's candidates (best first), then the category's agency if the router did not name it; each
    marked ``unstaffed`` when its agency has no active console user."""
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
    for candidate in found:
        candidate["unstaffed"] = candidate["agency"] not in staffed
    return found


def review_reason(routing: dict[str, Any]) -> str | None:
    """Why the router did not assign it itself, when the reason is about the agency (not the evidence)."""
    agency, reason = routing.get("agency"), routing.get("review_reason")
    if reason == NO_USER and agency:
        return f"Tidak diteruskan otomatis ke {agency}: dinas ini belum punya pengguna konsol aktif."
    if reason == "inactive" and agency:
        return f"Tidak diteruskan otomatis ke {agency}: dinas ini nonaktif."
    return None


def _filters() -> dict[str, str]:
    """The queue's filters as given (only known ones, trimmed)."""
    return {name: request.args.get(name, "").strip()[:200] for name in FILTERS if request.args.get(name, "").strip()}


def _first_candidate() -> Any:
    """The router's first candidate of a complaint, as a string column (PostgreSQL and SQLite alike)."""
    return Complaint.routing[("candidates", 0, "agency")].as_string()


def _filtered(query: Select[Any], filters: dict[str, str]) -> Select[Any]:
    query = query.where(Complaint.status == NEW)
    if filters.get("channel"):
        query = query.where(Complaint.medium == filters["channel"])
    if filters.get("kelurahan"):
        query = query.where(Complaint.kelurahan == filters["kelurahan"])
    age = AGES.get(filters.get("age", ""))
    if age:
        query = query.where(Complaint.created_at <= utcnow() - timedelta(days=age))
    if filters.get("candidate") == "-":
        query = query.where(_first_candidate().is_(None))
    elif filters.get("candidate"):
        query = query.where(_first_candidate() == filters["candidate"])
    if filters.get("q"):
        words = filters["q"]
        pattern = "%" + words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        matches = [Complaint.text.ilike(pattern, escape="\\"), Complaint.address.ilike(pattern, escape="\\")]
        parsed = parse_ticket_code(words)
        if parsed is not None:
            matches.append(Complaint.ticket_code == parsed.digits)
        query = query.where(or_(*matches))
    return query


def _done(session: Session, given: str) -> list[dict[str, Any]]:
    """The confirmation after an action: each ticket, where it went, and whether it can still be undone."""
    ids = [int(part) for part in given.split(",")[:MAX_DONE] if part.isdigit()]
    if not ids:
        return []
    minutes = current_app.extensions["sambat"].settings.admin.undo_minutes
    events = session.scalars(select(StatusEvent).where(StatusEvent.id.in_(ids), StatusEvent.actor == current_user.email)
                             .order_by(StatusEvent.id))
    done = []
    for event in events:
        refusal = undo_refusal(session, current_user, event, minutes) if minutes else "off"
        done.append({"event": event, "ticket": event.complaint.ticket_code, "where": _where(event),
                     "undoable": refusal is None})
    return done


def _where(event: StatusEvent) -> str:
    if event.to_status == "assigned":
        return f"diteruskan ke {event.agency_code}"
    if event.to_status == "merged":
        return "digabung" + (f" ({event.note.split(';')[0].removeprefix('Digabung dengan ')})" if event.note else "")
    if event.to_status == "rejected":
        # A silent rejection keeps its reason as the note (CEK gives it); a rejection with a reply keeps the reply.
        silent = not event.note or event.note in REJECT_REASONS.values()
        return "ditolak" + (" (tanpa balasan)" if silent else " (dibalas)")
    return event.to_status


def _page(status: int = 200, error: str | None = None, checked: set[int] | None = None,
          chosen_agency: str = "") -> Any:
    session = db()
    filters = _filters()
    page = max(request.args.get("page", type=int) or 1, 1)
    agencies = {a.code: a.name for a in session.scalars(select(Agency).where(Agency.active).order_by(Agency.code))}
    staffed = staffed_agencies(session)
    total = session.scalar(_filtered(select(func.count(Complaint.id)), filters)) or 0
    complaints = list(session.scalars(_filtered(select(Complaint), filters).order_by(Complaint.created_at, Complaint.id)
                                      .offset((page - 1) * PAGE).limit(PAGE)))
    rows = []
    for complaint in complaints:
        candidates = _candidates(complaint, agencies, staffed)
        rows.append({"complaint": complaint, "candidates": candidates, "bounce": last_bounce(session, complaint),
                     "routing": complaint.routing or {}, "reason": review_reason(complaint.routing or {}),
                     "first": candidates[0]["agency"] if candidates else "",
                     "kelurahan": _kelurahan_label(complaint.kelurahan)})
    waiting = select(Complaint).where(Complaint.status == NEW)
    channels = sorted(filter(None, session.scalars(waiting.with_only_columns(Complaint.medium).distinct())))
    places = sorted(filter(None, session.scalars(waiting.with_only_columns(Complaint.kelurahan).distinct())))
    pages = max((total + PAGE - 1) // PAGE, 1)
    done = _done(session, request.args.get("done", ""))
    minutes = current_app.extensions["sambat"].settings.admin.undo_minutes
    return render_template(
        "admin/review.html", rows=rows, agencies=agencies, counters=queue_counters(session), reasons=REJECT_REASONS,
        filters=filters, page=page, pages=pages, total=total, first_row=(page - 1) * PAGE + 1, ages=AGES,
        channels=channels, places=[(key, _kelurahan_label(key)) for key in places], unstaffed=set(agencies) - staffed,
        done=done, undoable=[d for d in done if d["undoable"]], undo_minutes=minutes, error=error,
        checked=checked or set(), chosen_agency=chosen_agency,
    ), status


def _kelurahan_label(key: str | None) -> str:
    place = kelurahan_by_key(key) if key else None
    return place.label if place else (key or "")


@bp.get("/review")
@roles_required(SUPER_ADMIN)
def review_queue() -> Any:
    """Unrouted complaints, oldest first, with the router's candidates and any agency's reason for a bounce."""
    return _page()


def _return_to(**extra: str) -> str:
    """The queue as it was (its filters and page: the form posts to the same query), plus ``extra``."""
    kept = {name: value for name, value in _filters().items()}
    if request.args.get("page", type=int):
        kept["page"] = str(request.args.get("page", type=int))
    return url_for("admin.review_queue", **kept, **extra)


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
        return _again(400, "Centang dulu aduan yang akan diproses.", id_numbers, agency or "")
    if action == "assign" and not agency:
        return _again(400, "Pilih dinas tujuan untuk aduan yang dicentang, lalu tekan Teruskan lagi.", id_numbers, "")
    complaints = list(session.scalars(select(Complaint).where(Complaint.id.in_(id_numbers)).order_by(Complaint.id)))
    if len(complaints) != len(set(id_numbers)):
        return _back(404, "Sebagian aduan yang dipilih tidak ditemukan.")
    kept = None
    if action == "merge":
        parsed = parse_ticket_code(request.form.get("kept", ""))
        kept = session.scalar(select(Complaint).where(Complaint.ticket_code == parsed.digits)) if parsed else None
        if kept is None or not parsed.valid:
            return _again(400, "Tiket tujuan penggabungan tidak ditemukan; periksa nomornya.", id_numbers, agency or "")
    outbox, events = [], []
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
            events.append(session.scalar(select(StatusEvent.id).where(StatusEvent.complaint_id == complaint.id)
                                         .order_by(StatusEvent.id.desc()).limit(1)))
    except ActionError as error:
        session.rollback()
        return _back(409, str(error))
    session.commit()
    enqueue_sends(runtime, outbox)
    return redirect(_return_to(done=",".join(str(event_id) for event_id in events)) + "#done")


@bp.post("/review/undo")
@roles_required(SUPER_ADMIN)
def review_undo() -> Any:
    """Take back the moves of the confirmation (``events``): those complaints wait in review again."""
    session, runtime = db(), current_app.extensions["sambat"]
    minutes = runtime.settings.admin.undo_minutes
    try:
        ids = [int(value) for value in request.form.getlist("events")]
    except ValueError:
        return _back(400, "Pilihan tindakan yang dibatalkan tidak sah.")
    if not ids or not minutes:
        return _back(400, "Tidak ada tindakan yang bisa dibatalkan.")
    undone, refused = [], []
    for event in session.scalars(select(StatusEvent).where(StatusEvent.id.in_(ids)).order_by(StatusEvent.id)):
        code = format_ticket_code(event.complaint.ticket_code)
        try:
            with session.begin_nested():
                undo(session, runtime, current_user, event, minutes)
            undone.append(code)
        except ActionError as error:
            refused.append(str(error))
    session.commit()
    if undone:
        flash("Dibatalkan, kembali ke antrean tinjauan: " + ", ".join(f"Tiket {code}" for code in undone) + ".")
    for message in refused:
        flash(message, "error")
    return redirect(_return_to())


def _again(status: int, message: str, ids: list[int], agency: str) -> Any:
    """The queue again with the ticks kept and what is missing said above the bar; nothing was changed."""
    return _page(status, message, set(ids), agency)


def _back(status: int, message: str) -> Any:
    """Say what was wrong, with the right status code and a way back; nothing was changed."""
    return render_template("admin/error.html", code=status, message=message, back=url_for("admin.review_queue")), status
