"""CreateMessage checks without the HTTP server: CreateMessageSpec's shortcut never hides what openapi-core finds."""

from __future__ import annotations

import copy
import random
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from openapi_core import OpenAPI

from . import twilio_contract
from .twilio_contract import (
    FORM,
    MESSAGES_PATH,
    CreateMessageSpec,
    TwilioFormRequest,
    _openapi_violations,
    check_create_message,
    create_message_spec,
    load_spec,
    messages_api,
)

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
PATH = MESSAGES_PATH.format(AccountSid=ACCOUNT_SID)
CALLBACK = "https://sambat.example.org/webhooks/twilio/status"
REPLY = "Terima kasih, laporan Anda tentang jalan berlubang di Jl. Merdeka sudah kami terima: tiket 1234 5678."

# Values per field, valid and not, including the bad ones the stand-in tests send through the real client.
VALUES: dict[str, list[str]] = {
    "To": ["+6281234567890", "whatsapp:+6281234567890", "081234567890", "", "+0 not a number"],
    "From": ["+15005550006", "whatsapp:+14155238886", "Sambat", "12345", ""],
    "Body": [REPLY, "", "é€ğ 😀", "x" * 1601, "a=b&c"],
    "StatusCallback": [CALLBACK, "/webhooks/twilio/status", "https://bad_host.example/cb", "not a uri", ""],
    "MessagingServiceSid": ["MG" + "f" * 32, "MG123", "MG" + "g" * 32],
    "ContentSid": ["HX" + "a" * 32, "HX1"],
    "ContentVariables": ['{"1": "1234 5678"}', "{1: x}", '{"1": 5}'],
    "ApplicationSid": ["AP" + "b" * 32, "AP12"],
    "RiskCheck": ["enable", "disable", "nope"],
    "ScheduleType": ["fixed", "later"],
    "TrafficType": ["free", "paid"],
    "ContentRetention": ["retain", "discard", "forever"],
    "AddressRetention": ["retain", "obfuscate", "forever"],
    "SendAt": ["2026-12-01T10:00:00Z", "tomorrow", "2026-13-01T10:00:00Z"],
    "FallbackFrom": ["+15005550006", "not a number"],
    "MediaUrl": ["https://sambat.example.org/a.jpg", "not a url"],
    "PersistentAction": ["mailto:warga@example.org", "geo:-6.2,106.8|Balai Kota"],
    "ValidityPeriod": ["60", "0", "soon"],
    "ProvideFeedback": ["true", "maybe"],
    "ShortenUrls": ["true", "false"],
    "MaxPrice": ["0.5", "cheap"],
    "StatusCallbackMethod": ["PATCH"],  # not in the spec: a warning, ignored by Twilio
}
OTHER_CONTENT_TYPES = [FORM + "; charset=utf-8", "Application/X-WWW-Form-Urlencoded", "application/json", "text/plain",
                       ""]
OTHER_PATHS = [MESSAGES_PATH.format(AccountSid="AC123"), MESSAGES_PATH.format(AccountSid="AC" + "z" * 32)]


def request_for(pairs: list[tuple[str, str]], content_type: str = FORM, path: str = PATH,
                body: bytes | None = None) -> tuple[TwilioFormRequest, dict[str, list[str]]]:
    """A CreateMessage request with these form fields, and its form parsed as the stand-in parses it."""
    raw = urlencode(pairs).encode() if body is None else body
    headers = {"Content-Type": content_type, "Authorization": "Basic eDp5"} if content_type else {}
    form = parse_qs(raw.decode("utf-8", "replace"), keep_blank_values=True)
    return TwilioFormRequest("POST", path, headers, raw, content_type), form


def random_requests(count: int, seed: int = 7) -> list[tuple[TwilioFormRequest, dict[str, list[str]]]]:
    """Forms mixing valid and bad values, repeated fields, other content types, paths and bodies."""
    chooser = random.Random(seed)
    requests = []
    for _ in range(count):
        pairs = [("To", chooser.choice(VALUES["To"][:2]) if chooser.random() < 0.8 else chooser.choice(VALUES["To"]))]
        pairs.append(("From", chooser.choice(VALUES["From"][:3])) if chooser.random() < 0.7 else
                     ("MessagingServiceSid", chooser.choice(VALUES["MessagingServiceSid"])))
        pairs.append(("Body", chooser.choice(VALUES["Body"][:1] * 4 + VALUES["Body"])))
        for name in chooser.sample(sorted(VALUES), chooser.choice([0, 0, 1, 2, 3])):
            pairs += [(name, chooser.choice(VALUES[name])) for _ in range(chooser.choice([1, 1, 1, 2]))]
        if chooser.random() < 0.7:
            pairs.append(("StatusCallback", CALLBACK))
        chooser.shuffle(pairs)
        content_type = FORM if chooser.random() < 0.85 else chooser.choice(OTHER_CONTENT_TYPES)
        path = PATH if chooser.random() < 0.9 else chooser.choice(OTHER_PATHS)
        body = None
        if chooser.random() < 0.05:
            body = chooser.choice([b"", b"To=%2B6281234567890&Body=\xff\xfe&From=%2B15005550006", b"To",
                                   b'{"To": "+6281234567890"}'])
        requests.append(request_for(pairs, content_type, path, body))
    return requests


def test_what_senders_send_passes_without_openapi_core() -> None:
    """The forms the outbox and the twilio client send take the shortcut (no openapi-core), and openapi-core
    agrees that they are fine."""
    forms = [
        [("To", "+6281234567890"), ("From", "+15005550006"), ("Body", REPLY), ("StatusCallback", CALLBACK)],
        [("To", "+6281234567890"), ("MessagingServiceSid", "MG" + "f" * 32), ("Body", "hi")],
        [("To", "whatsapp:+6281234567890"), ("From", "whatsapp:+14155238886"), ("ContentSid", "HX" + "a" * 32),
         ("ContentVariables", '{"1": "1234 5678"}'), ("StatusCallback", CALLBACK)],
        [("To", "+6281234567890"), ("From", "+15005550006"), ("MediaUrl", "https://sambat.example.org/a.jpg"),
         ("MediaUrl", "https://sambat.example.org/b.jpg")],
        [("To", "+6281234567890"), ("From", "+15005550006"), ("Body", "hi"), ("SendAt", "2026-12-01T10:00:00Z"),
         ("ScheduleType", "fixed"), ("MessagingServiceSid", "MG" + "f" * 32)],
    ]
    for pairs in forms:
        request, form = request_for(pairs)
        assert create_message_spec().passes(request, form), pairs
        assert _openapi_violations(request, form) == []


SMS = [("To", "+6281234567890"), ("From", "+15005550006"), ("Body", REPLY)]
NOT_PASSED = [
    ("missing To", [("Body", "hi"), ("From", "+15005550006")], {}),  # openapi-core's required error: 21604
    ("enum", [*SMS, ("RiskCheck", "nope")], {}),
    ("date-time", [*SMS, ("SendAt", "tomorrow")], {}),
    ("integer", [*SMS, ("ValidityPeriod", "60")], {}),  # cast by openapi-core
    ("not UTF-8", SMS, {"body": b"To=%2B6281234567890&From=%2B15005550006&Body=\xff"}),
    ("JSON", SMS, {"content_type": "application/json"}),
    ("charset", SMS, {"content_type": FORM + "; charset=utf-8"}),  # fine, but the shortcut only knows FORM
    ("AccountSid", SMS, {"path": MESSAGES_PATH.format(AccountSid="AC" + "z" * 32)}),
    ("empty body", [], {}),
]


@pytest.mark.parametrize(("label", "pairs", "change"), NOT_PASSED, ids=[case[0] for case in NOT_PASSED])
def test_what_the_shortcut_does_not_pass_goes_to_openapi_core(label: str, pairs: list[tuple[str, str]],
                                                              change: dict[str, Any]) -> None:
    request, form = request_for(pairs, **change)

    assert not create_message_spec().passes(request, form)


def test_the_shortcut_never_hides_a_spec_violation() -> None:
    """For every request the shortcut passes, openapi-core finds nothing either; so every request gets the same
    violations as with openapi-core alone (the rest go to openapi-core)."""
    requests = random_requests(400)
    passed = 0
    for request, form in requests:
        if create_message_spec().passes(request, form):
            passed += 1
            assert _openapi_violations(request, form) == [], (request.content_type, request.path, form)
    assert len(requests) / 4 < passed < len(requests) * 3 / 4, passed  # both ways were well taken


def test_violations_of_bad_requests_are_openapi_cores(monkeypatch: pytest.MonkeyPatch) -> None:
    """check_create_message reports the same list with and without the shortcut."""
    requests = random_requests(120, seed=11)
    with_shortcut = [check_create_message(request, form) for request, form in requests]

    class Never:
        def passes(self, request: TwilioFormRequest, form: dict[str, list[str]]) -> bool:
            return False

    monkeypatch.setattr(twilio_contract, "create_message_spec", Never)
    without = [check_create_message(request, form) for request, form in random_requests(120, seed=11)]

    assert with_shortcut == without
    assert any(violations for violations in without) and not all(violations for violations in without)


@pytest.mark.parametrize("change", ["query parameter", "encoding", "default"])
def test_a_spec_the_shortcut_does_not_mirror_is_left_to_openapi_core(change: str) -> None:
    """A spec swapped in ($SAMBAT_TWILIO_OPENAPI) that openapi-core would decode or check otherwise: no shortcut."""
    spec = copy.deepcopy(load_spec())
    operation = spec["paths"][MESSAGES_PATH]["post"]
    media_type = operation["requestBody"]["content"][FORM]
    if change == "query parameter":
        operation["parameters"].append({"name": "DryRun", "in": "query", "required": True,
                                        "schema": {"type": "string"}})
    elif change == "encoding":
        media_type["encoding"] = {"MediaUrl": {"style": "form", "explode": False}}
    else:
        media_type["schema"]["properties"]["ApplicationSid"]["default"] = "AP123"  # filled in, then found invalid
    shortcut = CreateMessageSpec(OpenAPI.from_dict(spec, config=messages_api().config))
    request, form = request_for([("To", "+6281234567890"), ("From", "+15005550006"), ("Body", REPLY)])

    assert create_message_spec().passes(request, form)
    assert not shortcut.passes(request, form)
