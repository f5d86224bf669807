"""One mail in, from the SMTP listener or the IMAP poller: parse, keep its photos, store, commit, enqueue.

The caller acknowledges the mail (SMTP 250, IMAP done flag) only after :func:`accept_mail` returned, so a
crash never loses one. The Message-ID is the provider id: the same mail twice (a resend, both ways in)
stores nothing new.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from channels.base import InboundMessage, Media
from channels.email import NAME, ParsedMail, delivery_failure, parse_mail

log = logging.getLogger(__name__)

MAX_STORED_TEXT = 100_000  # characters of the full text (with its quoted history) kept in the raw record


@dataclass(frozen=True)
class Accepted:
    """What became of one mail."""

    message_id: int
    created: bool
    automated: str | None


def accept_mail(runtime: Any, raw: bytes, envelope_from: str | None = None) -> Accepted:
    """Store one mail as an inbound message and enqueue it, with its photos as attachments.

    Args:
        runtime: the app's runtime (database, queue, settings).
        raw: the whole message as received.
        envelope_from: the SMTP MAIL FROM, when known ("" for the null sender of a bounce).

    Raises:
        channels.base.InboundError: a mail that cannot be read as a message from someone.
    """
    from gateway.jobs.inbound import store_and_enqueue

    mail = parse_mail(raw, envelope_from, runtime.settings.mail.authserv_id)
    photos, refused, files = _clean_photos(runtime.settings, mail)
    message = InboundMessage(
        channel=NAME, medium="email", provider_message_id=mail.message_id[:200], sender=mail.sender[:254],
        text=mail.text, recipient=(mail.recipients[0] if mail.recipients else None),
        media=tuple(Media(url=f"media:{attachment.path}", content_type=attachment.content_type)
                    for _, attachment in photos),
        raw=_raw_record(mail, refused), received_at=None, automated=mail.automated is not None,
    )
    try:
        message_id, created = store_and_enqueue(runtime, message)
    except BaseException:
        _remove(files)  # not stored (the database is down: spooled, and cleaned again when it is imported)
        raise
    if not created:
        _remove(files)  # the same mail again: its photos are stored already
    elif photos:
        with runtime.db.session() as session:
            for _, attachment in photos:
                attachment.inbound_message_id = message_id
                session.add(attachment)
            session.commit()
    log.info("mail %s from %s stored as message %s%s%s", mail.message_id, mail.sender, message_id,
             f" (automated: {mail.automated}; not answered)" if mail.automated else "",
             f" (unreadable: {'; '.join(mail.notes)})" if mail.notes else "")
    if mail.automated:
        _record_bounce(runtime, raw)
    return Accepted(message_id=message_id, created=created, automated=mail.automated)


def _record_bounce(runtime: Any, raw: bytes) -> None:
    """A bounce of a mail Sambat sent marks its outbox row undelivered, with the server's status and words.

    The super-admin then sees that the citizen's address does not work; nothing is answered.
    """
    from sqlalchemy import select

    from channels.base import StatusReport
    from gateway.jobs.outbox import apply_status
    from models import Outbox

    failure = delivery_failure(raw)
    if failure is None:
        return
    with runtime.db.session() as session:
        for message_id in failure.message_ids:
            row = session.scalar(select(Outbox).where(Outbox.channel == NAME,
                                                      Outbox.provider_message_id == message_id))
            if row is None:
                continue
            outcome = apply_status(session, StatusReport(provider_message_id=message_id, status="undelivered",
                                                         error_code=failure.status))
            if outcome == "updated":
                row = session.get(Outbox, row.id)
                row.last_error = f"bounced: {failure.status} {failure.diagnostic}".strip()[:2000]
                session.commit()
            log.warning("outbox %s (%s) bounced: %s %s (%s)", row.id, message_id, failure.status,
                        failure.diagnostic, outcome)


def _clean_photos(settings: Any, mail: ParsedMail) -> tuple[list[Any], list[str], list[Path]]:
    """Photos cleaned and written like web-form photos; the ones that fail join the refused list."""
    from channels.photos import LATER_SECONDS, PhotoError, Upload, clean_photo, store_photos

    cleaned, refused = [], list(mail.refused)
    for filename, _, data in mail.photos[: settings.intake.max_photos]:
        try:
            max_bytes = int(settings.intake.max_photo_mb * 1024 * 1024)
            cleaned.append(clean_photo(Upload(filename, data), max_bytes=max_bytes, seconds=LATER_SECONDS))
        except PhotoError as error:
            refused.append(f"{filename} ({error.reason})")
    refused.extend(name for name, _, _ in mail.photos[settings.intake.max_photos:])
    stored = store_photos(settings.intake.media_dir, cleaned) if cleaned else []
    return stored, refused, [path for path, _ in stored]


def _raw_record(mail: ParsedMail, refused: list[str]) -> dict[str, Any]:
    return {
        "message_id": mail.message_id, "from": mail.sender, "to": mail.recipients, "subject": mail.subject,
        "date": mail.date.isoformat() if mail.date else None, "references": mail.references,
        "automated": mail.automated, "refused_attachments": refused,
        "text": mail.full_text[:MAX_STORED_TEXT], "auth": mail.auth, "reply_to": mail.reply_to,
        **({"unreadable": "; ".join(mail.notes)} if mail.notes else {}),
    }


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
