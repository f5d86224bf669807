"""Storing one checked event: the device is heard, then its messages are stored or its status applied.

The gateway hands the runtime's ``accept_message`` (store, commit, enqueue) and ``apply_report`` (a delivery
report to the outbox) to the channel, so the channel never imports the gateway.

Every event stamps its device's row (``models.Device``): a ping or any other event is a sign of life, and the
console and the scheduler's silence alert read it. Messages are stored under their re-export key
(:func:`channels.android_sms.events.message_key`) and enqueued like any other; an MMS's photos are cleaned
and written like web-form photos and join the message before a worker can see it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from sqlalchemy import func

from channels.android_sms.types import NAME, AndroidEvent, Incoming
from channels.base import Media
from channels.photos import PhotoError, Upload, clean_photo, store_photos
from models import Device, utcnow
from models.base import upsert_insert

log = logging.getLogger(__name__)


def store_event(runtime: Any, event: AndroidEvent) -> str:
    """Record the device, then store the event's messages or apply its status; returns the answer's text."""
    record_device(runtime, event)
    if event.status is not None:
        if event.status.status == "failed":
            log.warning("android-sms: message %s failed: %s", event.status.provider_message_id,
                        event.status.error_code)
        return runtime.apply_report(event.status)
    if not event.messages:
        return event.note
    return "; ".join(_store_message(runtime, incoming) for incoming in event.messages)


def record_device(runtime: Any, event: AndroidEvent) -> None:
    """Stamp the device's row with now (one upsert, committed): last seen, the event, a ping, the SIM."""
    now = utcnow()
    values = {"channel": NAME, "device_id": event.device_id[:64], "first_seen_at": now, "last_seen_at": now,
              "last_event": event.event[:40], "last_ping_at": now if event.event == "system:ping" else None,
              "last_sim_number": event.sim_number}

    def upsert(connection: Any) -> None:
        statement = upsert_insert(connection.dialect.name)(Device).values(**values)
        connection.execute(statement.on_conflict_do_update(
            index_elements=["channel", "device_id"],
            set_={"last_seen_at": statement.excluded.last_seen_at, "last_event": statement.excluded.last_event,
                  "last_ping_at": func.coalesce(statement.excluded.last_ping_at, Device.last_ping_at),
                  "last_sim_number": func.coalesce(statement.excluded.last_sim_number, Device.last_sim_number)},
        ))

    runtime.db.autocommit(upsert)


def _store_message(runtime: Any, incoming: Incoming) -> str:
    """Store one message (and its MMS photos) and enqueue it; a re-exported one stores nothing new."""
    photos, refused, files = _clean_photos(runtime.settings, incoming)
    message = incoming.message
    if photos or refused:
        media = tuple(Media(url=f"media:{attachment.path}", content_type=attachment.content_type)
                      for _, attachment in photos)
        message = replace(message, media=media, raw={**message.raw, "refused_attachments": refused})

    def attach(message_id: int, created: bool) -> None:
        if not created:
            _remove(files)  # the same MMS again: its photos are stored already
            return
        if photos:
            with runtime.db.session() as session:
                for _, attachment in photos:
                    attachment.inbound_message_id = message_id
                    session.add(attachment)
                session.commit()

    try:
        message_id, created = runtime.accept_message(message, before_enqueue=attach)
    except BaseException:
        _remove(files)
        raise
    log.info("android-sms %s from %s stored as message %s%s", message.medium, message.sender, message_id,
             "" if created else " before (a retry or a re-export)")
    return incoming.note


def _clean_photos(settings: Any, incoming: Incoming) -> tuple[list[Any], list[str], list[Path]]:
    """An MMS's images cleaned and written like web-form photos (channels.photos, its limits); the rest
    join the refused list."""
    if not incoming.photos:
        return [], list(incoming.refused), []
    cleaned, refused = [], list(incoming.refused)
    for name, data in incoming.photos[: settings.intake.max_photos]:
        try:
            cleaned.append(clean_photo(Upload(name, data), max_bytes=int(settings.intake.max_photo_mb * 1024 * 1024)))
        except PhotoError as error:
            refused.append(f"{name} ({error.reason})")
    refused.extend(f"{name} (more than {settings.intake.max_photos} photos)"
                   for name, _ in incoming.photos[settings.intake.max_photos:])
    stored = store_photos(settings.intake.media_dir, cleaned) if cleaned else []
    return stored, refused, [path for path, _ in stored]


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
