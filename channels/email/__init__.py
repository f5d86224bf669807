"""E-mail: read a mail as a complaint (or an addition to one), and address the answers so they thread.

Mail comes in two ways (``sambat smtp``, ``sambat imap``: :mod:`channels.email.listener`,
:mod:`channels.email.poller`), both through :func:`gateway.jobs.mail.accept_mail`. Parsing uses the
standard library's ``email`` package with ``policy.default``: plain or HTML-only bodies in any charset become
clean text with the quoted history cut off; photos are kept like web-form photos and other attachments are
refused politely. The Message-ID is the provider id, so the same mail twice is one message.

A reply continues its complaint: its In-Reply-To / References name a mail Sambat sent, or its subject
carries "[Tiket 1234 5678]". Auto-replies, bounces and list mail are stored but never answered; a bounce of a
mail Sambat sent marks that outbox row undelivered with the server's status (:func:`delivery_failure`).

Who a mail is from is its envelope sender (SMTP MAIL FROM; from a mailbox, the Return-Path its server wrote;
the From header only when neither is known), checked against the SPF/DKIM/DMARC verdict the receiving server
recorded (Authentication-Results, :func:`auth_verdict`). Reply-To never decides it. A mail whose verdict is
``fail`` is not proven: it is filed without a contact and never answered. Answers go to the proven sender
only, under Sambat's own subject; neither the citizen's subject nor an attachment's name is echoed.

A mail that cannot be read cleanly (an unknown charset, NUL bytes) is still stored, with the bytes replaced
and a note in its record (``unreadable``), and answered like any other.
"""

from __future__ import annotations

import codecs
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
    auth: str = "none"  # the receiving server's verdict: "pass", "fail" or "none" (none recorded)
    reply_to: str = ""  # kept for the record only: never who the mail is from, never where answers go
    notes: list[str] = field(default_factory=list)  # what could not be read as sent (charset, NUL bytes)


def parse_mail(raw: bytes, envelope_from: str | None = None, authserv_id: str = "") -> ParsedMail:
    """Read one mail as it arrived (bytes of the whole message).

    Args:
        raw: the message, headers and body.
        envelope_from: the SMTP MAIL FROM when it came through our listener ("" is the null sender <>).
        authserv_id: whose Authentication-Results count (``mail.authserv_id``); empty: the topmost one.

    Raises:
        InboundError: no usable sender address.
    """
    notes: list[str] = []
    if b"\0" in raw:
        raw = raw.replace(b"\0", b"")
        notes.append("NUL bytes removed")
    mail: EmailMessage = BytesParser(policy=policy.default).parsebytes(raw)  # type: ignore[assignment]
    sender = (mail_address(envelope_from or "") or _first_address(_header(mail, "Return-Path"))
              or _first_address(_header(mail, "From")))
    if not sender:
        raise InboundError("the mail has no sender address (From)")
    found = _MESSAGE_ID.findall(_header(mail, "Message-ID"))
    message_id = readable(found[0]) if found else f"<sha256.{hashlib.sha256(raw).hexdigest()}@sambat.invalid>"
    references = _MESSAGE_ID.findall(_header(mail, "References")) + _MESSAGE_ID.findall(_header(mail, "In-Reply-To"))
    full_text = _body_text(mail, notes)
    photos, refused = _attachments(mail)
    try:
        date = parsedate_to_datetime(_header(mail, "Date")) if _header(mail, "Date") else None
    except (TypeError, ValueError):
        date = None
    return ParsedMail(
        message_id=message_id, sender=readable(sender.lower()),
        subject=readable(" ".join(_header(mail, "Subject").split())),
        text=readable(new_text(full_text)), full_text=readable(full_text),
        references=[readable(ref) for ref in dict.fromkeys(references)],
        automated=automated_reason(mail, envelope_from), photos=photos, refused=[readable(name) for name in refused],
        recipients=[readable(a.lower()) for a in (mail_address(v) for _, v in getaddresses([_header(mail, "To")]))
                    if a],
        date=date if date is not None and date.tzinfo else None,
        auth=auth_verdict(mail.get_all("Authentication-Results") or [], authserv_id),
        reply_to=_first_address(_header(mail, "Reply-To")).lower(), notes=notes,
    )


def readable(text: str) -> str:
    """Text that any database stores: NUL and lone surrogates (undecodable bytes) become U+FFFD."""
    return "".join("\ufffd" if char == "\0" or 0xD800 <= ord(char) <= 0xDFFF else char for char in text)


_AUTH_METHOD = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*([a-z]+)", re.IGNORECASE)


def auth_verdict(headers: list[Any], authserv_id: str = "") -> str:
    """The receiving server's SPF/DKIM/DMARC verdict on a mail (RFC 8601 Authentication-Results).

    Only the header written by ``authserv_id`` counts (a sender can write headers of its own below it); with
    none configured, the topmost header, which the last server to receive the mail wrote.

    Returns:
        ``fail`` (DMARC failed, or SPF failed without a passing DKIM signature), ``pass`` (DMARC, or SPF or
        DKIM, passed), or ``none`` (no verdict recorded).
    """
    chosen = None
    for header in headers:
        value = " ".join(str(header).split())
        server = value.split(";", 1)[0].strip().split(" ")[0].lower()
        if not authserv_id or server == authserv_id.strip().lower():
            chosen = value
            break
    if chosen is None:
        return "none"
    results: dict[str, set[str]] = {}
    for method, result in _AUTH_METHOD.findall(chosen.split(";", 1)[1] if ";" in chosen else ""):
        results.setdefault(method.lower(), set()).add(result.lower())
    if "fail" in results.get("dmarc", ()):
        return "fail"
    if "pass" in results.get("dmarc", ()):
        return "pass"
    dkim_pass = "pass" in results.get("dkim", ())
    if results.get("spf", set()) & {"fail", "softfail"} and not dkim_pass:
        return "fail"
    if dkim_pass or "pass" in results.get("spf", ()):
        return "pass"
    return "none"


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


def _body_text(mail: EmailMessage, notes: list[str] | None = None) -> str:
    """The text of the body: text/plain preferred, else HTML made into text.

    An unknown charset is read as UTF-8 with the bytes that are not replaced (and a note added to ``notes``).
    """
    part = mail.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    try:
        content = part.get_content()
    except (LookupError, UnicodeError, AssertionError):
        payload = part.get_payload(decode=True) or b""
        charset = part.get_content_charset() or "latin-1"
        try:
            codecs.lookup(charset)
        except LookupError:
            if notes is not None:
                notes.append(f"unknown charset {charset[:40]!r} read as UTF-8, unreadable bytes replaced")
            charset = "utf-8"
        content = payload.decode(charset, errors="replace") if isinstance(payload, bytes) else str(payload)
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

    Only the address that filed a complaint continues it (the address of the contact it was filed under, alone
    or in a pair); a mail from anyone else, whatever its Reply-To, is a complaint of its own.
    """
    from models import Complaint, Contact, Outbox

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
    owner = session.scalar(select(Contact.email).join(Complaint, Complaint.contact_id == Contact.id)
                           .where(Complaint.id == complaint_id))
    return complaint_id if owner is not None and owner.lower() == (message.sender or "").lower() else None


def reply_subject(subject: str = "", complaint: Any = None) -> str:
    """Sambat's own subject for an answer: ``Aduan [Tiket 1234 5678]`` (the token threads a reply).

    The citizen's subject is never echoed (it would let anyone send their words from the city's address).
    """
    if complaint is None:
        return "Sambat: balasan"
    return f"Aduan [Tiket {format_ticket_code(complaint.ticket_code)}]"


def refused_note(names: list[str]) -> str:
    """The polite line under a reply when attachments were not kept: how many, never their names."""
    if not names:
        return ""
    count = len(names)
    return (f"\n\n{count} lampiran tidak kami simpan: hanya foto JPEG, PNG atau HEIC (paling besar 10.000 piksel "
            f"per sisi, 40 megapiksel) yang diterima.\n{count} attachment(s) were not kept: only JPEG, PNG or HEIC "
            f"photos (up to 10,000 pixels a side, 40 megapixels) are accepted.")


def unproven(message: Any) -> bool:
    """True for a mail whose sender the receiving server's verdict did not prove (``fail``): never answered."""
    return (message.raw or {}).get("auth") == "fail"


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
        subject=reply_subject("", complaint), in_reply_to=message.provider_message_id,
        references=" ".join([*references, message.provider_message_id]),
        note=ticket_link(complaint, settings)
        + refused_note([str(name) for name in raw.get("refused_attachments", [])]),
    )


def _contact_address(contact: Any, complaint: Any, origin: Any, settings: Any) -> ReplyAddress | None:
    """Updates go by e-mail to whoever wrote by e-mail, and to web-form citizens who gave only an address."""
    if not contact.email or (complaint.channel != NAME and contact.phone):
        return None
    subject = reply_subject("", complaint)
    if origin is not None and origin.channel == NAME:
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
