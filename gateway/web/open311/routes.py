"""GeoReport v2: GET discovery, services, services/<code>; POST and GET requests; GET requests/<id>.

Every resource takes a ``.xml`` or ``.json`` suffix. A request POSTed here is an ordinary complaint: the
same ticket code (it is the service_request_id), router, confirmation and updates as an SMS.
"""

from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import current_app, request
from werkzeug.exceptions import HTTPException

from channels.kelurahan import all_kelurahan, find_kelurahan
from channels.web import FieldErrors, check_fields, surface_message
from gateway.complaints.intake import IdempotencyConflict, file_submission
from gateway.complaints.public import find_complaint
from gateway.complaints.replies import render
from gateway.runtime import Runtime
from gateway.web.apikeys import check_key
from gateway.web.form.texts import error_text
from gateway.web.limiter import api_client, api_limit, limiter
from gateway.web.open311.blueprint import bp
from gateway.web.open311.formats import FORMATS, Open311Error, error_response, respond
from gateway.web.open311.media import checked_media_url
from gateway.web.open311.service_requests import Answering, check_notices, request_fields, search, service_notice
from models.tickets import parse_ticket_code

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
OPEN311_NAMES = {"text": "description", "address": "address_string", "latitude": "lat", "longitude": "long",
                 "kelurahan": "attribute[kelurahan]", "category": "service_code", "name": "first_name"}
IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,100}$")


def _runtime() -> Runtime:
    return current_app.extensions["sambat"]


def _format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise Open311Error(400, f"format: use .xml or .json, not .{fmt[:10]}")
    return fmt


def _language() -> str:
    """The request's ``locale`` (``en``, ``en_US``, ``id-ID``; or ``lang``), else the city's default language."""
    wanted = (request.values.get("locale") or request.values.get("lang") or "").lower()[:2]
    return wanted if wanted in ("id", "en") else _runtime().settings.default_language


def _answering() -> Answering:
    settings = _runtime().settings
    return Answering.of(settings, _language(), settings.public_url or request.host_url)


@bp.record_once
def _check_config(state: Any) -> None:
    """A configured service_notice with an unknown placeholder stops start-up, naming the key."""
    runtime = state.app.extensions.get("sambat")
    if runtime is not None:
        check_notices(runtime.settings.templates, runtime.settings.config_path)


@bp.before_request
def _jurisdiction() -> Any:
    given = (request.values.get("jurisdiction_id") or "").strip()
    if given and given != _runtime().settings.open311.jurisdiction_id:
        fmt = "json" if request.path.endswith(".json") else "xml"
        return error_response([(404, f"jurisdiction_id {given[:80]!r} not found: this endpoint serves "
                                     f"{_runtime().settings.open311.jurisdiction_id}")], fmt)
    return None


@bp.errorhandler(Open311Error)
def _open311_error(error: Open311Error) -> Any:
    return error_response([(error.status, error.description)], "json" if request.path.endswith(".json") else "xml")


@bp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> Any:
    fmt = "json" if request.path.endswith(".json") else "xml"
    return error_response([(error.code or 400, error.description or "error")], fmt)


@bp.get("/discovery.<fmt>")
def discovery(fmt: str) -> Any:
    """Where the endpoint is, what it speaks, how to get a key."""
    settings = _runtime().settings
    try:
        changed = datetime.fromtimestamp(os.path.getmtime(settings.config_path), UTC).strftime("%Y-%m-%d %H:%M")
    except OSError:
        changed = "2026-11-23 00:00"
    base = (settings.public_url or request.host_url).rstrip("/") + bp.url_prefix
    return respond({
        "changeset": changed, "contact": settings.open311.contact, "key_service": settings.open311.key_service,
        "endpoints": [{"specification": SPECIFICATION, "url": base, "changeset": changed, "type": "production",
                       "formats": ["text/xml", "application/json"]}],
    }, "discovery", _format(fmt))


@bp.get("/services.<fmt>")
def services(fmt: str) -> Any:
    """The complaint categories, each with the kelurahan as its one (optional) attribute."""
    language = _language()
    other = "en" if language == "id" else "id"
    return respond([
        {"service_code": c.code, "service_name": c.name(language), "description": c.name(other),
         "metadata": True, "type": "realtime", "keywords": c.keywords, "group": c.group}
        for c in _runtime().settings.categories
    ], "services", _format(fmt))


@bp.get("/services/<code>.<fmt>")
def service_definition(code: str, fmt: str) -> Any:
    """A category's attributes: where it is, as one of Malang's kelurahan."""
    fmt = _format(fmt)
    if _runtime().settings.intake.category(code) is None:
        raise Open311Error(404, f"service_code {code[:40]!r} not found")
    return respond({"service_code": code, "attributes": [{
        "variable": True, "code": "kelurahan", "datatype": "singlevaluelist", "required": False,
        "datatype_description": "One of the city's kelurahan", "order": 1,
        "description": "Kelurahan (urban village) where the problem is",
        "values": [{"key": place.key, "name": place.label} for place in all_kelurahan()],
    }]}, "service_definition", fmt)


@bp.post("/requests.<fmt>")
@limiter.limit(api_limit, key_func=api_client)
def create_request(fmt: str) -> Any:
    """File a complaint from a GeoReport v2 request (api_key required)."""
    fmt = _format(fmt)
    runtime = _runtime()
    settings = runtime.settings
    with runtime.db.session() as session:
        key = check_key(session, request.values.get("api_key") or request.headers.get("X-API-Key"))
        if key is None:
            raise Open311Error(403, "api_key: missing or not valid")
        key_id, key_name = key.id, key.name
    form = request.form
    code = (form.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, "service_code: required")
    category = settings.intake.category(code)
    if category is None:
        raise Open311Error(404, f"service_code {code[:40]!r} not found")
    address_id = (form.get("address_id") or "").strip()
    kelurahan = form.get("attribute[kelurahan]") or (address_id if find_kelurahan(address_id) else None)
    has_point = (form.get("lat") or "").strip() and (form.get("long") or "").strip()
    if not (has_point or (form.get("address_string") or "").strip() or address_id):
        raise Open311Error(400, "location: give lat and long, address_string, or address_id")
    language = _language()
    names = (form.get("first_name") or "", form.get("last_name") or "")
    name = " ".join(part.strip() for part in names if part.strip())
    values = {
        "text": form.get("description") or category.name(language), "kelurahan": kelurahan,
        "address": form.get("address_string") or (f"address_id {address_id}" if address_id and not kelurahan else None),
        "latitude": form.get("lat"), "longitude": form.get("long"), "name": name or None,
        "phone": form.get("phone"), "email": form.get("email"), "language": language, "category": code,
    }
    try:
        submission = check_fields(values, [], region=settings.phone_region, max_photos=0, max_photo_bytes=0,
                                  categories={c.code: c for c in settings.categories})
    except FieldErrors as errors:
        return error_response([(400, f"{OPEN311_NAMES.get(field, field)}: {error_text('en', problem)}")
                               for field, problem in errors.fields.items()], fmt)
    idempotency_key = request.headers.get("Idempotency-Key")
    if idempotency_key is not None and not IDEMPOTENCY_KEY.match(idempotency_key):
        raise Open311Error(400, "Idempotency-Key: 1 to 100 visible ASCII characters")
    media_url = checked_media_url(form.get("media_url"))
    extra = {name: form.get(name)[:2000] for name in ("device_id", "account_id", "address_string") if form.get(name)}
    extra.update({"media_url": media_url} if media_url else {})
    message = surface_message(submission, "open311", f"key{key_id}:o311:{idempotency_key or uuid.uuid4().hex}",
                         {"api_key": key_name, "open311": extra})
    try:
        filed = file_submission(runtime, submission, message)
    except IdempotencyConflict:
        raise Open311Error(409, "Idempotency-Key: used before for a different request") from None
    notice = service_notice(_answering(), filed.ticket_code)
    return respond([{"service_request_id": filed.ticket_code, "service_notice": notice,
                     "account_id": form.get("account_id") or None}], "service_requests", fmt)


@bp.get("/requests.<fmt>")
def list_requests(fmt: str) -> Any:
    """Service requests by the spec's filters: service_request_id, service_code, start/end_date, status."""
    fmt = _format(fmt)
    runtime = _runtime()
    answering = _answering()
    with runtime.db.session() as session:
        found = search(session, runtime.settings, request.args)
        items = [request_fields(session, answering, complaint) for complaint in found]
    return respond(items, "service_requests", fmt)


@bp.get("/requests/<request_id>.<fmt>")
def get_request(request_id: str, fmt: str) -> Any:
    """One service request by its id, the ticket code; a mistyped code is said to be one."""
    fmt = _format(fmt)
    runtime = _runtime()
    parsed = parse_ticket_code(request_id)
    if parsed is None:
        raise Open311Error(404, f"service_request_id {request_id[:40]!r} not found: ids are 8-digit ticket codes")
    if not parsed.valid:
        raise Open311Error(404, render(runtime.settings.templates, "en", "bad_code", given=parsed.digits))
    with runtime.db.session() as session:
        complaint = find_complaint(session, parsed.digits)
        if complaint is None:
            raise Open311Error(404, f"service_request_id {parsed.digits} not found")
        item = request_fields(session, _answering(), complaint)
    return respond([item], "service_requests", fmt)
