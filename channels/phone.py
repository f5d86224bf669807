"""Phone numbers to E.164 with phonenumbers, the region from config (ID for Malang)."""

from __future__ import annotations

import phonenumbers

from channels.base import BadPhoneNumber

CHANNEL_PREFIXES = ("whatsapp:", "sms:", "tel:", "mms:")


def to_e164(raw: str, region: str = "ID") -> str:
    """Normalise a phone number as a provider or a person wrote it to E.164.

    Accepts "+6281234567890", "6281234567890", "081234567890", "0812-3456-7890" and "whatsapp:+62...".

    Raises:
        BadPhoneNumber: when it cannot be a phone number, naming what was given.
    """
    value = (raw or "").strip()
    lowered = value.lower()
    for prefix in CHANNEL_PREFIXES:
        if lowered.startswith(prefix):
            value = value[len(prefix):].strip()
            break
    if not value:
        raise BadPhoneNumber("phone number is empty")
    # "62812..." without the plus is the country code written out, common from Indonesian gateways.
    digits = "".join(ch for ch in value if ch.isdigit())
    if not value.startswith(("+", "0")) and digits.startswith(str(phonenumbers.country_code_for_region(region))):
        value = "+" + digits
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise BadPhoneNumber(f"not a phone number: {raw!r} ({exc._msg})") from None
    if not phonenumbers.is_possible_number(number):
        raise BadPhoneNumber(f"not a possible phone number: {raw!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
