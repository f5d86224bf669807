"""The channel registry: each channel module declares itself once, and the gateway wires up what is listed.

A channel module ends with ``SPEC = ChannelSpec(...)``: its name (the ``channel`` of the messages it brings
in and of the outbox rows it sends), how to build its parser and its sender from the settings, the webhook
URLs it answers, how a reply to one of its messages is addressed, and any long-running service (a mail
listener) that ``sambat up`` starts. Adding a channel is adding its module to :data:`CHANNEL_MODULES`;
nothing in ``gateway/`` names a channel.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from channels.base import Sender

# The modules that declare a SPEC, in the order their webhooks are registered.
CHANNEL_MODULES = ("channels.twilio", "channels.android_sms", "channels.email", "channels.web")


@dataclass(frozen=True)
class Webhook:
    """One provider callback URL under ``/webhooks``.

    Attributes:
        rule: the URL rule below ``/webhooks``, e.g. ``/twilio/sms``.
        endpoint: the Flask endpoint name (stable: url_for and logs use it).
        parse: the channel's method that reads the request; it returns an ``InboundMessage`` (stored and
            enqueued), a ``StatusReport`` (applied to the outbox), or raises ``Ignored`` / ``InboundError``.
        store: the channel's method ``(runtime, parsed) -> answer text`` that stores what ``parse`` returned
            itself (the Android gateway: devices, MMS photos, re-export keys), instead of the two cases above.
    """

    rule: str
    endpoint: str
    parse: str
    store: str | None = None


@dataclass(frozen=True)
class ReplyAddress:
    """Where and how a message to a citizen goes: the outbox fields a channel decides."""

    medium: str
    recipient: str
    sender: str | None = None
    subject: str | None = None
    in_reply_to: str | None = None
    references: str | None = None
    note: str = ""  # text the channel adds below the reply (e.g. attachments it did not keep)


@dataclass(frozen=True)
class ChannelSpec:
    """What a channel module tells the gateway about itself.

    Attributes:
        name: the channel's name in the database (``inbound_messages.channel``, ``outbox.channel``).
        build_channel: settings -> the object that parses its webhooks (None: it has no webhooks).
        build_sender: settings -> its sender, or None when it is not configured (nothing sent through it).
        webhooks: the callback URLs it answers.
        reply_address: (inbound row, complaint or None, settings) -> how to address the reply to a message
            that came in on this channel. Default: back to the sender on the same medium, from the address
            it was sent to.
        contact_address: (contact, complaint, origin message or None, settings) -> how to address a message
            Sambat starts (a status update) to a contact through this channel; None when it cannot reach them.
        thread: (session, inbound row) -> the id of the complaint this message continues, or None.
        status_callback: (settings, outbox id) -> the URL the provider reports delivery to, or None.
        services: (runtime, stop event) -> threads started by ``sambat up`` (e.g. a mail listener).
        aliases: other ``channel`` names its messages carry (the web channel's form is ``web``, its API ``api``).
        answers_in_kind: True when the answer to a message goes back the way it came (an SMS to the phone that
            sent it); False when the citizen is reached through their contact details (the web form).
        fetch_media: (settings, url, max bytes) -> ``FetchedMedia``: downloads a file its provider hosts (an MMS
            or WhatsApp photo) with the provider's credentials; raises ``MediaFetchError``.
        silent_alert_minutes: settings -> minutes without a word from any of its devices (``models.Device``),
            while its messages wait to go out, before the super-admins get an e-mail; 0 or None: not watched.
        concatenates_sms: True when a long SMS sent through it arrives as one message (Twilio, an Android phone's
            multipart SMS); False: each segment arrives alone, so a long text is sent as parts numbered "(1/2)".
    """

    name: str
    build_channel: Callable[[Any], Any] | None = None
    build_sender: Callable[[Any], Sender | None] | None = None
    webhooks: tuple[Webhook, ...] = ()
    reply_address: Callable[[Any, Any, Any], ReplyAddress] | None = None
    contact_address: Callable[[Any, Any, Any, Any], ReplyAddress | None] | None = None
    thread: Callable[[Any, Any], int | None] | None = None
    status_callback: Callable[[Any, int], str | None] | None = None
    services: Callable[[Any, Any], list[Any]] | None = None
    aliases: tuple[str, ...] = ()
    answers_in_kind: bool = True
    fetch_media: Callable[[Any, str, int], Any] | None = None
    silent_alert_minutes: Callable[[Any], int] | None = None
    concatenates_sms: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


_extra_specs: list[ChannelSpec] = []


def register(spec: ChannelSpec) -> None:
    """Add a channel declared outside :data:`CHANNEL_MODULES` (a plug-in, a test)."""
    if any({existing.name, *existing.aliases} & {spec.name, *spec.aliases} for existing in specs()):
        raise ValueError(f"a channel named {spec.name!r} is already registered")
    _extra_specs.append(spec)


def specs() -> list[ChannelSpec]:
    """Every registered channel, listed modules first."""
    listed = [importlib.import_module(module).SPEC for module in CHANNEL_MODULES]
    return listed + list(_extra_specs)


def spec_for(name: str) -> ChannelSpec | None:
    """The spec of one channel by its name or an alias, or None (console and other channels without a module)."""
    return next((spec for spec in specs() if name == spec.name or name in spec.aliases), None)


def default_reply_address(message: Any, complaint: Any = None, settings: Any = None) -> ReplyAddress:
    """Back to the sender on the medium it used (WhatsApp stays WhatsApp), from the number it wrote to."""
    medium = "whatsapp" if message.medium == "whatsapp" else "sms"
    sender = message.recipient.removeprefix("whatsapp:") if message.recipient else None
    return ReplyAddress(medium=medium, recipient=message.sender, sender=sender)
