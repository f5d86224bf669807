"""Phone numbers to E.164 with phonenumbers, the region from config (ID for Malang); which numbers get SMS."""

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


# Country codes of international networks (satellite and global services): +870 Inmarsat, +881 global mobile
# satellite systems (Iridium, Globalstar ...), +882 and +883 international networks. Texts to them cost the
# sender many times a local SMS, which is what SMS pumping earns from.
SATELLITE_CODES = frozenset({870, 881, 882, 883})
_PREMIUM_TYPES = (phonenumbers.PhoneNumberType.PREMIUM_RATE, phonenumbers.PhoneNumberType.SHARED_COST)


def sms_refusal(number: str, allowed_regions: tuple[str, ...] | list[str]) -> str | None:
    """Why this number gets no SMS from Sambat, or None when it may.

    Returns:
        ``satellite`` (an international network: +870, +881, +882, +883), ``premium`` (a premium-rate or
        shared-cost range, in any country), ``region`` (a country outside ``allowed_regions``; ``*`` allows
        every country), or ``not_a_number``.
    """
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return "not_a_number"
    region = phonenumbers.region_code_for_number(parsed)
    if parsed.country_code in SATELLITE_CODES or region == "001":
        return "satellite"
    if phonenumbers.number_type(parsed) in _PREMIUM_TYPES:
        return "premium"
    if "*" not in allowed_regions and region not in allowed_regions:
        return "region"
    return None
