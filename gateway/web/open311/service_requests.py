"""Complaints as GeoReport v2 service requests: the search GET requests allows, and each request's fields."""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from gateway.complaints.deadlines import WITH_AGENCY
from gateway.complaints.public import CLOSED_STATUSES, PublicTicket, last_public_note, public_ticket, redact_personal
from gateway.settings import Category
from gateway.settings.deadlines import DeadlinePolicy, policy
from gateway.web.open311.dates import w3_datetime
from gateway.web.open311.formats import Open311Error
from gateway.web.open311.media import kept_photo_path
from models import Assignment, Attachment, Complaint, InboundMessage, StatusEvent, utcnow
from models.complaint import ASSIGNED, COMPLAINT_STATUSES
from models.tickets import format_ticket_code, parse_ticket_code

MAX_RESULTS = 1000
MAX_SPAN = timedelta(days=90)
# service_notice, per language: config.yaml's templates.<language>.open311_notice, else these.
NOTICE_KEY = "open311_notice"
NOTICES = {"id": "Tiket {code}. Cek status: SMS CEK {digits} atau {url}",
           "en": "Ticket {code}. Check status: text CEK {digits} or {url}"}
NOTICE_FIELDS = {"code", "digits", "url"}


@dataclass(frozen=True)
class Answering:
    """What every service request in one answer shares: settings, the asked language, Sambat's public address
    (for the ticket page and photos) and the deadline rules."""

    settings: Any
    language: str
    base_url: str
    rules: DeadlinePolicy

    @classmethod
    def of(cls, settings: Any, language: str, base_url: str) -> Answering:
        return cls(settings, language, base_url.rstrip("/"), policy(settings))


def notice_template(templates: Any, language: str) -> str:
    """The service_notice text of a language: config.yaml's, else the built-in one."""
    return (templates.get(language) or {}).get(NOTICE_KEY) or NOTICES.get(language) or NOTICES["id"]


def check_notices(templates: Any, source: str) -> None:
    """Refuse a configured service_notice with a placeholder other than {code}, {digits} and {url}."""
    from gateway.settings import ConfigError

    for language, texts in templates.items():
        template = texts.get(NOTICE_KEY) if isinstance(texts, Mapping) else None
        if template is None:
            continue
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(str(template)) if name is not None}
        except ValueError as exc:
            raise ConfigError(f"{source}: templates.{language}.{NOTICE_KEY}: bad placeholder: {exc}") from None
        if names - NOTICE_FIELDS:
            raise ConfigError(f"{source}: templates.{language}.{NOTICE_KEY}: unknown placeholder "
                              f"{{{sorted(names - NOTICE_FIELDS)[0]}}} (known: code, digits, url)")


def service_notice(answering: Answering, ticket_code: str) -> str:
    """How to follow the ticket, in the asked language: by SMS and on the ticket page."""
    return notice_template(answering.settings.templates, answering.language).format(
        code=format_ticket_code(ticket_code), digits=ticket_code, url=f"{answering.base_url}/tiket/{ticket_code}")


def service_code_of(settings: Any, complaint: Complaint) -> Category | None:
    """A complaint's category: the one it was filed under, else the first for its agency, else the catch-all."""
    known = settings.categories
    chosen = next((category for category in known if category.code == complaint.category), None)
    chosen = chosen or next((c for c in known if complaint.agency_code and c.agency == complaint.agency_code), None)
    return chosen or next((category for category in known if category.agency is None), None)


def search(session: Session, settings: Any, args: Any) -> list[Complaint]:
    """The complaints GET requests asks for, newest first, at most 1000 and within 90 days."""
    query = select(Complaint).order_by(Complaint.created_at.desc(), Complaint.id.desc()).limit(MAX_RESULTS)
    ids = [part for part in (args.get("service_request_id") or "").split(",") if part.strip()]
    if ids:  # overrides every other argument
        codes = [parsed.digits for parsed in map(parse_ticket_code, ids) if parsed is not None and parsed.valid]
        return list(session.scalars(query.where(Complaint.ticket_code.in_(codes)))) if codes else []
    start_text, end_text = args.get("start_date"), args.get("end_date")
    end = w3_datetime(end_text, "end_date", settings.timezone, end=True) if end_text else None
    start = w3_datetime(start_text, "start_date", settings.timezone) if start_text else None
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


def resolve_due(session: Session, rules: DeadlinePolicy, complaint: Complaint) -> datetime | None:
    """The resolve deadline of the complaint's clock at its agency, or None when no agency has it.

    The clock is the assignment row opened from the status event that gave the complaint to its agency. A
    complaint the worker routed moments ago has no row until the scheduler's next round: its deadline is
    computed as that row will hold it.
    """
    if complaint.agency_code is None or complaint.status not in WITH_AGENCY:
        return None
    assigning = session.scalar(select(StatusEvent).where(
        StatusEvent.complaint_id == complaint.id, StatusEvent.kind == "status", StatusEvent.to_status == ASSIGNED,
        StatusEvent.agency_code == complaint.agency_code).order_by(StatusEvent.id.desc()).limit(1))
    if assigning is None:
        return None
    clock = session.scalar(select(Assignment).where(Assignment.event_id == assigning.id))
    if clock is not None:
        return clock.resolve_due
    return rules.due_dates(assigning.created_at, complaint.agency_code, complaint.category)["resolve"]


def _open311_record(session: Session, complaint: Complaint) -> dict[str, Any]:
    """What an Open311 client sent beside the complaint's fields (media_url, address_string ...), else {}."""
    if complaint.medium != "open311" or complaint.inbound_message_id is None:
        return {}
    message = session.get(InboundMessage, complaint.inbound_message_id)
    return dict(((message.raw or {}).get("open311") or {}) if message is not None else {})


def _kept_photo_url(session: Session, answering: Answering, complaint: Complaint, ticket: PublicTicket) -> str | None:
    """The first photo Sambat keeps for the complaint, when the city publishes them; else None."""
    if not (ticket.photos and answering.settings.open311.publish_descriptions):
        return None
    path = session.scalar(select(Attachment.path).where(Attachment.complaint_id == complaint.id)
                          .order_by(Attachment.id).limit(1))
    return f"{answering.base_url}{kept_photo_path(path)}" if path else None


def request_fields(session: Session, answering: Answering, complaint: Complaint) -> dict[str, Any]:
    """One service request with the spec's fields, in its order."""
    settings, language = answering.settings, answering.language
    ticket: PublicTicket = public_ticket(session, complaint, settings.statuses, language)
    category = service_code_of(settings, complaint)
    zone = ZoneInfo(settings.timezone)
    publish = settings.open311.publish_descriptions
    sent = _open311_record(session, complaint)
    due = resolve_due(session, answering.rules, complaint)
    address = complaint.address if sent.get("address_string") else None
    if address is None and ticket.kelurahan_label:
        address = f"{ticket.kelurahan_label}, {settings.city}"
    return {
        "service_request_id": complaint.ticket_code,
        "status": "closed" if ticket.closed else "open",
        "status_notes": last_public_note(ticket) or ticket.status_text,
        "service_name": category.name(language) if category else None,
        "service_code": category.code if category else None,
        "description": _public_description(complaint, settings) if publish else None,
        "agency_responsible": ticket.agency_name,
        "service_notice": service_notice(answering, complaint.ticket_code),
        "requested_datetime": complaint.created_at.astimezone(zone).isoformat(timespec="seconds"),
        "updated_datetime": complaint.updated_at.astimezone(zone).isoformat(timespec="seconds"),
        "expected_datetime": due.astimezone(zone).isoformat(timespec="seconds") if due else None,
        "address": address,
        "address_id": ticket.kelurahan,
        "zipcode": None,
        "lat": complaint.latitude if publish else None,
        "long": complaint.longitude if publish else None,
        "media_url": sent.get("media_url") or _kept_photo_url(session, answering, complaint, ticket),
    }
