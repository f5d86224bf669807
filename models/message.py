"""Messages in (stored raw before anything else) and the outbox (every message out is a row first)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, UTCDateTime, utcnow

# JSON whose Python None is SQL NULL (not the JSON value null), so "IS NULL" means "none given".
NULLABLE_JSON = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")


class InboundMessage(Base):
    """A message as a provider delivered it, unique per channel by the provider's own id."""

    __tablename__ = "inbound_messages"
    __table_args__ = (
        UniqueConstraint("channel", "provider_message_id"),
        # The citizen's last WhatsApp message opens a 24-hour window (gateway.jobs.whatsapp): found by sender.
        Index("ix_inbound_messages_sender_received_at", "sender", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))  # the adapter: twilio, android-sms, email, web, api
    medium: Mapped[str] = mapped_column(String(20))  # sms, mms, whatsapp, email, web
    provider_message_id: Mapped[str] = mapped_column(String(200))
    sender: Mapped[str] = mapped_column(String(254))  # E.164 phone or e-mail address
    recipient: Mapped[str | None] = mapped_column(String(254))  # our number or address it came to
    # The phone and SIM it came in through (SMS Gateway for Android: deviceId, simNumber; migration 0008).
    device_id: Mapped[str | None] = mapped_column(String(64))
    sim_number: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text, default="")
    media: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    raw: Mapped[dict[str, Any]] = mapped_column(JSONType)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    # complaints also point here (the message that created them): add this key after both tables exist.
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id", use_alter=True), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    # An auto-reply, bounce or list mail (or any message that must not be answered): stored, never answered.
    automated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # A shared place (a WhatsApp location pin): {"latitude", "longitude", "address", "label"} (migration 0009).
    location: Mapped[dict[str, Any] | None] = mapped_column(NULLABLE_JSON)
    # Its processing job (migration 0012): runs started, the time before which the scheduler leaves it to the run
    # that has it, the last run's error, and when it was given up (dead: shown in the console, retried by hand).
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    dead_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# Outbox statuses. pending/retry wait for a send; claimed: one worker is sending it; dead: its sends failed
# jobs.max_attempts times (the console shows it, with a retry button); the rest follow the provider's reports.
# Ranks order them so a late callback never rolls a final status back (a provider's report still moves a dead row).
PENDING, RETRY, CLAIMED, DEAD = "pending", "retry", "claimed", "dead"
STATUS_RANK = {
    PENDING: 0, RETRY: 0, CLAIMED: 1, DEAD: 1, "accepted": 2, "scheduled": 2, "queued": 2, "sending": 3,
    "sent": 4, "not_sent": 5, "delivered": 5, "undelivered": 5, "failed": 5, "canceled": 5, "read": 6,
}
FINAL_STATUSES = {"not_sent", "delivered", "undelivered", "failed", "canceled", "read"}
# Taken by the provider but not yet final: after outbox.reconcile_after the provider is asked (gateway.jobs.outbox).
IN_FLIGHT = ("accepted", "scheduled", "queued", "sending", "sent")
ERROR_CODE_LENGTH = 100  # outbox.error_code: the longest provider failure code or reason kept (migration 0007)
# How a WhatsApp message went (outbox.path): free text inside the 24-hour window, an approved template past it,
# or by SMS instead (no template, or WhatsApp still refused). NULL for messages that never were WhatsApp.
FREEFORM, TEMPLATE, SMS_FALLBACK = "freeform", "template", "sms_fallback"
OUTBOX_PATHS = (FREEFORM, TEMPLATE, SMS_FALLBACK)


class Outbox(Base):
    """One outbound message: written before it is sent, so a crash never loses or doubles it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_next_attempt", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # What made this message, e.g. "reply:42" or "event:7:3"; unique, so a repeated job adds nothing.
    dedupe_key: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(20))  # the provider that sends it: twilio, console ...
    medium: Mapped[str] = mapped_column(String(20))  # sms, whatsapp, email
    recipient: Mapped[str] = mapped_column(String(254))
    sender: Mapped[str | None] = mapped_column(String(254))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=PENDING)
    provider_message_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    error_code: Mapped[str | None] = mapped_column(String(ERROR_CODE_LENGTH))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"), index=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id"), index=True)
    inbound_message_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_messages.id"), index=True)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # E-mail only: the subject, and the Message-IDs this mail answers (its own is provider_message_id).
    subject: Mapped[str | None] = mapped_column(Text)
    in_reply_to: Mapped[str | None] = mapped_column(Text)
    thread_references: Mapped[str | None] = mapped_column(Text)
    # WhatsApp (migration 0009): the path it took (OUTBOX_PATHS), and the values its text was made from, which
    # become an approved template's variables past the 24-hour window ({"code": "1234 5678", "status": ...}).
    path: Mapped[str | None] = mapped_column(String(20))
    template_values: Mapped[dict[str, Any] | None] = mapped_column(NULLABLE_JSON)
    # Since when the provider may hold this message although we have no id for it (a send whose outcome is
    # unknown: the worker stopped, the answer timed out): before sending again, the provider is asked (migration
    # 0012). NULL when every earlier attempt is known to have failed.
    unsure_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Refusals of the provider's "too many requests" (HTTP 429): it took nothing, so they are not failed attempts
    # until outbox.max_throttled of them; they still make the wait before the next try grow (migration 0017).
    throttled: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The process holding the claim of a send (gateway.jobs.claimant: boot, PID namespace, PID, start time): the
    # sweep takes back a claim whose process is gone without waiting for the claim timeout (migration 0018).
    claimed_by: Mapped[str | None] = mapped_column(String(120))

    def __repr__(self) -> str:
        return f"<Outbox {self.id} {self.kind} {self.status} to {self.recipient}>"


# Media downloads (media_fetches.status): waiting, due again later, being fetched, then stored as an attachment,
# refused (not a photo, too large: never retried) or failed (gone, or still unreachable after every attempt).
MEDIA_PENDING, MEDIA_RETRY, MEDIA_CLAIMED = "pending", "retry", "claimed"
MEDIA_STORED, MEDIA_REFUSED, MEDIA_FAILED = "stored", "refused", "failed"


class MediaFetch(Base):
    """One file of an inbound message that its provider hosts (an MMS or WhatsApp photo), to download.

    Written by the worker with the message's complaint, fetched by its own job after the ticket reply has
    gone; a download that fails is tried again later with backoff (the scheduler's sweep), like the outbox.
    """

    __tablename__ = "media_fetches"
    __table_args__ = (UniqueConstraint("inbound_message_id", "position"),
                      Index("ix_media_fetches_status_next_attempt", "status", "next_attempt_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    inbound_message_id: Mapped[int] = mapped_column(ForeignKey("inbound_messages.id"))
    position: Mapped[int] = mapped_column(Integer)  # its place in the message (Twilio's MediaUrlN)
    url: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(100))  # as the provider announced it
    status: Mapped[str] = mapped_column(String(20), default=MEDIA_PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reason: Mapped[str | None] = mapped_column(String(40))  # why it was refused or failed: too_large, not_image ...
    last_error: Mapped[str | None] = mapped_column(Text)
    attachment_id: Mapped[int | None] = mapped_column(ForeignKey("attachments.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    def __repr__(self) -> str:
        return f"<MediaFetch {self.id} message {self.inbound_message_id}#{self.position} {self.status}>"
