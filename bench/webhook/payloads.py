"""Signed Twilio SMS webhooks, built before the timed run so the load generator only sends.

Each body has the field set of a captured Twilio SMS (tests/channels/twilio_payloads.SMS), a unique
MessageSid and sender, and a complaint text from bench/router_eval/complaints.tsv. The signature is
twilio's own ``RequestValidator.compute_signature`` over SAMBAT_PUBLIC_URL + path, as Twilio signs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

from twilio.request_validator import RequestValidator

from tests.channels.twilio_payloads import SMS

ROOT = Path(__file__).resolve().parents[2]
COMPLAINTS = ROOT / "bench" / "router_eval" / "complaints.tsv"
WEBHOOK_PATH = "/webhooks/twilio/sms"
# Phases go into the MessageSid (SM + 2 hex phase + 30 hex), so rows of each phase can be counted apart.
PHASE_WARMUP, PHASE_TIMED, PHASE_LATENCY = 0x01, 0x02, 0x03


@dataclass(frozen=True)
class SignedWebhook:
    """One inbound SMS as Twilio would post it."""

    message_sid: str
    sender: str
    body: str  # form-encoded
    signature: str


def complaint_texts() -> list[str]:
    """The complaint texts of the router's evaluation set (SMS and web), in file order."""
    texts = []
    for line in COMPLAINTS.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or line.startswith("id\t") or not line.strip():
            continue
        texts.append(line.split("\t", 3)[3])
    return texts


def message_sid(phase: int, number: int) -> str:
    """``SM`` + 32 hex digits: the phase, then the message number."""
    return f"SM{phase:02x}{number:030x}"


def sender_phone(phase: int, number: int) -> str:
    """A unique Indonesian mobile number per message of a phase (+62 812 PNNNNNNN)."""
    return f"+62812{phase % 10}{number:07d}"


def signed_webhooks(public_url: str, auth_token: str, phase: int, count: int, start: int = 0
                    ) -> Iterator[SignedWebhook]:
    """``count`` signed SMS webhooks of ``phase``, numbered from ``start``."""
    template = dict(parse_qsl(SMS, keep_blank_values=True))
    texts = complaint_texts()
    validator = RequestValidator(auth_token)
    url = public_url.rstrip("/") + WEBHOOK_PATH
    for number in range(start, start + count):
        sid, sender = message_sid(phase, number), sender_phone(phase, number)
        params = {**template, "MessageSid": sid, "SmsMessageSid": sid, "SmsSid": sid, "From": sender,
                  "Body": texts[number % len(texts)]}
        yield SignedWebhook(sid, sender, urlencode(params), validator.compute_signature(url, params))


def write_wrk_file(path: Path, webhooks: Iterator[SignedWebhook]) -> int:
    """One ``signature<TAB>body`` line per webhook, for signed.lua. Returns how many were written."""
    written = 0
    with path.open("w", encoding="ascii") as out:
        for webhook in webhooks:
            out.write(f"{webhook.signature}\t{webhook.body}\n")
            written += 1
    return written
