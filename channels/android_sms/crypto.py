"""The app's end-to-end encryption, through the official client's own ``Encryptor``.

With a passphrase set in the app, message texts and phone numbers travel as
``$aes-256-cbc/pbkdf2-sha1$i=<iterations>$<salt>$<ciphertext>``. Incoming fields in that form are decrypted
with ``android_sms.passphrase``; outgoing messages are encrypted by the client itself (``APIClient(encryptor=)``).
"""

from __future__ import annotations

from typing import Any

from android_sms_gateway import Encryptor

from channels.base import InboundError

PREFIX = "$aes-256-cbc/pbkdf2-sha1$"
# The payload fields the app may encrypt: texts and phone numbers (and an MMS part's name and data).
FIELDS = ("message", "body", "subject", "data", "sender", "phoneNumber", "recipient")
PART_FIELDS = ("name", "data")


class NeedsPassphrase(InboundError):
    """An encrypted field and no passphrase, or not this one: 400, so the app keeps the event until it is set."""

    status = 400


class PayloadCipher:
    """Decrypts the encrypted fields of a webhook payload with the passphrase, when one is set."""

    def __init__(self, passphrase: str | None) -> None:
        self.encryptor = Encryptor(passphrase) if passphrase else None

    def decrypt_payload(self, payload: dict[str, Any], where: str = "payload") -> tuple[dict[str, Any], list[str]]:
        """A copy of the payload with every encrypted field in the clear, and the names of those fields.

        Raises:
            NeedsPassphrase: a field is encrypted and no passphrase is set, or it does not decrypt with it.
        """
        clear, encrypted = dict(payload), []
        for name in FIELDS:
            if is_encrypted(clear.get(name)):
                clear[name] = self._decrypt(clear[name], f"{where}.{name}")
                encrypted.append(name)
        parts = clear.get("attachments")
        if isinstance(parts, list):
            clear["attachments"] = []
            for index, part in enumerate(parts):
                if isinstance(part, dict):
                    part = dict(part)
                    for name in PART_FIELDS:
                        if is_encrypted(part.get(name)):
                            part[name] = self._decrypt(part[name], f"{where}.attachments[{index}].{name}")
                            encrypted.append(f"attachments[{index}].{name}")
                clear["attachments"].append(part)
        return clear, encrypted

    def _decrypt(self, value: str, where: str) -> str:
        if self.encryptor is None:
            raise NeedsPassphrase(f"{where} is encrypted by the app: set SAMBAT_ANDROID_SMS_PASSPHRASE to the "
                                  "passphrase in the app's settings")
        try:
            return self.encryptor.decrypt(value)
        except (ValueError, KeyError, IndexError, TypeError):
            raise NeedsPassphrase(f"{where} does not decrypt with SAMBAT_ANDROID_SMS_PASSPHRASE: is it the "
                                  "passphrase set in the app?") from None


def is_encrypted(value: Any) -> bool:
    """True for a string in the app's encrypted form."""
    return isinstance(value, str) and value.startswith(PREFIX)
