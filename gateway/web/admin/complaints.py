"""Agencies' work queues and one complaint's page: its text, photos, the citizen's messages, history, actions.

Agency admins see their agency's complaints only (another agency's ticket is "not found"); the super-admin
sees and may act on all; viewers see all, read-only, with phones and e-mails masked.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, send_from_directory, url_for
from flask_login import current_user
from sqlalchemy import case, select

from channels.kelurahan import kelurahan_by_key
from gateway.complaints.actions import AGENCY_STEPS, ActionError, advance, assign, bounce, merge, reject
from gateway.complaints.deadlines import OPEN_STATUSES, current_assignment, sync_assignment, sync_unclocked
from gateway.complaints.replies import MAX_SEGMENTS, PART_GSM7, render, status_text
from gateway.complaints.status import enqueue_sends
from gateway.settings.deadlines import STAGES, policy
from gateway.settings.sections import REJECT_REASONS
from gateway.web.admin.blueprint import bp
from gateway.web.admin.scope import (
    STAFF,
    WORKERS,
    attachment_or_404,
    complaint_or_404,
    may_see,
    require_role,
    scoped,
)
from gateway.web.auth import db, roles_required
from models import Agency, Assignment, Attachment, Complaint, InboundMessage, Outbox, StatusEvent, utcnow
from models.complaint import NEW, RESOLVED
from models.tickets import format_ticket_code, parse_ticket_code
from models.user import AGENCY_ADMIN, SUPER_ADMIN

PAGE = 100
AGES = {"1": 1, "3": 3, "7": 7, "30": 30}
STATUS_FILTERS = ("open", *OPEN_STATUSES, RESOLVED, "overdue")


def _next_due() -> Any:
    """The deadline a clock is racing now: the first unmet stage's."""
    return case((Assignment.acknowledged_at.is_(None), Assignment.acknowledge_due),
                (Assignment.responded_at.is_(None), Assignment.respond_due), else_=Assignment.resolve_due)


@bp.get("/queue")
@roles_required(*STAFF)
def work_queue() -> Any:
    """Complaints in agencies' hands, sorted by their next deadline, with filters."""
    session, runtime = db(), current_app.extensions["sambat"]
    agency = current_user.agency_code if current_user.role == AGENCY_ADMIN else (request.args.get("agency") or None)
    if sync_unclocked(session, policy(runtime.settings), agency_code=agency):
        session.commit()
    status = request.args.get("status") or "open"
    status = status if status in STATUS_FILTERS else "open"
    due = _next_due().label("due")
    query = scoped(select(Complaint, Assignment, due)
                   .outerjoin(Assignment, (Assignment.complaint_id == Complaint.id) & Assignment.ended_at.is_(None))
                   .where(Complaint.agency_code.is_not(None)))
    if agency:
        query = query.where(Complaint.agency_code == agency)
    if status == "open":
        query = query.where(Complaint.status.in_(OPEN_STATUSES))
    elif status == "overdue":
        query = query.where(Complaint.status.in_(OPEN_STATUSES), _next_due() < utcnow())
    else:
        query = query.where(Complaint.status == status)
    # "Channel" as people mean it: SMS, WhatsApp, the web form, the app, e-mail (the medium, not the provider).
    for field, column in (("channel", Complaint.medium), ("kelurahan", Complaint.kelurahan)):
        if request.args.get(field):
            query = query.where(column == request.args[field])
    age = AGES.get(request.args.get("age", ""))
    if age:
        query = query.where(Complaint.created_at <= utcnow() - timedelta(days=age))
    page = max(request.args.get("page", type=int) or 1, 1)
    order = [Complaint.updated_at.desc()] if status == RESOLVED else [due.is_(None), due, Complaint.created_at]
    rows = session.execute(query.order_by(*order).offset((page - 1) * PAGE).limit(PAGE + 1)).all()
    channels = sorted(session.scalars(scoped(select(Complaint.medium).distinct())))
    kelurahan = sorted(filter(None, session.scalars(scoped(select(Complaint.kelurahan).distinct()))))
    agencies = {a.code: a.name for a in session.scalars(select(Agency).where(Agency.active).order_by(Agency.code))}
    return render_template("admin/queue.html", rows=rows[:PAGE], more=len(rows) > PAGE, page=page, status=status,
                           statuses=STATUS_FILTERS, channels=channels, kelurahan=kelurahan, agencies=agencies,
                           agency=agency, args=request.args, ages=AGES, label=_kelurahan_label)


def _kelurahan_label(key: str | None) -> str:
    place = kelurahan_by_key(key) if key else None
    return place.label if place else (key or "")


@bp.get("/complaints/<code>")
@roles_required(*STAFF)
def complaint_page(code: str) -> Any:
    """One complaint: text, photos, the citizen's messages, earlier complaints, history, deadlines, actions."""
    session = db()
    complaint = complaint_or_404(code)
    if complaint.ticket_code != code:
        return redirect(url_for("admin.complaint_page", code=complaint.ticket_code))
    messages = list(session.scalars(select(InboundMessage).where(InboundMessage.complaint_id == complaint.id)
                                    .order_by(InboundMessage.id)))
    earlier = [c for c in session.scalars(scoped(select(Complaint).where(
        Complaint.contact_id == complaint.contact_id, Complaint.id != complaint.id)).order_by(Complaint.id.desc())
        .limit(20)) if may_see(c)] if complaint.contact_id else []
    events = list(session.scalars(select(StatusEvent).where(StatusEvent.complaint_id == complaint.id)
                                  .order_by(StatusEvent.id)))
    sent = list(session.scalars(select(Outbox).where(Outbox.complaint_id == complaint.id,
                                                     Outbox.contact_id.is_not(None)).order_by(Outbox.id)))
    photos = list(session.scalars(select(Attachment).where(Attachment.complaint_id == complaint.id)
                                  .order_by(Attachment.id)))
    if sync_assignment(session, policy(current_app.extensions["sambat"].settings), complaint) is not None:
        session.commit()  # routed by the worker a moment ago: its clock starts now, from the routing event
    clock = current_assignment(session, complaint.id)
    agencies = {a.code: a.name for a in session.scalars(select(Agency).where(Agency.active).order_by(Agency.code))}
    may_act = current_user.role == SUPER_ADMIN or (current_user.role == AGENCY_ADMIN and complaint.agency_code)
    return render_template(
        "admin/complaint.html", complaint=complaint, messages=messages, earlier=earlier, events=events, sent=sent,
        photos=photos, clock=clock, stages=STAGES, agencies=agencies, may_act=may_act, steps=AGENCY_STEPS,
        reasons=REJECT_REASONS, kelurahan=_kelurahan_label(complaint.kelurahan), new=NEW, now=utcnow(),
        sms_frame=_sms_frame(complaint), sms_room=MAX_SEGMENTS * PART_GSM7 - len(_sms_frame(complaint)),
        referrals=current_app.extensions["sambat"].settings.admin.referrals,
    )


def _sms_frame(complaint: Complaint) -> str:
    """The citizen's SMS around a "resolved" answer: "Tiket 1234 5678: Selesai. " (the console's counter adds the
    answer to it and shows how many SMS segments the whole costs, static/sms-counter.js)."""
    settings = current_app.extensions["sambat"].settings
    language = complaint.contact.language if complaint.contact else settings.default_language
    status = status_text(settings.statuses, language, RESOLVED)
    frame = render(settings.templates, language, "status_update", code=format_ticket_code(complaint.ticket_code),
                   digits=complaint.ticket_code, status=status, agency=complaint.agency_code or "-", note="")
    return frame.rstrip() + " "


@bp.get("/complaints/<code>/photos/<int:attachment_id>")
@roles_required(*STAFF)
def complaint_photo(code: str, attachment_id: int) -> Any:
    """A photo of a complaint the user may see."""
    attachment = attachment_or_404(complaint_or_404(code), attachment_id)
    media = Path(current_app.extensions["sambat"].settings.intake.media_dir).resolve()
    return send_from_directory(media, attachment.path, mimetype=attachment.content_type, max_age=0)


@bp.post("/complaints/<code>/status")
@roles_required(*STAFF)
def complaint_status(code: str) -> Any:
    """An agency's step: acknowledge, in progress, or resolve with a public answer."""
    complaint = complaint_or_404(code)
    require_role(*WORKERS)
    return _act(complaint, lambda s, r: advance(s, r, current_user, complaint, request.form.get("to", ""),
                                                request.form.get("note")))


@bp.post("/complaints/<code>/bounce")
@roles_required(*STAFF)
def complaint_bounce(code: str) -> Any:
    """"Bukan wewenang": back to the super-admin's review queue with a reason."""
    complaint = complaint_or_404(code)
    require_role(*WORKERS)
    if complaint.agency_code is None:
        abort(404, description="Aduan tidak ditemukan.")
    return _act(complaint, lambda s, r: bounce(s, r, current_user, complaint, request.form.get("reason", "")),
                after=url_for("admin.work_queue") if current_user.role == AGENCY_ADMIN else None)


@bp.post("/complaints/<code>/assign")
@roles_required(*STAFF)
def complaint_assign(code: str) -> Any:
    """Send to an agency (from review, or from one agency to another)."""
    complaint = complaint_or_404(code)
    require_role(SUPER_ADMIN)
    return _act(complaint, lambda s, r: assign(s, r, current_user, complaint, request.form.get("agency", "")))


@bp.post("/complaints/<code>/reject")
@roles_required(*STAFF)
def complaint_reject(code: str) -> Any:
    """Not a complaint, or spam."""
    complaint = complaint_or_404(code)
    require_role(SUPER_ADMIN)
    return _act(complaint, lambda s, r: reject(s, r, current_user, complaint, request.form.get("reason", ""),
                                               body=request.form.get("body") or None))


@bp.post("/complaints/<code>/merge")
@roles_required(*STAFF)
def complaint_merge(code: str) -> Any:
    """Fold this complaint into another ticket."""
    complaint = complaint_or_404(code)
    require_role(SUPER_ADMIN)
    parsed = parse_ticket_code(request.form.get("kept", ""))
    kept = db().scalar(select(Complaint).where(Complaint.ticket_code == parsed.digits)) if parsed else None
    if kept is None or not parsed.valid:
        return _refuse(complaint, 400, "Tiket tujuan penggabungan tidak ditemukan; periksa nomornya.")
    return _act(complaint, lambda s, r: merge(s, r, current_user, complaint, kept))


def _act(complaint: Complaint, action: Any, after: str | None = None) -> Any:
    """Run an action, commit, hand the citizen's updates to the queue; a refused action changes nothing (409)."""
    session, runtime = db(), current_app.extensions["sambat"]
    try:
        outbox = action(session, runtime)
    except ActionError as error:
        session.rollback()
        return _refuse(complaint, 409, str(error))
    session.commit()
    enqueue_sends(runtime, outbox)
    flash("Tersimpan.")
    return redirect(after or url_for("admin.complaint_page", code=complaint.ticket_code))


def _refuse(complaint: Complaint, status: int, message: str) -> Any:
    back = url_for("admin.complaint_page", code=complaint.ticket_code)
    return render_template("admin/error.html", code=status, message=message, back=back), status

