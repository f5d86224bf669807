"""SMS through an Android phone running SMS Gateway for Android (capcom6/android-sms-gateway), as the app ships now.

Twilio offers no two-way SMS in Indonesia, so a city receives SMS on a SIM in a phone running the app (local
or cloud mode). The app posts every event of its ``WebHookEvent`` enum to one webhook, signed: ``X-Signature``
is the hex HMAC-SHA256 of the raw body followed by ``X-Timestamp`` (Unix seconds), keyed with the signing key
from the app's settings. What each event becomes:

- ``sms:received``: a complaint or a command. The citizen is ``sender`` (the deprecated ``phoneNumber`` when
  it is missing); ``recipient`` (the SIM's number), ``simNumber`` and the ``deviceId`` are kept, and the reply
  goes out through the same device and SIM. Carrier senders (``TELKOMSEL``, ``3636``) are stored as automated:
  never answered, no ticket.
- ``sms:data-received`` and ``mms:received`` (the notice of an MMS): stored, never answered.
- ``mms:downloaded``: the MMS's text, its photos kept like web-form photos.
- ``sms:sent`` / ``sms:delivered`` / ``sms:failed``: the outbox row's status (never back to an earlier one).
- ``system:ping``: the device was heard. Every event stamps its device's last-seen time.

The app's event id changes when the phone re-exports its inbox, so a message's key is derived from its sender,
content and ``receivedAt`` (:func:`events.message_key`) and unique in the database: retries and re-exports
store nothing twice. With ``android_sms.passphrase`` set, encrypted fields are decrypted and outgoing
messages encrypted, by the official client's code. Modules: ``events`` (reading), ``crypto``, ``store``,
``sender`` (the official API client).
"""

from __future__ import annotations

from typing import Any

from channels.android_sms.events import NAME, OUR_ID, AndroidEvent, AndroidSmsChannel, is_carrier, message_key
from channels.android_sms.sender import AndroidSmsSender, classify_error, origin, parse_origin
from channels.registry import ChannelSpec, ReplyAddress, Webhook

__all__ = ["NAME", "OUR_ID", "SPEC", "AndroidEvent", "AndroidSmsChannel", "AndroidSmsSender", "classify_error",
           "is_carrier", "message_key", "origin", "parse_origin"]


def _build_channel(settings: Any) -> AndroidSmsChannel:
    return AndroidSmsChannel(settings.secret("android_sms.signing_key"), region=settings.phone_region,
                             max_age=settings.android_sms.max_age, passphrase=settings.secret("android_sms.passphrase"))


def _sends(settings: Any) -> bool:
    """Whether SMS go out through the app (its API URL is set, and the console does not stand in)."""
    return settings.sms.provider != "console" and bool(settings.android_sms.api_url)


def _build_sender(settings: Any) -> AndroidSmsSender | None:
    if not _sends(settings):
        return None
    return AndroidSmsSender(settings.android_sms.api_url, settings.android_sms.username,
                            settings.secret("android_sms.password"), token=settings.secret("android_sms.token"),
                            passphrase=settings.secret("android_sms.passphrase"), timeout=settings.outbox.send_timeout)


def _sim_of(message: Any) -> int | None:
    """The SIM a message came in on (``recipient`` ``sim:N`` on rows stored before migration 0008)."""
    if message.sim_number is not None:
        return message.sim_number
    recipient = message.recipient or ""
    return int(recipient[4:]) if recipient.startswith("sim:") and recipient[4:].isdigit() else None


def _origin_of(message: Any, settings: Any) -> str | None:
    """The device and SIM to answer through; None when this channel does not send (another provider does)."""
    if message is None or not _sends(settings):
        return None
    return origin(message.device_id, _sim_of(message))


def _reply_address(message: Any, complaint: Any, settings: Any) -> ReplyAddress:
    """Back to the citizen by SMS, through the device and SIM the message came in on."""
    return ReplyAddress(medium="sms", recipient=message.sender, sender=_origin_of(message, settings))


def _contact_address(contact: Any, complaint: Any, message: Any, settings: Any) -> ReplyAddress | None:
    """A status update to a citizen who texted the phone: the same way their SMS came in; None for the rest."""
    if complaint.channel != NAME or not contact.phone:
        return None
    return ReplyAddress(medium="sms", recipient=contact.phone, sender=_origin_of(message, settings))


SPEC = ChannelSpec(
    name=NAME,
    build_channel=_build_channel,
    build_sender=_build_sender,
    webhooks=(Webhook("/android-sms", "android_sms", "parse_event", store="store_event"),),
    reply_address=_reply_address,
    contact_address=_contact_address,
    silent_alert_minutes=lambda settings: settings.android_sms.silent_alert_minutes,
)
