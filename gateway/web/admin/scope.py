"""Who sees which complaint, and how much of the citizen: the one place the console's visibility rules live.

An agency admin sees only complaints in their agency's hands; anything else is "not found" (404), never
"forbidden", so a ticket code or id from another agency reveals nothing. Viewers see everything read-only,
with phone numbers and e-mail addresses masked.
"""

from __future__ import annotations

import re
from typing import Any

import phonenumbers
from flask import abort, current_app
from flask_login import current_user
from sqlalchemy import Select, select

from gateway.web.auth import db
from models import Attachment, Complaint
from models.tickets import parse_ticket_code
from models.user import AGENCY_ADMIN, SUPER_ADMIN, VIEWER

EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# An address written to dodge filters: budi(at)gmail.com, budi [at] gmail [dot] com.
SPELLED_EMAIL = re.compile(r"(?i)[\w.+-]+\s*[(\[{<]\s*at\s*[)\]}>]\s*[\w-]+"
                           r"(?:\s*(?:\.|[(\[{<]\s*dot\s*[)\]}>])\s*[\w-]+)+")
# Ten or more digits in a row (single spaces, dots or dashes between them allowed): a phone number phonenumbers
# does not accept (too long, glued to a letter), an ID card number (NIK, 16 digits), a bank account. Ticket codes
# (8 digits) and house numbers are shorter.
LONG_NUMBER = re.compile(r"(?<!\d)\d(?:[ .-]?\d){9,}(?!\d)")
DATE_IN_NUMBER = re.compile(r"\d{1,2}[-./]\d{1,2}[-./]\d{2,4}|\d{4}-\d{2}-\d{2}")  # 12-11-2026 10.30 stays
STAFF = (SUPER_ADMIN, AGENCY_ADMIN, VIEWER)
WORKERS = (SUPER_ADMIN, AGENCY_ADMIN)


def scoped(query: Select[Any]) -> Select[Any]:
    """Limit a query over complaints to those the current user may see."""
    if current_user.role == AGENCY_ADMIN:
        return query.where(Complaint.agency_code == current_user.agency_code)
    return query


def may_see(complaint: Complaint | None) -> bool:
    """True when the current user may open this complaint."""
    if complaint is None:
        return False
    if current_user.role == AGENCY_ADMIN:
        return complaint.agency_code is not None and complaint.agency_code == current_user.agency_code
    return current_user.role in (SUPER_ADMIN, VIEWER)


def require_role(*roles: str) -> None:
    """Refuse (403) a user whose role may not do this. Views that take a complaint call this *after*
    :func:`complaint_or_404`, so another agency's complaint is "not found" on every route, never "forbidden"."""
    if current_user.role not in roles:
        abort(403, description="Halaman ini bukan untuk peran Anda.")


def complaint_or_404(code: str) -> Complaint:
    """The complaint with this ticket code, if the current user may see it; else 404."""
    parsed = parse_ticket_code(code)
    complaint = None
    if parsed is not None and parsed.valid:
        complaint = db().scalar(select(Complaint).where(Complaint.ticket_code == parsed.digits))
    if not may_see(complaint):
        abort(404, description="Aduan tidak ditemukan.")
    return complaint


def complaints_by_ids(ids: list[int]) -> list[Complaint]:
    """Complaints by id, only those the current user may see (the rest are dropped)."""
    if not ids:
        return []
    rows = db().scalars(scoped(select(Complaint).where(Complaint.id.in_(ids))).order_by(Complaint.id))
    return [complaint for complaint in rows if may_see(complaint)]


def attachment_or_404(complaint: Complaint, attachment_id: int) -> Attachment:
    """A photo of a complaint the user may see; a photo of another complaint is not found."""
    attachment = db().get(Attachment, attachment_id)
    if attachment is None or attachment.complaint_id != complaint.id:
        abort(404, description="Foto tidak ditemukan.")
    return attachment


def mask_phone(phone: str | None) -> str:
    """``+6281234567890`` -> ``+62812•••••890`` (the country and network stay, the person does not)."""
    if not phone:
        return ""
    keep_head, keep_tail = min(6, len(phone) // 2), 3
    hidden = max(len(phone) - keep_head - keep_tail, 1)
    return phone[:keep_head] + "•" * hidden + phone[-keep_tail:]


def mask_email(email: str | None) -> str:
    """``budi.santoso@gmail.com`` -> ``b•••@gmail.com``."""
    if not email or "@" not in email:
        return ""
    local, domain = email.rsplit("@", 1)
    return f"{local[:1]}•••@{domain}"


def _mask_digits(raw: str, head: int = 4, tail: int = 3) -> str:
    """``0812-3456-7890`` -> ``0812-••••-•890``: the separators stay, the middle digits go."""
    total = sum(char.isdigit() for char in raw)
    seen, out = 0, []
    for char in raw:
        if char.isdigit():
            seen += 1
            out.append(char if seen <= head or seen > total - tail else "•")
        else:
            out.append(char)
    return "".join(out)


def mask_text(text: str | None, region: str = "ID") -> str:
    """Free text (a complaint, a message, a note) with every phone number and e-mail address in it masked.

    Phone numbers are found by phonenumbers' matcher at its VALID leniency, so ticket codes, dates and house
    numbers stay as they are; any other run of ten or more digits (an ID card or account number, a phone number
    the matcher missed) and addresses spelled out as ``name(at)domain`` are masked too.
    """
    if not text:
        return text or ""
    pieces, last = [], 0
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        pieces += [text[last:match.start], _mask_digits(match.raw_string)]
        last = match.end
    masked = "".join(pieces) + text[last:]
    masked = LONG_NUMBER.sub(lambda found: found.group(0) if DATE_IN_NUMBER.search(found.group(0))
                             else _mask_digits(found.group(0)), masked)
    masked = SPELLED_EMAIL.sub(lambda found: found.group(0)[:1] + "•••", masked)
    return EMAIL_IN_TEXT.sub(lambda found: mask_email(found.group(0)), masked)


def shown_text(text: str | None) -> str:
    """Free text as the current user may see it: viewers get phones and e-mails in it masked."""
    if current_user.role != VIEWER:
        return text or ""
    return mask_text(text, current_app.extensions["sambat"].settings.phone_region)


def shown_phone(phone: str | None) -> str:
    """A phone number as the current user may see it."""
    return mask_phone(phone) if current_user.role == VIEWER else (phone or "")


def shown_email(email: str | None) -> str:
    """An e-mail address as the current user may see it."""
    return mask_email(email) if current_user.role == VIEWER else (email or "")


def shown_address(address: str | None) -> str:
    """A phone number or an e-mail address (a message's sender), as the current user may see it."""
    if not address:
        return ""
    return shown_email(address) if "@" in address else shown_phone(address)
