"""SMS through an Android phone running SMS Gateway for Android (capcom6/android-sms-gateway).

Twilio offers no two-way SMS in Indonesia, so a city receives SMS on a SIM in a phone running the app (local
or cloud mode). The app posts every event to one webhook, signed: ``X-Signature`` is the hex HMAC-SHA256 of
the raw body followed by ``X-Timestamp`` (Unix seconds), keyed with the signing key from the app's settings.
Checks go in a fixed order, each with its own 4xx: signature (403), age of the timestamp (403, a replay),
the JSON and its required fields (400), the sender's number to E.164 (400). The app retries an event for
days with the same event ``id`` (its ``messageId`` is a hash of the content and not unique), so the event id
is the message's provider id: a repeat stores nothing new.

Sending goes through the app's message API (``POST <api url>/messages``, basic auth) with a delivery report.
Our message id is ``sambat-<outbox id>-<hash>``, so a retried send is refused as a duplicate (409) instead of
going out twice, and the sms:sent / sms:delivered / sms:failed events name our outbox row.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import requests
from pydantic import SecretStr, field_validator
from werkzeug.wrappers import Request, Response

from channels.base import (
    BadSignature,
    ChannelConfigError,
    Ignored,
    InboundError,
    InboundMessage,
    InvalidRecipient,
    MissingField,
    OutboundMessage,
    ProviderUnavailable,
    Rejected,
    SendError,
    SendResult,
    StatusReport,
    Throttled,
)
from channels.config import Section, http_url, setting, whole
from channels.phone import to_e164
from channels.registry import ChannelSpec, Webhook

log = logging.getLogger(__name__)

NAME = "android-sms"
STATUS_EVENTS = {"sms:sent": "sent", "sms:delivered": "delivered", "sms:failed": "failed"}
OUR_ID = re.compile(r"^sambat-(\d+)-[0-9a-f]+$")
# The app's queue order: higher first; 100 and above would bypass the phone's own send limits, so we stay below.
PRIORITY_REPLY, PRIORITY_UPDATE = 50, 0


class AndroidSmsChannel:
    """Reads the app's signed webhook events: a new SMS, or the delivery status of one we sent."""

    name = NAME

    def __init__(self, signing_key: str | None, region: str = "ID", max_age: int = 300,
                 clock: Callable[[], float] = time.time) -> None:
        self.signing_key = signing_key
        self.region = region
        self.max_age = max_age
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

    def parse_event(self, request: Request, url: str) -> InboundMessage | StatusReport:
        """Read one webhook event after checking its signature.

        Returns:
            An :class:`InboundMessage` for sms:received, a :class:`StatusReport` for sms:sent / sms:delivered /
            sms:failed.

        Raises:
            InboundError: refused (signature, JSON, fields, phone number).
            Ignored: a well-formed event we do not act on (system:ping, MMS and data SMS).
        """
        self.verify(request)
        try:
            document = json.loads(request.get_data())
        except (ValueError, UnicodeDecodeError):
            raise InboundError("body is not JSON") from None
        if not isinstance(document, dict):
            raise InboundError("body is not a JSON object")
        for field_name in ("event", "id", "payload"):
            if not document.get(field_name):
                raise MissingField(f"missing required field {field_name}")
        event, payload = document["event"], document["payload"]
        if not isinstance(payload, dict):
            raise InboundError("payload is not a JSON object")
        if event == "system:ping":
            raise Ignored(f"system:ping from device {document.get('deviceId')}: alive")
        if event == "sms:received":
            return self._received(document, payload)
        if event in STATUS_EVENTS:
            return self._status(document, payload, STATUS_EVENTS[event])
        raise Ignored(f"ignoring event {event!r}")

    def _received(self, document: dict[str, Any], payload: dict[str, Any]) -> InboundMessage:
        for field_name in ("phoneNumber", "message"):
            if payload.get(field_name) is None:
                raise MissingField(f"missing required field payload.{field_name}")
        sim = payload.get("simNumber")
        return InboundMessage(
            channel=NAME, medium="sms", provider_message_id=str(document["id"]),
            sender=to_e164(str(payload["phoneNumber"]), self.region), text=str(payload["message"]),
            recipient=f"sim:{sim}" if isinstance(sim, int) else None, raw=document,
            received_at=_timestamp(payload.get("receivedAt")),
        )

    def _status(self, document: dict[str, Any], payload: dict[str, Any], status: str) -> StatusReport:
        message_id = payload.get("messageId")
        if not message_id:
            raise MissingField("missing required field payload.messageId")
        ours = OUR_ID.match(str(message_id))
        reason = payload.get("reason")
        if reason:
            log.warning("android-sms: message %s failed: %s", message_id, reason)
        return StatusReport(
            provider_message_id=str(message_id), status=status,
            error_code=str(reason)[:100] if reason else None,  # outbox.error_code's width
            outbox_id=int(ours.group(1)) if ours else None, raw=document,
        )

    def answer(self) -> Response:
        """A 200 as soon as the message is stored; anything else makes the app retry."""
        return Response("stored\n", status=200, mimetype="text/plain")


def _timestamp(value: Any) -> datetime | None:
    """The app's ISO 8601 time with offset (device local time), or None."""
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


class AndroidSmsSender:
    """Sends SMS through the app's message API, with a delivery report."""

    name = NAME

    def __init__(self, api_url: str, username: str, password: str, timeout: float = 10.0) -> None:
        self.url = api_url.rstrip("/") + "/messages"
        self.http = requests.Session()
        self.http.auth = (username, password)
        self.timeout = timeout

    @staticmethod
    def message_id(message: OutboundMessage) -> str:
        """Our id for the app: the same for every attempt at one outbox row, so a repeat is a 409."""
        digest = hashlib.sha256(f"{message.recipient}\n{message.body}".encode()).hexdigest()[:10]
        return f"sambat-{message.outbox_id}-{digest}"

    def send(self, message: OutboundMessage) -> SendResult:
        """Hand one SMS to the phone.

        Raises:
            SendError: a typed subclass; ``retryable`` tells the outbox whether to try again.
        """
        body: dict[str, Any] = {
            "id": self.message_id(message), "textMessage": {"text": message.body},
            "phoneNumbers": [message.recipient], "withDeliveryReport": True,
            "priority": PRIORITY_UPDATE if message.kind == "status_update" else PRIORITY_REPLY,
        }
        if message.sender and message.sender.startswith("sim:") and message.sender[4:].isdigit():
            body["simNumber"] = int(message.sender[4:])  # answer from the SIM the citizen wrote to
        try:
            response = self.http.post(self.url, json=body, timeout=self.timeout)
        except requests.exceptions.RequestException as exc:
            raise ProviderUnavailable(f"SMS gateway phone unreachable: {type(exc).__name__}: {exc}") from None
        if response.status_code == 409:  # our id is known: an earlier attempt got through
            return SendResult(provider_message_id=body["id"], status="queued")
        if response.status_code >= 300:
            raise classify_error(response.status_code, _error_text(response))
        try:
            answer = response.json()
        except ValueError:
            raise ProviderUnavailable(f"SMS gateway answered {response.status_code} without JSON") from None
        state = str(answer.get("state", "Pending")).lower()
        status = {"sent": "sent", "delivered": "delivered", "failed": "failed"}.get(state, "queued")
        return SendResult(provider_message_id=str(answer.get("id") or body["id"]), status=status)


def _error_text(response: requests.Response) -> str:
    try:
        answer = response.json()
        return str(answer.get("message") or answer.get("error") or answer)
    except ValueError:
        return response.text[:200]


def classify_error(status: int, text: str) -> SendError:
    """Map the app's HTTP error to the typed error that says whether a retry can help."""
    label = f"SMS gateway {status}: {text}"
    if status == 429:
        return Throttled(label, str(status))
    if status >= 500:
        return ProviderUnavailable(label, str(status))
    if status in (401, 403):
        return ChannelConfigError(label + " (check SAMBAT_ANDROID_SMS_USERNAME / _PASSWORD)", str(status))
    if status == 400 and "phone" in text.lower():
        return InvalidRecipient(label, str(status))
    return Rejected(label, str(status))


def _build_sender(settings: Any) -> AndroidSmsSender | None:
    if settings.sms.provider == "console" or not settings.android_sms.api_url:
        return None
    return AndroidSmsSender(settings.android_sms.api_url, settings.android_sms.username or "",
                            settings.secret("android_sms.password") or "", timeout=settings.outbox.send_timeout)


SPEC = ChannelSpec(
    name=NAME,
    build_channel=lambda settings: AndroidSmsChannel(settings.secret("android_sms.signing_key"),
                                                     region=settings.phone_region,
                                                     max_age=settings.android_sms.max_age),
    build_sender=_build_sender,
    webhooks=(Webhook("/android-sms", "android_sms", "parse_event"),),
)


class AndroidSmsSettings(Section):
    """``android_sms:``: the phone (or the app's cloud) that sends and receives the city's SMS."""

    api_url: str | None = setting(None, env="SAMBAT_ANDROID_SMS_API_URL", description="the app's API, local or cloud")
    username: str | None = setting(None, env="SAMBAT_ANDROID_SMS_USERNAME")
    password: SecretStr | None = setting(None, env="SAMBAT_ANDROID_SMS_PASSWORD", file=False)
    signing_key: SecretStr | None = setting(None, env="SAMBAT_ANDROID_SMS_SIGNING_KEY", file=False)
    max_age: int = setting(300, description="seconds a signed webhook event stays valid")

    @field_validator("api_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return http_url(value)

    @field_validator("max_age")
    @classmethod
    def _max_age(cls, value: int) -> int:
        return whole(value, 1, unit="seconds")
