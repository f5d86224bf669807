"""POST /api/v1/complaints (JSON, or multipart with photos), GET /api/v1/complaints/<code>, the lists the
app shows, and /api/v1/openapi.json. Every request but the lists and the document needs X-API-Key."""

from __future__ import annotations

import re
import uuid
from functools import wraps
from typing import Any

from flask import current_app, g, jsonify, request, url_for
from werkzeug.exceptions import HTTPException

from channels.base import InboundError
from channels.kelurahan import all_kelurahan
from channels.web import FieldErrors, build_channel, surface_message
from gateway.complaints.intake import IdempotencyConflict, file_submission
from gateway.complaints.public import PublicTicket, find_complaint, public_ticket
from gateway.complaints.replies import render
from gateway.runtime import Runtime
from gateway.web.api.blueprint import bp
from gateway.web.api.errors import error_response, http_error
from gateway.web.api.openapi import openapi_document
from gateway.web.apikeys import check_key
from gateway.web.form.routes import upload_limit
from gateway.web.limiter import api_client, api_limit, limiter
from models.tickets import parse_ticket_code

IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,100}$")


def _runtime() -> Runtime:
    return current_app.extensions["sambat"]


def require_key(view: Any) -> Any:
    """Refuse a request without a valid X-API-Key with 401; remember the key's row in ``g.api_key``."""

    @wraps(view)
    def checked(*args: Any, **kwargs: Any) -> Any:
        presented = request.headers.get("X-API-Key")
        if not presented:
            return error_response(401, "send your app's API key in the X-API-Key header")
        with _runtime().db.session() as session:
            key = check_key(session, presented)
            if key is None:
                return error_response(401, "the API key is not valid (unknown or revoked)")
            g.api_key_id, g.api_key_name = key.id, key.name
        return view(*args, **kwargs)

    return checked


@bp.before_request
def _allow_photos() -> None:
    request.max_content_length = upload_limit(_runtime().settings)


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Any:
    return http_error(error)


@bp.post("/complaints")
@limiter.limit(api_limit, key_func=api_client)
@require_key
def create_complaint() -> Any:
    """File a complaint; answers 201 with its ticket, or 200 with the same ticket for a repeated Idempotency-Key."""
    runtime = _runtime()
    settings = runtime.settings
    limits = {"max_photos": settings.intake.max_photos, "max_mb": f"{settings.intake.max_photo_mb:g}"}
    idempotency_key = request.headers.get("Idempotency-Key")
    if idempotency_key is not None and not IDEMPOTENCY_KEY.match(idempotency_key):
        return error_response(400, "Idempotency-Key must be 1 to 100 visible ASCII characters", "bad_idempotency_key")
    try:
        submission = build_channel(settings).read(request)
    except FieldErrors as errors:
        return error_response(422, "some fields are not valid", fields=errors.fields, limits=limits,
                              files=errors.files)
    except InboundError as error:
        return error_response(error.status, str(error))
    provider_id = f"key{g.api_key_id}:{idempotency_key or uuid.uuid4().hex}"
    message = surface_message(submission, "app", provider_id, {"api_key": g.api_key_name})
    try:
        filed = file_submission(runtime, submission, message)
    except IdempotencyConflict:
        return error_response(409, "this Idempotency-Key was used for a different complaint", "idempotency_conflict")
    with runtime.db.session() as session:
        ticket = public_ticket(session, find_complaint(session, filed.ticket_code), settings.statuses,
                               submission.language)
    body = {**ticket_json(ticket), "confirmation": filed.confirmation}
    response = jsonify(body)
    response.status_code = 201 if filed.created else 200
    response.headers["Location"] = url_for("api.get_complaint", code=ticket.ticket_code)
    if not filed.created:
        response.headers["Idempotent-Replayed"] = "true"
    return response


@bp.get("/complaints/<code>")
@limiter.limit(api_limit, key_func=api_client)
@require_key
def get_complaint(code: str) -> Any:
    """A complaint's public status by ticket code (with or without spaces or dashes)."""
    runtime = _runtime()
    language = request.args.get("lang") if request.args.get("lang") in ("id", "en") else "en"
    parsed = parse_ticket_code(code)
    if parsed is None:
        return error_response(404, "not a ticket code: ticket codes have 8 digits, e.g. 1234 5678", "not_a_ticket_code")
    if not parsed.valid:
        message = render(runtime.settings.templates, language, "bad_code", given=parsed.digits)
        return error_response(404, message, "mistyped_ticket_code")
    with runtime.db.session() as session:
        complaint = find_complaint(session, parsed.digits)
        if complaint is None:
            return error_response(404, render(runtime.settings.templates, language, "not_found"))
        ticket = public_ticket(session, complaint, runtime.settings.statuses, language)
    return jsonify(ticket_json(ticket))


@bp.get("/kelurahan")
def list_kelurahan() -> Any:
    """Malang's 57 kelurahan, for the app's list."""
    return jsonify(kelurahan=[{"key": k.key, "name": k.name, "kecamatan": k.kecamatan} for k in all_kelurahan()])


@bp.get("/categories")
def list_categories() -> Any:
    """The complaint categories (the same as Open311's services)."""
    return jsonify(categories=[{"code": c.code, "name": dict(c.names), "agency": c.agency, "group": c.group}
                               for c in _runtime().settings.categories])


@bp.get("/openapi.json")
def openapi() -> Any:
    """The OpenAPI 3 description of this API."""
    return jsonify(openapi_document(request.host_url.rstrip("/") + bp.url_prefix))


def ticket_json(ticket: PublicTicket) -> dict[str, Any]:
    """The public view of a complaint as the API returns it."""
    public_url = _runtime().settings.public_url or request.host_url
    return {
        "ticket_code": ticket.ticket_code, "display_code": ticket.display_code, "status": ticket.status,
        "status_text": ticket.status_text, "closed": ticket.closed,
        "agency": {"code": ticket.agency_code, "name": ticket.agency_name} if ticket.agency_code else None,
        "category": ticket.category, "kelurahan": ticket.kelurahan,
        "created_at": ticket.created_at.isoformat(), "updated_at": ticket.updated_at.isoformat(),
        "photos": ticket.photos,
        "answers": [{"at": answer.at.isoformat(), "status": answer.status, "status_text": answer.status_text,
                     "note": answer.note} for answer in ticket.answers],
        "url": f"{public_url.rstrip('/')}/tiket/{ticket.ticket_code}",
    }
