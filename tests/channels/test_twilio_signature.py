"""SignatureCheck against twilio's own RequestValidator: the same signature, the same verdict, on any form.

SignatureCheck (channels/twilio.py) builds the signed string its own way (sorted distinct pairs, the URL's two
forms worked out once per URL, one HMAC call, ``hmac.compare_digest``). twilio's ``compute_signature`` and
``validate`` are the reference: every case here is asked of both.
"""

from __future__ import annotations

import random

import pytest
from twilio.request_validator import HMAC_SHA1, HMAC_SHA256, RequestValidator
from werkzeug.datastructures import ImmutableMultiDict, MultiDict

from channels.twilio import SignatureCheck

TOKEN = "12345678901234567890123456789012"
URLS = (
    "https://sambat.example.id/webhooks/twilio/sms",
    "https://sambat.example.id:443/webhooks/twilio/sms",
    "http://127.0.0.1:8080/webhooks/twilio/status?outbox=17",
    "http://sambat.example.id/webhooks/twilio/status?outbox=17&x=%20y",
    "https://sambat.example.id:8443/webhooks/twilio/sms",
)
# Field names and values with what makes ordering and encoding differ: case, digits, repeats, empty values,
# characters beyond ASCII (Indonesian text, emoji), a NUL, characters that sort between others.
ALPHABET = "aAzZ09 _-+%&=:/é€😀\x00\u200b"


def random_form(rng: random.Random) -> list[tuple[str, str]]:
    names = ["Body", "From", "To", "MessageSid", "MediaUrl0", "body", "B", ""] + [
        "".join(rng.choice(ALPHABET) for _ in range(rng.randint(1, 6))) for _ in range(3)]
    pairs = []
    for _ in range(rng.randint(0, 12)):
        value = "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 10)))
        pairs.append((rng.choice(names), value))
        if rng.random() < 0.15 and pairs:  # a field repeated with the very same value
            pairs.append(pairs[-1])
    return pairs


@pytest.mark.parametrize("algorithm", [None, HMAC_SHA1, HMAC_SHA256, "hmac_sha256"])
def test_same_signature_and_verdict_as_twilio_on_random_forms(algorithm: str | None) -> None:
    rng = random.Random(20261201)
    ours, twilio = SignatureCheck(TOKEN), RequestValidator(TOKEN)
    for _ in range(500):
        pairs = random_form(rng)
        url = rng.choice(URLS)
        for form in (MultiDict(pairs), ImmutableMultiDict(pairs), dict(pairs)):
            signature = twilio.compute_signature(url, form, algorithm)
            assert ours.compute_signature(url, form, algorithm) == signature
            # Signed as given, signed with the other form of the port, tampered with, another URL, wrong token.
            other = url.replace(":443", "") if ":443" in url else url.replace(".id/", ".id:443/", 1)
            candidates = [
                signature,
                twilio.compute_signature(other, form, algorithm),
                signature[:-2] + ("A=" if signature[-2:] != "A=" else "B="),
                twilio.compute_signature(url + "x", form, algorithm),
                RequestValidator("another-token").compute_signature(url, form, algorithm),
                "",
                "é" * len(signature),
            ]
            for candidate in candidates:
                assert ours.validate(url, form, candidate, algorithm) == \
                    twilio.validate(url, form, candidate, algorithm), (url, pairs, candidate)
            assert ours.validate(url, form, signature, algorithm)


def test_none_and_empty_forms_as_twilio() -> None:
    ours, twilio = SignatureCheck(TOKEN), RequestValidator(TOKEN)
    url = URLS[0]
    for form in (None, {}, MultiDict()):
        signature = twilio.compute_signature(url, form or {})
        assert ours.validate(url, form, signature) is twilio.validate(url, form, signature) is True


def test_json_body_and_unknown_algorithm_go_to_twilio() -> None:
    """A JSON body is signed with ``bodySHA256`` in the URL; an unknown algorithm fails: both as twilio decides."""
    ours, twilio = SignatureCheck(TOKEN), RequestValidator(TOKEN)
    body = '{"Body": "jalan rusak"}'
    url = f"https://sambat.example.id/webhooks/twilio/sms?bodySHA256={twilio.compute_hash(body)}"
    signature = twilio.compute_signature(url, {})
    assert ours.validate(url, body, signature) is twilio.validate(url, body, signature) is True
    assert ours.validate(url, body + " ", signature) is twilio.validate(url, body + " ", signature) is False
    form = MultiDict([("Body", "x")])
    assert ours.validate(URLS[0], form, "sig", "HMAC_MD5") is twilio.validate(URLS[0], form, "sig", "HMAC_MD5") \
        is False
