"""GET|POST /aduan: the form, its errors next to each field (typed text kept), and the ticket on success."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import current_app, redirect, render_template, request, session, url_for
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import RequestEntityTooLarge, TooManyRequests

from channels.kelurahan import by_kecamatan
from channels.photos import Upload
from channels.web import FieldErrors, check_fields, surface_message
from gateway.complaints.intake import IdempotencyConflict, file_submission
from gateway.complaints.public import find_complaint, public_ticket
from gateway.runtime import Runtime
from gateway.web.form.blueprint import bp
from gateway.web.form.forms import FIELD_NAMES, ComplaintForm
from gateway.web.form.texts import current_language, error_text, texts
from gateway.web.limiter import form_limit, limiter
from gateway.web.security import BadInput
from models.tickets import format_ticket_code

log = logging.getLogger(__name__)


def _runtime() -> Runtime:
    return current_app.extensions["sambat"]


def upload_limit(settings: Any) -> int:
    """The largest request body the form and the API take: every photo at its largest, and 1 MB of text."""
    return int(settings.intake.max_photos * settings.intake.max_photo_mb * 1024 * 1024) + 1024 * 1024


def page_values(language: str) -> dict[str, Any]:
    """What every public page template needs: texts, language, city, photo limits."""
    settings = _runtime().settings
    words = texts(language)
    limits = {"max_photos": settings.intake.max_photos, "max_mb": f"{settings.intake.max_photo_mb:g}"}
    number = settings.public.sms_number

    def check_sms(digits: str) -> str:
        """"Atau kirim SMS ke <the city's number>: CEK <code>" (without the number when none is configured)."""
        return words["check_sms_to"].format(number=number, digits=digits) if number \
            else words["check_sms"].format(digits=digits)

    return {"t": words, "lang": language, "city": settings.city, "limits": limits,
            "photos_label": words["photos"].format(**limits), "sms_number": number, "check_sms": check_sms,
            "privacy_summary": settings.public.privacy_text(language, "summary")}


@bp.before_request
def _allow_photos() -> None:
    request.max_content_length = upload_limit(_runtime().settings)


@bp.route("/aduan", methods=["GET", "POST"])
@limiter.limit(form_limit, methods=["POST"], key_func=get_remote_address)
def complaint_form() -> Any:
    """Show the form; on POST check it, file the complaint and go to the ticket."""
    runtime = _runtime()
    language = current_language(runtime.settings.default_language)
    form = ComplaintForm()
    form.ensure_submission_id()
    if request.method == "GET":
        return _render(form, language)
    uploads = [Upload(file.filename or "photo", file.read()) for file in request.files.getlist("photos") if file]
    if (form.website.data or "").strip():
        log.info("form: honeypot filled from %s", get_remote_address())
        return _render(form, language, general="bot", had_photos=bool(uploads)), 400
    if not form.validate():
        return _render(form, language, general="csrf", had_photos=bool(uploads)), 400
    settings = runtime.settings
    try:
        submission = check_fields(
            {**form.values(), "language": language}, uploads, region=settings.phone_region,
            max_photos=settings.intake.max_photos, max_photo_bytes=int(settings.intake.max_photo_mb * 1024 * 1024),
            categories={category.code: category for category in settings.categories},
        )
    except FieldErrors as errors:
        return _render(form, language, field_errors=errors.fields, had_photos=bool(uploads)), 422
    raw = {"client": get_remote_address(), "user_agent": request.user_agent.string[:200]}
    message = surface_message(submission, "form", form.submission_id.data, raw)
    try:
        filed = file_submission(runtime, submission, message)
    except IdempotencyConflict:
        # The same form sent again with changes (back button, edit, send): a new complaint.
        filed = file_submission(runtime, submission, surface_message(submission, "form", uuid.uuid4().hex, raw))
    session["filed"] = {"code": filed.ticket_code, "confirmation": filed.confirmation,
                        "email_only": bool(submission.email and not submission.phone)}
    return redirect(url_for("form.done"), code=303)


@bp.get("/aduan/terkirim")
def done() -> Any:
    """The ticket code, large, after a complaint was filed (POST, redirect, GET: a reload files nothing)."""
    runtime = _runtime()
    language = current_language(runtime.settings.default_language)
    filed = session.get("filed")
    if not filed:
        return redirect(url_for("form.complaint_form"))
    with runtime.db.session() as db_session:
        complaint = find_complaint(db_session, filed["code"])
        if complaint is None:
            return redirect(url_for("form.complaint_form"))
        ticket = public_ticket(db_session, complaint, runtime.settings.statuses, language)
    return render_template("public/done.html", ticket=ticket, confirmation=filed["confirmation"],
                           email_only=filed.get("email_only", False), display=format_ticket_code(filed["code"]),
                           **page_values(language))


def _render(form: ComplaintForm, language: str, general: str | None = None,
            field_errors: dict[str, str] | None = None, had_photos: bool = False) -> str:
    settings = _runtime().settings
    limits = {"max_photos": settings.intake.max_photos, "max_mb": f"{settings.intake.max_photo_mb:g}"}
    errors = {name: error_text(language, code, **limits) for name, code in (field_errors or {}).items()
              if name in FIELD_NAMES}
    return render_template("public/form.html", form=form, errors=errors, general=general,
                           photos_again=had_photos and bool(general or field_errors),
                           kecamatan=by_kecamatan(), **page_values(language))


@bp.get("/privasi")
def privacy() -> Any:
    """What is kept of a citizen, for what, for how long, who sees it (UU 27/2022), in config.yaml's words."""
    settings = _runtime().settings
    language = current_language(settings.default_language)
    paragraphs = [part.strip() for part in settings.public.privacy_text(language, "page").split("\n\n") if part.strip()]
    return render_template("public/privacy.html", paragraphs=paragraphs, **page_values(language))


@bp.errorhandler(TooManyRequests)
def _too_many(error: TooManyRequests) -> Any:
    language = current_language(_runtime().settings.default_language)
    if request.method == "POST" and request.endpoint == "form.complaint_form":
        # The form again with what was typed (photos must be chosen again): nothing is lost to the limit. What
        # cannot be shown again (a field with a NUL) gets the plain page.
        try:
            form = ComplaintForm()
        except BadInput:
            form = None
        if form is not None:
            form.ensure_submission_id()
            had_photos = any(file.filename for file in request.files.getlist("photos"))
            return _render(form, language, general="too_many_kept", had_photos=had_photos), 429
    values = page_values(language)
    return render_template("public/message.html", message=values["t"]["too_many"], **values), 429


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(error: RequestEntityTooLarge) -> Any:
    language = current_language(_runtime().settings.default_language)
    values = page_values(language)
    message = values["t"]["too_large"].format(**values["limits"])
    return render_template("public/message.html", message=message, **values), 413
