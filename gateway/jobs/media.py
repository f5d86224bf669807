"""Photos that arrive as links (MMS, WhatsApp): fetched after the ticket reply, kept like web-form photos.

The webhook stores only the message with its media URLs. The worker files the complaint and writes the reply,
and in the same transaction one ``media_fetches`` row per file (:func:`plan_fetches`); after the commit the
reply is queued first, then one :func:`fetch_media` job per file. A job downloads the file with the channel's
credentials (``ChannelSpec.fetch_media``), cleans it (:func:`channels.photos.keep_photo`: re-encoded,
no metadata, the form's size and pixel limits) and attaches it to the complaint, so the agency sees it. A
download that fails for a reason that may pass (network, 5xx, credentials) is tried again later with the
outbox's backoff: the scheduler's sweep (:func:`sweep_media`) queues it when it is due. Files that are not
photos, are too large or too many are refused at once and recorded with the reason; the citizen gets one
polite note per message (:data:`REFUSED_NOTE`, never the file's name).
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels import registry
from channels.base import MediaFetchError
from channels.photos import PhotoError, keep_photo, kept_for_later, remove_files
from gateway.runtime import DEFAULT, Runtime, current_runtime, job_id
from models import InboundMessage, Outbox, utcnow
from models.message import (
    MEDIA_CLAIMED,
    MEDIA_FAILED,
    MEDIA_PENDING,
    MEDIA_REFUSED,
    MEDIA_RETRY,
    MEDIA_STORED,
    PENDING,
    MediaFetch,
)

log = logging.getLogger(__name__)

GRACE = timedelta(seconds=30)  # leave fresh rows to the job enqueued for them
CLAIM_TIMEOUT = timedelta(minutes=5)  # a download not finished by then died with its worker
BATCH = 500
REFUSALS = {"too_large", "empty", "not_image", "wrong_type", "too_many_pixels", "too_many", "too_slow"}
# What the citizen is told, once per message, when a photo they sent was refused (one SMS segment, GSM-7).
REFUSED_NOTE = {
    "id": "Foto Anda tidak kami simpan: hanya foto JPEG, PNG atau HEIC sampai 40 megapiksel. "
          "Aduan Anda tetap tercatat.",
    "en": "Your photo was not kept: only JPEG, PNG or HEIC photos up to 40 megapixels. Your complaint is recorded.",
}


def fetch_media(fetch_id: int) -> None:
    """rq job: download and keep one file, if it still waits."""
    fetch(current_runtime(), fetch_id)


def fetch(runtime: Runtime, fetch_id: int) -> str | None:
    """Claim, download, clean and attach one file. Returns its new status, or None if it was not ours."""
    settings = runtime.settings
    with runtime.db.session() as session:
        now = utcnow()
        claimed = session.execute(
            update(MediaFetch)
            .where(MediaFetch.id == fetch_id, MediaFetch.status.in_((MEDIA_PENDING, MEDIA_RETRY)))
            .where(MediaFetch.next_attempt_at.is_(None) | (MediaFetch.next_attempt_at <= now))
            .values(status=MEDIA_CLAIMED, attempts=MediaFetch.attempts + 1, updated_at=now)
        ).rowcount
        session.commit()
        if not claimed:
            return None
        row = session.get(MediaFetch, fetch_id)
        message = session.get(InboundMessage, row.inbound_message_id)
        spec = registry.spec_for(message.channel)
        written: list[Path] = []
        try:
            if spec is None or spec.fetch_media is None:
                raise MediaFetchError(f"channel {message.channel!r} cannot fetch media", "unsupported")
            fetched = spec.fetch_media(settings, row.url, int(settings.intake.max_photo_mb * 1024 * 1024))
            path, attachment = keep_photo(session, settings, fetched.data, complaint_id=message.complaint_id,
                                          inbound_message_id=message.id,
                                          filename=f"{message.provider_message_id}#{row.position}")
            written.append(path)
            row.status, row.attachment_id, row.reason, row.last_error = MEDIA_STORED, attachment.id, None, None
            row.updated_at = utcnow()
            session.commit()
        except MediaFetchError as error:
            return _done_with(runtime, row.url, _failed(session, runtime, row, error.reason, str(error),
                                                        error.retryable))
        except PhotoError as error:
            return _done_with(runtime, row.url, _failed(session, runtime, row, error.reason, str(error),
                                                        retryable=False))
        except BaseException:
            remove_files(written)
            raise
        log.info("media %s of message %s stored as attachment %s", row.position, message.id, row.attachment_id)
        return _done_with(runtime, row.url, MEDIA_STORED)


def _done_with(runtime: Runtime, url: str, status: str) -> str:
    """A photo a web request kept for later (``local:``) is removed once it is stored or refused for good."""
    if url.startswith("local:") and status in (MEDIA_STORED, MEDIA_REFUSED, MEDIA_FAILED):
        try:
            kept_for_later(runtime.settings.intake.media_dir, url.removeprefix("local:")).unlink(missing_ok=True)
        except ValueError:
            pass
    return status


def _failed(session: Session, runtime: Runtime, row: MediaFetch, reason: str, error: str, retryable: bool) -> str:
    settings = runtime.settings
    row.reason, row.last_error, row.updated_at = reason, error[:2000], utcnow()
    if retryable and row.attempts < settings.outbox.max_attempts:
        backoff = settings.outbox.retry_backoff
        delay = backoff[min(row.attempts - 1, len(backoff) - 1)]
        row.status, row.next_attempt_at = MEDIA_RETRY, utcnow() + timedelta(seconds=delay)
        log.warning("media fetch %s: %s; retry %s in %ss", row.id, error, row.attempts, delay)
    else:
        row.status = MEDIA_REFUSED if reason in REFUSALS else MEDIA_FAILED
        log.warning("media fetch %s %s after %s attempt(s): %s", row.id, row.status, row.attempts, error)
    note = _refused_note(session, runtime, row) if row.status == MEDIA_REFUSED else None
    session.commit()
    if note is not None:
        runtime.send_soon(note, priority=DEFAULT)
    return row.status


def _refused_note(session: Session, runtime: Runtime, row: MediaFetch) -> int | None:
    """One polite note per message whose photo was refused, on the channel it came in on; its outbox id."""
    from gateway.complaints.outbox import add_message
    from models import Complaint, Contact

    message = session.get(InboundMessage, row.inbound_message_id)
    key = f"media-refused:{message.id}"
    if not runtime.answers_in_kind(message.channel):
        return None  # the form and the app: the citizen saw their ticket; the agency sees what was kept
    if message.automated or session.scalar(select(Outbox.id).where(Outbox.dedupe_key == key)) is not None:
        return None
    complaint = session.get(Complaint, message.complaint_id) if message.complaint_id else None
    contact = session.get(Contact, message.contact_id) if message.contact_id else None
    language = (contact.language if contact is not None else None) or runtime.settings.default_language
    channel, address = runtime.reply_address(message, complaint)
    try:
        with session.begin_nested():  # another file of the same message may be refused at the same moment
            note = add_message(session, dedupe_key=key, kind="photo_refused", channel=channel, medium=address.medium,
                               recipient=address.recipient, sender=address.sender,
                               body=REFUSED_NOTE.get(language, REFUSED_NOTE["id"]),
                               contact_id=message.contact_id, complaint_id=message.complaint_id,
                               inbound_message_id=message.id, subject=address.subject,
                               in_reply_to=address.in_reply_to, references=address.references,
                               settings=runtime.settings)
            session.flush()
    except IntegrityError:
        return None
    return note.id if note.status == PENDING else None


def sweep_media(runtime: Runtime, grace: timedelta = GRACE) -> int:
    """Queue the downloads that are owed: never queued (a lost job), due for a retry, or whose worker died."""
    now = utcnow()
    with runtime.db.session() as session:
        session.execute(
            update(MediaFetch)
            .where(MediaFetch.status == MEDIA_CLAIMED, MediaFetch.updated_at < now - CLAIM_TIMEOUT)
            .values(status=MEDIA_RETRY, next_attempt_at=now, last_error="download outcome unknown: worker stopped")
        )
        session.commit()
        due = list(session.scalars(
            select(MediaFetch.id).where(
                ((MediaFetch.status == MEDIA_PENDING) & (MediaFetch.created_at < now - grace))
                | ((MediaFetch.status == MEDIA_RETRY) & (MediaFetch.next_attempt_at <= now))
            ).order_by(MediaFetch.id).limit(BATCH)
        ))
    for fetch_id in due:
        runtime.queue.enqueue(fetch_media, fetch_id, priority=DEFAULT, job_id=job_id("media", fetch_id))
    return len(due)

