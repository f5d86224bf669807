"""E-mail: read a mail as a complaint (or an addition to one), and address the answers so they thread.

Mail comes in two ways (``sambat smtp``, ``sambat imap``: :mod:`channels.email.listener`,
:mod:`channels.email.poller`), both through :func:`gateway.jobs.mail.accept_mail`. Parsing uses the
standard library's ``email`` package with ``policy.default``: plain or HTML-only bodies in any charset become
clean text with the quoted history cut off; photos are kept like web-form photos and other attachments are
refused politely. The Message-ID is the provider id, so the same mail twice is one message.

A reply continues its complaint: its In-Reply-To / References name a mail Sambat sent, or its subject
carries "[Tiket 1234 5678]". Auto-replies, bounces and list mail are stored but never answered; a bounce of a
mail Sambat sent marks that outbox row undelivered with the server's status (:func:`delivery_failure`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from sqlalchemy import select

from channels.base import InboundError
from channels.config import mail_address
from channels.email.text import html_to_text, new_text
from channels.registry import ChannelSpec, ReplyAddress
from models.tickets import format_ticket_code

NAME = "email"
PHOTO_TYPES = {"image/jpeg", "image/png", "image/heic", "image/heif", "image/jpg", "image/pjpeg"}
TICKET_TOKEN = re.compile(r"\[\s*(?:Tiket|Ticket)\s*#?\s*(\d{4})[\s-]?(\d{4})\s*\]", re.IGNORECASE)
_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_REPLY_PREFIX = re.compile(r"^\s*(?:(?:re|aw|fw|fwd|balas|bls)\s*:\s*)+", re.IGNORECASE)


@dataclass
class ParsedMail:
    """What Sambat keeps of one mail."""

    message_id: str
    sender: str
    subject: str
    text: str
    full_text: str
    references: list[str]
    automated: str | None  # why it must not be answered, or None
    recipients: list[str] = field(default_factory=list)
    photos: list[tuple[str, str, bytes]] = field(default_factory=list)  # filename, content type, bytes
    refused: list[str] = field(default_factory=list)  # attachments not kept, by name
    date: Any = None


def parse_mail(raw: bytes, envelope_from: str | None = None) -> ParsedMail:
    """Read one mail as it arrived (bytes of the whole message).

    Args:
        raw: the message, headers and body.
        envelope_from: the SMTP MAIL FROM when it came through our listener ("" is the null sender <>).

    Raises:
        InboundError: no usable sender address.
    """
    mail: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)  # type: ignore[assignment]
    sender = _first_address(_header(mail, "Reply-To")) or _first_address(_header(mail, "From"))
    if not sender:
        raise InboundError("the mail has no sender address (From)")
    found = _MESSAGE_ID.findall(_header(mail, "Message-ID"))
    message_id = found[0] if found else f"<sha256.{hashlib.sha256(raw).hexdigest()}@sambat.invalid>"
    references = _MESSAGE_ID.findall(_header(mail, "References")) + _MESSAGE_ID.findall(_header(mail, "In-Reply-To"))
    full_text = _body_text(mail)
    photos, refused = _attachments(mail)
    try:
        date = parsedate_to_datetime(_header(mail, "Date")) if _header(mail, "Date") else None
    except (TypeError, ValueError):
        date = None
    return ParsedMail(
        message_id=message_id, sender=sender.lower(), subject=" ".join(_header(mail, "Subject").split()),
        text=new_text(full_text), full_text=full_text, references=list(dict.fromkeys(references)),
        automated=automated_reason(mail, envelope_from), photos=photos, refused=refused,
        recipients=[a.lower() for a in (mail_address(v) for _, v in getaddresses([_header(mail, "To")])) if a],
        date=date if date is not None and date.tzinfo else None,
    )


def _header(mail: EmailMessage, name: str) -> str:
    """A header as text; a malformed one is read as its raw value rather than refused."""
    try:
        value = mail.get(name)
    except (IndexError, ValueError, TypeError):
        value = mail.get_all(name, [""])[0] if name in mail else ""
    return str(value or "")


def _first_address(value: str) -> str:
    return next((addr for addr in (mail_address(v) for _, v in getaddresses([value])) if addr), "")


def automated_reason(mail: EmailMessage, envelope_from: str | None = None) -> str | None:
    """Why a mail must not be answered (RFC 3834 and common practice), or None for a person's mail."""
    auto = _header(mail, "Auto-Submitted").strip().lower()
    if auto and auto != "no":
        return f"Auto-Submitted: {auto}"
    precedence = _header(mail, "Precedence").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for name in ("List-Id", "List-Unsubscribe", "X-Autoreply", "X-Autorespond"):
        if _header(mail, name):
            return f"{name} present"
    if _header(mail, "X-Auto-Response-Suppress").strip().lower() in ("all", "oof", "autoreply"):
        return "X-Auto-Response-Suppress (an automatic reply)"
    if mail.get_content_type() == "multipart/report":
        return "delivery or read report (multipart/report)"
    local = _first_address(_header(mail, "From")).split("@")[0].lower()
    if local in ("mailer-daemon", "postmaster", "noreply", "no-reply", "donotreply", "do-not-reply"):
        return f"sender {local}@"
    return_path = _header(mail, "Return-Path").strip()
    if envelope_from == "" or envelope_from == "<>" or return_path == "<>":
        return "empty return path (a bounce)"
    return None


def _body_text(mail: EmailMessage) -> str:
    """The text of the body: text/plain preferred, else HTML made into text."""
    part = mail.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, AssertionError):
        payload = part.get_payload(decode=True) or b""
        content = payload.decode(part.get_content_charset() or "latin-1", errors="replace") if isinstance(
            payload, bytes) else str(payload)
    if not isinstance(content, str):
        return ""
    return html_to_text(content) if part.get_content_type() == "text/html" else content


def _attachments(mail: EmailMessage) -> tuple[list[tuple[str, str, bytes]], list[str]]:
    """Photos to keep, and the names of other attachments (refused)."""
    body = mail.get_body(preferencelist=("plain", "html"))
    photos, refused = [], []
    for part in mail.walk():
        if part.is_multipart() or part is body:
            continue
        disposition, content_type = part.get_content_disposition(), part.get_content_type()
        filename = part.get_filename() or ""
        if content_type in ("text/plain", "text/html") and disposition != "attachment":
            continue  # the other half of a multipart/alternative body
        if content_type in ("message/delivery-status", "message/rfc822", "text/rfc822-headers"):
            continue  # parts of a bounce report
        data = part.get_payload(decode=True) or b""
        if content_type in PHOTO_TYPES:
            photos.append((filename or f"photo.{content_type.split('/')[1]}", content_type, data))
        else:
            refused.append(filename or content_type)
    return photos, refused


@dataclass(frozen=True)
class DeliveryFailure:
    """A bounce (RFC 3464 delivery status notification) saying a mail Sambat sent did not arrive."""

    message_ids: tuple[str, ...]  # Message-IDs of the mail that failed, as Sambat sent them
    status: str  # the enhanced status code, e.g. "5.1.1"
    diagnostic: str  # the receiving server's words


def delivery_failure(raw: bytes) -> DeliveryFailure | None:
    """Read a bounce: which of our mails failed for good, and why; None for anything else.

    Only ``multipart/report; report-type=delivery-status`` with a recipient whose Action is ``failed``
    counts ("delayed" is not a failure yet). The failed mail is named by the returned headers or message
    (``text/rfc822-headers``, ``message/rfc822``), else by the bounce's In-Reply-To / References.
    """
    mail = BytesParser(policy=policy.default).parsebytes(raw)
    if mail.get_content_type() != "multipart/report" or mail.get_param("report-type") != "delivery-status":
        return None
    failed: list[tuple[str, str]] = []
    returned: list[str] = []
    for part in mail.walk():
        content_type = part.get_content_type()
        if content_type == "message/delivery-status":
            for fields in part.get_payload():
                if str(fields.get("Action", "")).strip().lower() == "failed":
                    failed.append((str(fields.get("Status", "")).strip()[:20] or "5.0.0",
                                   " ".join(str(fields.get("Diagnostic-Code", "")).split())[:500]))
        elif content_type == "message/rfc822":
            for original in part.get_payload():
                returned += _MESSAGE_ID.findall(str(original.get("Message-ID", "")))
        elif content_type == "text/rfc822-headers":
            headers = BytesParser(policy=policy.default).parsebytes(part.get_payload(decode=True) or b"",
                                                                    headersonly=True)
            returned += _MESSAGE_ID.findall(str(headers.get("Message-ID", "")))
    if not failed:
        return None
    named = returned or _MESSAGE_ID.findall(_header(mail, "In-Reply-To") + " " + _header(mail, "References"))
    if not named:
        return None
    status, diagnostic = failed[0]
    return DeliveryFailure(message_ids=tuple(dict.fromkeys(named)), status=status, diagnostic=diagnostic)


def find_thread(session: Any, message: Any) -> int | None:
    """The complaint a mail continues: by the Message-IDs it answers, then by "[Tiket 1234 5678]" in its subject.

    Only the citizen who filed a complaint continues it; a mail from anyone else is a complaint of its own.
    """
    from models import Complaint, Outbox

    raw = message.raw or {}
    references = [ref for ref in raw.get("references", []) if isinstance(ref, str)][-50:]
    complaint_id = None
    if references:
        complaint_id = session.scalar(
            select(Outbox.complaint_id).where(Outbox.channel == NAME, Outbox.provider_message_id.in_(references),
                                              Outbox.complaint_id.is_not(None)).order_by(Outbox.id.desc()).limit(1))
    if complaint_id is None:
        token = TICKET_TOKEN.search(str(raw.get("subject", "")))
        if token:
            code = token.group(1) + token.group(2)
            complaint_id = session.scalar(select(Complaint.id).where(Complaint.ticket_code == code))
    if complaint_id is None:
        return None
    owner = session.scalar(select(Complaint.contact_id).where(Complaint.id == complaint_id))
    return complaint_id if owner is not None and owner == message.contact_id else None


def reply_subject(subject: str, complaint: Any = None) -> str:
    """``Re: <their subject> [Tiket 1234 5678]``: one "Re:", and the ticket token for threading."""
    base = _REPLY_PREFIX.sub("", subject or "").strip() or "Aduan"
    if complaint is not None and not TICKET_TOKEN.search(base):
        base = f"{base} [Tiket {format_ticket_code(complaint.ticket_code)}]"
    return f"Re: {base}"


def refused_note(names: list[str]) -> str:
    """The polite line under a reply when attachments were not kept."""
    if not names:
        return ""
    listed = ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")
    return (f"\n\nLampiran berikut tidak kami simpan, hanya foto (JPEG, PNG, HEIC) yang diterima: {listed}."
            f"\nThese attachments were not kept; only photos (JPEG, PNG, HEIC) are accepted: {listed}.")


def ticket_link(complaint: Any, settings: Any) -> str:
    """The line under a confirmation that links the ticket's public page (``<public url>/tiket/<digits>``); empty
    without a complaint or without ``SAMBAT_PUBLIC_URL`` (a link to nowhere helps no one)."""
    public_url = getattr(settings, "public_url", None)
    if complaint is None or not public_url:
        return ""
    return (f"\n\nStatus tiket / ticket status: {public_url.rstrip('/')}/tiket/{complaint.ticket_code}")


def _reply_address(message: Any, complaint: Any, settings: Any) -> ReplyAddress:
    raw = message.raw or {}
    references = [ref for ref in raw.get("references", []) if isinstance(ref, str)][-10:]
    return ReplyAddress(
        medium="email", recipient=message.sender, sender=settings.mail.sender,
        subject=reply_subject(str(raw.get("subject", "")), complaint), in_reply_to=message.provider_message_id,
        references=" ".join([*references, message.provider_message_id]),
        note=ticket_link(complaint, settings)
        + refused_note([str(name) for name in raw.get("refused_attachments", [])]),
    )


def _contact_address(contact: Any, complaint: Any, origin: Any, settings: Any) -> ReplyAddress | None:
    """Updates go by e-mail to whoever wrote by e-mail, and to web-form citizens who gave only an address."""
    if not contact.email or (complaint.channel != NAME and contact.phone):
        return None
    subject = f"Kabar aduan [Tiket {format_ticket_code(complaint.ticket_code)}]"
    if origin is not None and origin.channel == NAME:
        subject = reply_subject(str((origin.raw or {}).get("subject", "")), complaint)
        return ReplyAddress(medium="email", recipient=contact.email, sender=settings.mail.sender, subject=subject,
                            in_reply_to=origin.provider_message_id, references=origin.provider_message_id,
                            note=ticket_link(complaint, settings))
    return ReplyAddress(medium="email", recipient=contact.email, sender=settings.mail.sender, subject=subject,
                        note=ticket_link(complaint, settings))


def _build_sender(settings: Any) -> Any:
    from channels.email.send import build_mail_sender

    return build_mail_sender(settings)


def _services(runtime: Any, stop: Any) -> list[Any]:
    """``sambat up`` starts the SMTP listener when smtp.enabled is true."""
    if not runtime.settings.smtp.enabled:
        return []
    from channels.email.listener import start_listener

    return [start_listener(runtime)]


SPEC = ChannelSpec(
    name=NAME, build_sender=_build_sender, reply_address=_reply_address, contact_address=_contact_address,
    thread=find_thread, services=_services,
)
