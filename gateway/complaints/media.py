"""A message's files go with its complaint: photos stored already (e-mail, MMS through the phone) are attached,
ones its provider hosts (MMS, WhatsApp through Twilio) get a ``media_fetches`` row each, which
``gateway.jobs.media`` downloads after the ticket reply."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from channels.photos import is_photo_type
from gateway.runtime import Runtime
from models import Attachment, InboundMessage
from models.message import MEDIA_PENDING, MEDIA_REFUSED, MediaFetch


def attach_media(session: Session, runtime: Runtime, message: InboundMessage) -> None:
    """The message's files go with its complaint: photos stored already (e-mail) are attached, linked ones
    (MMS, WhatsApp) get a fetch row each. Called by the worker in the transaction that files or adds to it."""
    if message.complaint_id is None or not message.media:
        return
    session.execute(update(Attachment)
                    .where(Attachment.inbound_message_id == message.id, Attachment.complaint_id.is_(None))
                    .values(complaint_id=message.complaint_id))
    plan_fetches(session, runtime, message)


def plan_fetches(session: Session, runtime: Runtime, message: InboundMessage) -> list[MediaFetch]:
    """One fetch row per linked file; what is not an image, or past ``intake.max_photos``, is refused now."""
    rows, photos = [], 0
    for position, item in enumerate(message.media or []):
        url = str(item.get("url") or "")
        if not url.startswith(("http://", "https://")):
            continue  # stored already (e-mail photos are kept as the mail is received)
        row = MediaFetch(inbound_message_id=message.id, position=position, url=url,
                         content_type=(item.get("content_type") or None), status=MEDIA_PENDING, attempts=0)
        if not is_photo_type(row.content_type):
            row.status, row.reason = MEDIA_REFUSED, "wrong_type"  # a voice note, a video, a contact card
        elif photos >= runtime.settings.intake.max_photos:
            row.status, row.reason = MEDIA_REFUSED, "too_many"
        else:
            photos += 1
        session.add(row)
        rows.append(row)
    return rows


def waiting(runtime: Runtime, message_id: int) -> list[int]:
    """The ids of a message's files still to fetch (queued by the worker after the reply's send)."""
    with runtime.db.session() as session:
        return list(session.scalars(select(MediaFetch.id).where(MediaFetch.inbound_message_id == message_id,
                                                                MediaFetch.status == MEDIA_PENDING)))
