"""What a checked webhook event of the app is, as the reader (``events``) gives it to the store (``store``)."""

from __future__ import annotations

from dataclasses import dataclass

from channels.base import InboundMessage, StatusReport

NAME = "android-sms"


@dataclass(frozen=True)
class Incoming:
    """One message an event carries, ready to store: the message, the photos to keep, what to answer."""

    message: InboundMessage
    photos: tuple[tuple[str, bytes], ...] = ()  # (file name, bytes) of MMS images, cleaned when stored
    refused: tuple[str, ...] = ()  # MMS parts that are not kept, by name and reason
    note: str = "stored"


@dataclass(frozen=True)
class AndroidEvent:
    """One webhook event, checked, decrypted and read."""

    event: str
    event_id: str
    device_id: str
    messages: tuple[Incoming, ...] = ()
    status: StatusReport | None = None
    sim_number: int | None = None
    note: str = ""
