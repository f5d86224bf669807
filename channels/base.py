"""The channel contract: what every channel module parses in, sends out, and answers its provider.

A channel module (twilio, android_sms, email, web) turns a provider's HTTP request into an
:class:`InboundMessage` or a :class:`StatusReport`, and sends an :class:`OutboundMessage`, returning a
:class:`SendResult` or raising one of the typed :class:`SendError` subclasses, which say whether a retry
can help (after courier's ``core/channels/errors.go``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from werkzeug.wrappers import Request, Response


@dataclass(frozen=True)
class Media:
    """A photo or file attached to a message, by URL as the provider hosts it."""

    url: str
    content_type: str | None = None


@dataclass(frozen=True)
class Location:
    """A place a citizen shared (a WhatsApp location pin): coordinates, and the place's name and address if given."""

    latitude: float
    longitude: float
    address: str | None = None
    label: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"latitude": self.latitude, "longitude": self.longitude, "address": self.address,
                "label": self.label}


@dataclass(frozen=True)
class FetchedMedia:
    """A provider-hosted file, downloaded: its bytes and the content type the server gave."""

    data: bytes
    content_type: str | None = None


class MediaFetchError(Exception):
    """A file could not be downloaded. ``reason``: too_large, not_found, unavailable, refused ...;
    ``retryable`` says whether trying again later can help."""

    def __init__(self, message: str, reason: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.reason, self.retryable = reason, retryable


@dataclass(frozen=True)
class InboundMessage:
    """A message from a citizen, normalised: sender in E.164 (or an e-mail address), text, media."""

    channel: str
    medium: str
    provider_message_id: str
    sender: str
    text: str
    recipient: str | None = None
    device_id: str | None = None  # the phone and SIM it came in through (SMS Gateway for Android)
    sim_number: int | None = None
    media: tuple[Media, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict)
    received_at: datetime | None = None
    automated: bool = False  # an auto-reply, bounce or list mail: stored, never answered
    location: Location | None = None  # a shared place (WhatsApp location pin)


@dataclass(frozen=True)
class StatusReport:
    """A provider's delivery report for one of our outbound messages."""

    provider_message_id: str
    status: str
    error_code: str | None = None
    outbox_id: int | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    # The provider could not deliver it because the conversation window is closed (WhatsApp's 24 hours,
    # Twilio 63016): another path (an approved template, SMS) may still reach the citizen.
    window_closed: bool = False


@dataclass(frozen=True)
class OutboundMessage:
    """A message to send, built from an outbox row."""

    outbox_id: int
    medium: str
    recipient: str
    body: str
    sender: str | None = None
    status_callback: str | None = None
    kind: str = ""  # what made it: ticket_created, status_update ... (providers may order by it)
    subject: str | None = None  # e-mail: the subject and the Message-IDs it answers
    in_reply_to: str | None = None
    references: str | None = None
    # An approved template instead of the body (WhatsApp past its 24-hour window): the provider's template id
    # (Twilio Content API ContentSid) and its numbered variables, e.g. {"1": "1234 5678", "2": "Selesai"}.
    template: str | None = None
    template_variables: dict[str, str] | None = None


@dataclass(frozen=True)
class SendResult:
    """What the provider said when it took the message."""

    provider_message_id: str
    status: str


class InboundError(Exception):
    """A request we refuse; ``status`` is the HTTP status to answer, the message says why."""

    status = 400


class BadSignature(InboundError):
    status = 403


class MissingField(InboundError):
    status = 400


class BadPhoneNumber(InboundError):
    status = 400


class Ignored(Exception):
    """A well-formed callback we do not act on: answer 200 with the reason so the provider stops retrying."""


class SendError(Exception):
    """Sending failed. ``retryable`` says whether trying again later can help."""

    retryable = False

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


class Throttled(SendError):
    """The provider asks us to slow down (HTTP 429, Twilio 20429)."""

    retryable = True


class ProviderUnavailable(SendError):
    """A timeout, a refused connection or a 5xx: the provider may take it later."""

    retryable = True


class WindowClosed(SendError):
    """The conversation window is closed (WhatsApp, 24 hours after the citizen's last message; Twilio 63016):
    free text is refused, an approved template or another medium may still reach them. Never retried as is."""


class RecipientOptedOut(SendError):
    """The citizen replied STOP to the provider (Twilio 21610); never retried, the contact is opted out."""


class InvalidRecipient(SendError):
    """The number cannot receive this message (Twilio 21211, 21614); never retried."""


class Rejected(SendError):
    """Any other refusal by the provider (a 4xx): retrying the same request will not help."""


class ChannelConfigError(SendError):
    """Our own configuration is wrong (credentials, sender); retrying will not help until it is fixed."""


class Channel(Protocol):
    """What every channel module provides."""

    name: str

    def parse_inbound(self, request: Request, url: str) -> InboundMessage:
        """Check and read an incoming message; raise :class:`InboundError` to refuse it."""

    def parse_status(self, request: Request, url: str) -> StatusReport:
        """Check and read a delivery report; raise :class:`Ignored` for one we do not act on."""

    def answer(self) -> Response:
        """The reply the provider expects once the message is stored."""


class Sender(Protocol):
    """What sends outbound messages for a channel (a provider, or the console)."""

    name: str

    def send(self, message: OutboundMessage) -> SendResult:
        """Send one message; raise a :class:`SendError` subclass on failure."""


class Lookup(Protocol):
    """What a sender that can answer "did you take this message?" adds (Twilio, the Android gateway).

    The outbox asks before it sends again a message whose earlier send has no known outcome (the worker stopped
    after the provider took it, an answer that timed out), and asks for the state of a message that stays
    non-final too long. Either may raise :class:`ProviderUnavailable` when the provider cannot answer now.
    """

    def find(self, message: OutboundMessage, since: datetime, known: Callable[[str], bool]) -> SendResult | None:
        """The provider's record of this message, taken since ``since``, or None when it has none;
        ``known(provider id)`` is True for ids already recorded for another message (never a match)."""

    def fetch_status(self, provider_message_id: str) -> StatusReport | None:
        """The provider's current state of one message it took, or None when it no longer knows it."""
