"""Complaints as GeoReport v2 service requests: the search GET requests allows, and each request's fields."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from gateway.complaints.public import CLOSED_STATUSES, PublicTicket, last_public_note, public_ticket, redact_personal
from gateway.settings import Category
from gateway.web.open311.formats import Open311Error
from models import Complaint, utcnow
from models.complaint import COMPLAINT_STATUSES
from models.tickets import parse_ticket_code

MAX_RESULTS = 1000
MAX_SPAN = timedelta(days=90)


def service_code_of(settings: Any, complaint: Complaint) -> Category | None:
    """A complaint's category: the one it was filed under, else the first for its agency, else the catch-all."""
    known = settings.categories
    chosen = next((category for category in known if category.code == complaint.category), None)
    chosen = chosen or next((c for c in known if complaint.agency_code and c.agency == complaint.agency_code), None)
    return chosen or next((category for category in known if category.agency is None), None)


def w3_datetime(value: str, name: str) -> datetime:
    """A w3 date-time with its time zone (``2010-01-01T00:00:00Z``), else a 400 naming the parameter."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise Open311Error(400, f"{name}: not a w3 date-time such as 2010-01-01T00:00:00Z: {value[:40]!r}") from None
    if moment.tzinfo is None:
        raise Open311Error(400, f"{name}: include the time zone (Z or +07:00): {value[:40]!r}")
    return moment


def search(session: Session, settings: Any, args: Any) -> list[Complaint]:
    """The complaints GET requests asks for, newest first, at most 1000 and within 90 days."""
    query = select(Complaint).order_by(Complaint.created_at.desc(), Complaint.id.desc()).limit(MAX_RESULTS)
    ids = [part for part in (args.get("service_request_id") or "").split(",") if part.strip()]
    if ids:  # overrides every other argument
        codes = [parsed.digits for parsed in map(parse_ticket_code, ids) if parsed is not None and parsed.valid]
        return list(session.scalars(query.where(Complaint.ticket_code.in_(codes)))) if codes else []
    start_text, end_text = args.get("start_date"), args.get("end_date")
    end = w3_datetime(end_text, "end_date") if end_text else None
    start = w3_datetime(start_text, "start_date") if start_text else None
    if start is None and end is None:
        end = utcnow()
    if start is None:
        start = end - MAX_SPAN
    if end is None:
        end = min(start + MAX_SPAN, max(utcnow(), start))
    if end < start:
        raise Open311Error(400, "end_date: must not be before start_date")
    if end - start > MAX_SPAN:
        raise Open311Error(400, "start_date, end_date: the range may not span more than 90 days")
    query = query.where(Complaint.created_at >= start, Complaint.created_at <= end)
    statuses = [part.strip() for part in (args.get("status") or "").split(",") if part.strip()]
    if statuses:
        unknown = [status for status in statuses if status not in ("open", "closed")]
        if unknown:
            raise Open311Error(400, f"status: must be open, closed or both (comma separated), got {unknown[0]!r}")
        wanted = [s for s in COMPLAINT_STATUSES if (s in CLOSED_STATUSES) == ("closed" in statuses)
                  or {"open", "closed"} <= set(statuses)]
        query = query.where(Complaint.status.in_(wanted))
    service_codes = [part.strip() for part in (args.get("service_code") or "").split(",") if part.strip()]
    if service_codes:
        query = query.where(_service_filter(settings, service_codes))
    return list(session.scalars(query))


def _service_filter(settings: Any, codes: list[str]) -> Any:
    """Complaints filed under these categories, or without one whose agency's first category is one of them."""
    known = settings.categories
    unknown = [code for code in codes if code not in {category.code for category in known}]
    if unknown:
        raise Open311Error(404, f"service_code: {unknown[0]!r} not found")
    first_for: dict[str | None, str] = {}
    for category in known:
        first_for.setdefault(category.agency, category.code)
    agencies = [agency for agency, code in first_for.items() if agency and code in codes]
    catch_all = first_for.get(None) in codes
    covered = [agency for agency in first_for if agency]
    derived = [Complaint.agency_code.in_(agencies)] if agencies else []
    if catch_all:
        derived += [Complaint.agency_code.is_(None), Complaint.agency_code.not_in(covered)]
    return or_(Complaint.category.in_(codes), and_(Complaint.category.is_(None), or_(*derived))) if derived \
        else Complaint.category.in_(codes)


def _public_description(complaint: Complaint, settings: Any) -> str:
    """The complaint's text without the citizen's name, phone numbers, e-mail addresses or ID numbers."""
    contact = complaint.contact
    names = (contact.name,) if contact is not None and contact.name else ()
    return redact_personal(complaint.text, names, settings.phone_region)


def request_fields(session: Session, settings: Any, complaint: Complaint, language: str) -> dict[str, Any]:
    """One service request with the spec's fields, in its order."""
    ticket: PublicTicket = public_ticket(session, complaint, settings.statuses, language)
    category = service_code_of(settings, complaint)
    zone = ZoneInfo(settings.timezone)
    publish = settings.open311.publish_descriptions
    return {
        "service_request_id": complaint.ticket_code,
        "status": "closed" if ticket.closed else "open",
        "status_notes": last_public_note(ticket) or ticket.status_text,
        "service_name": category.name(language) if category else None,
        "service_code": category.code if category else None,
        "description": _public_description(complaint, settings) if publish else None,
        "agency_responsible": ticket.agency_name,
        "service_notice": None,
        "requested_datetime": complaint.created_at.astimezone(zone).isoformat(timespec="seconds"),
        "updated_datetime": complaint.updated_at.astimezone(zone).isoformat(timespec="seconds"),
        "expected_datetime": None,
        "address": f"{ticket.kelurahan_label}, {settings.city}" if ticket.kelurahan_label else None,
        "address_id": ticket.kelurahan,
        "zipcode": None,
        "lat": complaint.latitude if publish else None,
        "long": complaint.longitude if publish else None,
        "media_url": None,
    }
