"""Reading the app's signed webhook events: every event of its enum, each into what Sambat keeps of it.

Checks go in a fixed order, each with its own 4xx: signature (403), age of the timestamp (403, a replay), the
JSON and its required fields (400), decryption (400), the sender's number (400). The app retries an event
for about two days until it gets a 2xx, so a 400 is for what a fix on our side (a passphrase) can still save.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from channels.android_sms.crypto import PayloadCipher
from channels.android_sms.types import NAME, AndroidEvent, Incoming
from channels.base import BadSignature, InboundError, InboundMessage, MissingField, StatusReport
from channels.phone import to_e164

# The app's events (swagger smsgateway.WebhookEvent), and the batch and lifecycle ones its client also knows.
MESSAGE_EVENTS = ("sms:received", "sms:data-received", "mms:received", "mms:downloaded")
BATCH_EVENTS = {"sms:batch:received": "sms:received", "sms:batch:data-received": "sms:data-received",
                "mms:batch:received": "mms:received", "mms:batch:downloaded": "mms:downloaded"}
STATUS_EVENTS = {"sms:sent": "sent", "sms:delivered": "delivered", "sms:failed": "failed",
                 "sms:cancelled": "canceled"}
DEVICE_EVENTS = ("system:ping", "app:started")
OUR_ID = re.compile(r"^sambat-(\d+)-[0-9a-f]+$")
# A carrier or service sender, never a citizen: an alphanumeric sender ID (TELKOMSEL, AXIS) or a short code (3636).
SHORT_CODE = re.compile(r"^\d{3,6}$")
# MMS parts that are the message's layout or its text (already in ``body``), not attachments.
LAYOUT_TYPES = ("application/smil", "text/plain")


class AndroidSmsChannel:
    """The app's webhook: reads each event (``parse_event``), then stores it (``store_event``)."""

    name = NAME

    def __init__(self, signing_key: str | None, region: str = "ID", max_age: int = 300,
                 passphrase: str | None = None, clock: Callable[[], float] = time.time) -> None:
        self.signing_key = signing_key
        self.region = region
        self.max_age = max_age
        self.cipher = PayloadCipher(passphrase)
        self.clock = clock

    def verify(self, request: Request) -> None:
        """Check X-Signature over the raw body and X-Timestamp, and that the timestamp is recent.

        Raises:
            BadSignature: a missing or wrong signature, no signing key configured, or a stale timestamp.
        """
        signature, timestamp = request.headers.get("X-Signature"), request.headers.get("X-Timestamp")
        if not signature or not timestamp:
            raise BadSignature("missing X-Signature or X-Timestamp header")
        if not self.signing_key:
            raise BadSignature("SAMBAT_ANDROID_SMS_SIGNING_KEY is not set, so no signature can be checked")
        expected = hmac.new(self.signing_key.encode(), request.get_data() + timestamp.encode(), hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest(), signature.strip().lower()):
            raise BadSignature("X-Signature does not match the body and X-Timestamp")
        try:
            age = self.clock() - int(timestamp)
        except ValueError:
            raise BadSignature(f"X-Timestamp is not a Unix time: {timestamp!r}") from None
        if abs(age) > self.max_age:
            raise BadSignature(f"X-Timestamp is {int(age)} s off the clock (limit {self.max_age} s): "
                               "refused as a replay")

    def parse_event(self, request: Request, url: str) -> AndroidEvent:
        """Check and read one webhook event (the app's WebHookEvent).

        Raises:
            InboundError: refused (signature, JSON, fields, decryption, phone number).
        """
        self.verify(request)
        try:
            document = json.loads(request.get_data())
        except (ValueError, UnicodeDecodeError):
            raise InboundError("body is not JSON") from None
        if not isinstance(document, dict):
            raise InboundError("body is not a JSON object")
        for field_name in ("event", "id", "deviceId"):
            if not isinstance(document.get(field_name), str) or not document[field_name]:
                raise MissingField(f"missing required field {field_name}")
        payload = document.get("payload")
        if not isinstance(payload, dict):
            raise MissingField("missing required field payload (a JSON object)")
        event, event_id, device_id = document["event"], document["id"], document["deviceId"]
        header = {key: document.get(key) for key in ("id", "webhookId", "event", "deviceId")}
        if event in DEVICE_EVENTS:
            return AndroidEvent(event, event_id, device_id, note=f"{event} from device {device_id}: alive")
        if event in STATUS_EVENTS:  # their messageId, reason and SIM are never encrypted
            return AndroidEvent(event, event_id, device_id, status=_status(document, payload, STATUS_EVENTS[event]),
                                sim_number=_sim(payload))
        if event in MESSAGE_EVENTS:
            items = [payload]
        elif event in BATCH_EVENTS:
            items = payload.get("messages")
            if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
                raise MissingField("missing required field payload.messages (a list of objects)")
            event = BATCH_EVENTS[event]
        else:
            return AndroidEvent(event, event_id, device_id, note=f"ignoring event {event!r}")
        single = event in MESSAGE_EVENTS
        messages = tuple(self._message(event, header, item, "payload" if single else f"payload.messages[{index}]",
                                       event_id if single else f"{event_id}:{index}")
                         for index, item in enumerate(items))
        sims = [incoming.message.sim_number for incoming in messages if incoming.message.sim_number]
        return AndroidEvent(document["event"], event_id, device_id, messages=messages,
                            sim_number=sims[-1] if sims else None)

    def _message(self, event: str, header: dict[str, Any], payload: dict[str, Any], where: str,
                 event_id: str) -> Incoming:
        """One received message (SMS, data SMS, MMS notice or downloaded MMS) as Sambat stores it."""
        payload, encrypted = self.cipher.decrypt_payload(payload, where)
        sender, carrier = self._sender(payload, lenient=event not in ("sms:received", "mms:downloaded"))
        received_at = _timestamp(payload.get("receivedAt"))
        raw = {**header, "payload": payload}
        if encrypted:
            raw["encrypted"] = encrypted  # decrypted with the passphrase; kept in the clear like every message
        common = {"channel": NAME, "sender": sender, "recipient": self._recipient(payload),
                  "device_id": header["deviceId"][:64], "sim_number": _sim(payload), "received_at": received_at}
        photos: list[tuple[str, bytes]] = []
        refused: list[str] = []
        if event == "sms:received":
            text = _required_text(payload, "message")
            kind, medium, key_content, note, automated = "sms", "sms", text, "stored", carrier
        elif event == "sms:data-received":
            data = _required_text(payload, "data")
            text, kind, medium, key_content = "", "data", "sms", data
            note, automated = "stored: a data SMS, kept and never answered", True
        elif event == "mms:received":
            text = str(payload.get("subject") or "")
            kind, medium, key_content = "mms-notice", "mms", str(payload.get("transactionId") or text)
            note, automated = "stored: the notice of an MMS; its text and photos come with mms:downloaded", True
        else:
            text = "\n".join(str(part) for part in (payload.get("subject"), payload.get("body")) if part)
            photos, refused, parts = _attachments(payload.get("attachments"))
            raw["payload"] = {**payload, "attachments": parts}
            if carrier:  # a carrier's picture message: the text is kept, its pictures are not
                photos, refused = [], []
            kind, medium, key_content, note, automated = "mms", "mms", text, "stored", carrier
        if carrier:
            note = f"stored: {sender!r} is a carrier or service sender, not a citizen: never answered"
        key = message_key(kind, sender, key_content, received_at, event_id)
        message = InboundMessage(medium=medium, provider_message_id=key, text=text, raw=raw, automated=automated,
                                 **common)
        return Incoming(message, photos=tuple(photos), refused=tuple(refused), note=note)

    def _sender(self, payload: dict[str, Any], lenient: bool) -> tuple[str, bool]:
        """The citizen: ``sender``, or the deprecated ``phoneNumber``; E.164, or a carrier's name as given.

        Returns:
            The sender and whether it is a carrier or service sender (alphanumeric or a short code).
        """
        given = payload.get("sender") or payload.get("phoneNumber")
        if not isinstance(given, str) or not given.strip():
            raise MissingField("missing required field payload.sender (or the deprecated payload.phoneNumber)")
        given = given.strip()
        if is_carrier(given):
            return given[:254], True
        try:
            return to_e164(given, self.region), False
        except InboundError:
            if lenient:  # stored and never answered: keep the sender as the app gave it
                return given[:254], False
            raise

    def _recipient(self, payload: dict[str, Any]) -> str | None:
        """The SIM's own number the message came to, E.164 when it is a number (``null``: unknown)."""
        recipient = payload.get("recipient")
        if not isinstance(recipient, str) or not recipient.strip():
            return None
        try:
            return to_e164(recipient, self.region)
        except InboundError:
            return recipient.strip()[:254]

    def store_event(self, runtime: Any, event: AndroidEvent) -> str:
        """Store a checked event (:func:`channels.android_sms.store.store_event`); returns the answer's text."""
        from channels.android_sms.store import store_event

        return store_event(runtime, event)

    def answer(self) -> Response:
        """A 200 as soon as the message is stored; anything else makes the app retry."""
        return Response("stored\n", status=200, mimetype="text/plain")


def is_carrier(sender: str) -> bool:
    """An alphanumeric sender ID (``TELKOMSEL``, ``AXIS``) or a short code (``3636``): not a citizen's phone."""
    return any(char.isalpha() for char in sender) or bool(SHORT_CODE.match(sender))


def message_key(kind: str, sender: str, content: str, received_at: datetime | None, event_id: str) -> str:
    """The stored message's key: the same SMS re-exported by the phone under a new event id has the same one.

    Derived from the sender, the content and the moment the phone received it (to the second, in UTC); an event
    without ``receivedAt`` is known by its event id only.
    """
    if received_at is None:
        return f"event:{event_id}"[:200]
    moment = received_at.astimezone(UTC).replace(microsecond=0).isoformat()
    digest = hashlib.sha256(f"{kind}\n{sender}\n{moment}\n{content}".encode()).hexdigest()
    return f"{kind}:{digest[:48]}"


def _status(document: dict[str, Any], payload: dict[str, Any], status: str) -> StatusReport:
    message_id = payload.get("messageId")
    if not message_id:
        raise MissingField("missing required field payload.messageId")
    ours = OUR_ID.match(str(message_id))
    reason = payload.get("reason") if status == "failed" else None
    return StatusReport(
        provider_message_id=str(message_id), status=status,
        error_code=str(reason or "Unknown")[:100] if status == "failed" else None,  # outbox.error_code's width
        outbox_id=int(ours.group(1)) if ours else None, raw=document,
    )


def _attachments(parts: Any) -> tuple[list[tuple[str, bytes]], list[str], list[dict[str, Any]]]:
    """The images of a downloaded MMS, what is not kept (and why), and the parts as stored (without the data)."""
    photos, refused, stored = [], [], []
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, dict):
            continue
        content_type = str(part.get("contentType") or "").lower()
        name = str(part.get("name") or f"part-{part.get('partId')}")
        stored.append({key: part.get(key) for key in ("partId", "contentType", "name", "size")})
        if content_type.startswith(LAYOUT_TYPES):
            continue
        if not content_type.startswith("image/"):
            refused.append(f"{name} ({content_type or 'no type'}: not a photo)")
            continue
        if not part.get("data"):
            refused.append(f"{name} (not downloaded by the phone)")
            continue
        try:
            photos.append((name, base64.b64decode(str(part["data"]), validate=True)))
        except (binascii.Error, ValueError):
            refused.append(f"{name} (not base64)")
    return photos, refused, stored


def _required_text(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str):
        raise MissingField(f"missing required field payload.{name}")
    return value


def _sim(payload: dict[str, Any]) -> int | None:
    sim = payload.get("simNumber")
    return sim if isinstance(sim, int) and not isinstance(sim, bool) and sim >= 1 else None


def _timestamp(value: Any) -> datetime | None:
    """The app's ISO 8601 time with offset (device local time), or None."""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None
