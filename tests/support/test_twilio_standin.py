"""Tests of the Twilio stand-in, driven by the real twilio client (and raw HTTP where the client cannot go)."""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
import requests
from openapi_core.testing import MockResponse
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from .twilio_contract import TwilioFormRequest, messages_api
from .twilio_handler import num_segments
from .twilio_standin import StandInHttpClient, TwilioStandIn

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "test-auth-token"
SENDER = "+15005550006"
RECIPIENT = "+6281234567890"
CALLBACK = "https://sambat.example.org/webhooks/twilio/status"
MESSAGING_SERVICE_SID = "MG" + "f" * 32
VALID = {"to": RECIPIENT, "from_": SENDER, "body": "Laporan diterima: KTP-123", "status_callback": CALLBACK}


def raw_post(standin: TwilioStandIn, form: dict[str, Any], user: str | None = ACCOUNT_SID,
             body: bytes | None = None) -> tuple[int, dict]:
    """POST a form (or ``body`` as it is) to CreateMessage without the twilio client; return (status, JSON answer)."""
    request = urllib.request.Request(
        f"{standin.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json",
        data=urlencode(form, doseq=True).encode() if body is None else body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    if user:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{user}:{AUTH_TOKEN}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_valid_create_returns_message_instance(twilio_standin: TwilioStandIn) -> None:
    message = twilio_standin.client(ACCOUNT_SID, AUTH_TOKEN).messages.create(**VALID)

    assert re.fullmatch(r"SM[0-9a-f]{32}", message.sid)
    assert (message.status, message.direction) == ("queued", "outbound-api")
    assert (message.to, message.from_, message.body) == (RECIPIENT, SENDER, VALID["body"])
    assert message.date_created.tzinfo is not None  # RFC 2822 date parsed by the client
    [recorded] = twilio_standin.requests
    assert recorded.form == {"To": [RECIPIENT], "From": [SENDER], "Body": [VALID["body"]], "StatusCallback": [CALLBACK]}
    assert recorded.headers["Authorization"].startswith("Basic ")
    assert [sent["sid"] for sent in twilio_standin.messages_sent()] == [message.sid]
    assert twilio_standin.client(ACCOUNT_SID, AUTH_TOKEN).messages(message.sid).fetch().body == VALID["body"]


def test_answer_matches_the_message_schema(twilio_standin: TwilioStandIn) -> None:
    twilio_standin.client(ACCOUNT_SID, AUTH_TOKEN).messages.create(**VALID)
    [recorded] = twilio_standin.requests
    content_type = recorded.headers["Content-Type"]
    request = TwilioFormRequest("POST", recorded.path, recorded.headers, recorded.raw_body, content_type)
    response = MockResponse(json.dumps(recorded.answer).encode(), status_code=201, content_type="application/json")

    messages_api().validate_response(request, response)


def test_messaging_service_without_from_is_accepted(twilio_standin: TwilioStandIn) -> None:
    client = twilio_standin.client(ACCOUNT_SID, AUTH_TOKEN)
    message = client.messages.create(to=RECIPIENT, messaging_service_sid=MESSAGING_SERVICE_SID, body="hi")

    assert (message.status, message.messaging_service_sid, message.from_) == ("accepted", MESSAGING_SERVICE_SID, None)


REJECTED = [
    ("missing To", {"to": None}, 21604, "To"),
    ("To not E.164", {"to": "081234567890"}, 21211, "To"),
    ("neither From nor MessagingServiceSid", {"from_": None}, 21603, "From"),
    ("From not a sender", {"from_": "+0 not a number"}, 21212, "From"),
    ("no Body, MediaUrl or ContentSid", {"body": None}, 21602, "Body"),
    ("Body over 1600 characters", {"body": "x" * 1601}, 21617, "Body"),
    ("StatusCallback host has _", {"status_callback": "https://bad_host.example/cb"}, 21609, "StatusCallback"),
    ("StatusCallback not a URL", {"status_callback": "/webhooks/twilio/status"}, 21609, "StatusCallback"),
    ("RiskCheck outside enum", {"risk_check": "nope"}, 70002, "RiskCheck"),
    ("ValidityPeriod not an integer", {"validity_period": "soon"}, 70002, "ValidityPeriod"),
    ("ValidityPeriod out of range", {"validity_period": 0}, 70002, "ValidityPeriod"),
    ("SendAt not a date-time", {"send_at": "tomorrow"}, 70002, "SendAt"),
    ("MessagingServiceSid malformed", {"messaging_service_sid": "MG123"}, 70002, "MessagingServiceSid"),
    ("ContentVariables without ContentSid", {"content_variables": "{}"}, 70002, "ContentVariables"),
    ("ContentVariables not JSON", {"content_sid": "HX" + "a" * 32, "content_variables": "{1: x}"}, 21656,
     "ContentVariables"),
    ("ContentVariables with a number", {"content_sid": "HX" + "a" * 32, "content_variables": '{"1": 5}'}, 21656,
     "ContentVariables"),
    ("WhatsApp To from an SMS number", {"to": "whatsapp:" + RECIPIENT}, 21910, "To"),
]


@pytest.mark.parametrize(("label", "change", "code", "param"), REJECTED, ids=[case[0] for case in REJECTED])
def test_rejected_create_raises_twilio_error(
    twilio_standin: TwilioStandIn, label: str, change: dict[str, Any], code: int, param: str
) -> None:
    twilio_standin.expect_violations = True
    client = twilio_standin.client(ACCOUNT_SID, AUTH_TOKEN)

    with pytest.raises(TwilioRestException) as raised:
        client.messages.create(**(VALID | change))

    assert (raised.value.status, raised.value.code) == (400, code)
    assert raised.value.uri.endswith("/Messages.json")
    [violation, *_] = twilio_standin.violations
    assert (violation.code, violation.param) == (code, param)
    assert twilio_standin.messages_sent() == []
    with pytest.raises(AssertionError, match=param):
        twilio_standin.assert_no_violations()


def test_unknown_parameter_is_answered_201_but_recorded(twilio_standin: TwilioStandIn) -> None:
    twilio_standin.expect_violations = True
    form = {"To": RECIPIENT, "From": SENDER, "Body": "hi", "StatusCallbackMethod": "PATCH"}

    status, answer = raw_post(twilio_standin, form)

    assert status == 201 and answer["sid"].startswith("SM")  # Twilio ignores unknown parameters (warning 20001)
    [violation] = twilio_standin.violations
    assert (violation.code, violation.param, violation.status) == (20001, "StatusCallbackMethod", 201)
    with pytest.raises(AssertionError, match=r"\[20001\] StatusCallbackMethod: unknown parameter"):
        twilio_standin.assert_no_violations()


def test_repeated_scalar_and_repeated_array_parameters(twilio_standin: TwilioStandIn) -> None:
    twilio_standin.expect_violations = True
    media = ["https://sambat.example.org/a.jpg", "https://sambat.example.org/b.jpg"]

    status, answer = raw_post(twilio_standin, {"To": [RECIPIENT, "+6281111111111"], "From": SENDER, "MediaUrl": media})

    assert (status, answer["code"]) == (400, 70002)
    assert twilio_standin.requests[0].form["MediaUrl"] == media
    assert [(v.param, v.code) for v in twilio_standin.violations] == [("To", 70002)]


def test_every_bad_parameter_is_named(twilio_standin: TwilioStandIn) -> None:
    twilio_standin.expect_violations = True
    form = {
        "To": RECIPIENT,
        "From": SENDER,
        "Body": "hi",
        "ProvideFeedback": "maybe",
        "Attempt": "1x",
        "RiskCheck": "no",
    }

    status, answer = raw_post(twilio_standin, form)

    assert (status, answer["code"]) == (400, 70002)
    assert {v.param for v in twilio_standin.violations} == {"ProvideFeedback", "Attempt", "RiskCheck"}


def test_a_body_that_is_not_utf8_is_refused(twilio_standin: TwilioStandIn) -> None:
    twilio_standin.expect_violations = True

    status, answer = raw_post(twilio_standin, {}, body=b"To=%2B6281234567890&From=%2B15005550006&Body=Laporan \xff")

    assert (status, answer["code"]) == (400, 70002)
    assert [(v.param, v.code) for v in twilio_standin.violations] == [(None, 70002)]
    assert "not UTF-8" in twilio_standin.violations[0].message


def test_domain_base_url_override_also_works(twilio_standin: TwilioStandIn) -> None:
    client = Client(ACCOUNT_SID, AUTH_TOKEN)
    client.api.base_url = twilio_standin.base_url

    assert client.messages.create(**VALID).status == "queued"


def test_edge_and_region_hosts_are_redirected_too(twilio_standin: TwilioStandIn) -> None:
    http_client = StandInHttpClient(twilio_standin.base_url, timeout=5)
    client = Client(ACCOUNT_SID, AUTH_TOKEN, edge="sydney", region="au1", http_client=http_client)

    assert client.messages.create(**VALID).status == "queued"
    assert twilio_standin.requests[0].path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"


def test_json_body_is_a_violation(twilio_standin: TwilioStandIn) -> None:
    twilio_standin.expect_violations = True
    auth = (ACCOUNT_SID, AUTH_TOKEN)
    url = f"{twilio_standin.base_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"

    answer = requests.post(url, json={"To": RECIPIENT, "From": SENDER, "Body": "hi"}, auth=auth, timeout=5)

    assert answer.status_code == 400
    assert any("application/json" in v.message for v in twilio_standin.violations)


SCRIPTED = [
    ("invalid To", 400, 21211, 21211),
    ("rate limited", 429, None, 20429),
    ("server error", 500, None, 20500),
    ("unsubscribed recipient", 400, 21610, 21610),
]


@pytest.mark.parametrize(("label", "status", "code", "expected_code"), SCRIPTED, ids=[case[0] for case in SCRIPTED])
def test_scripted_failure_then_success(
    twilio_standin: TwilioStandIn, label: str, status: int, code: int | None, expected_code: int
) -> None:
    client = twilio_standin.client(ACCOUNT_SID, AUTH_TOKEN)
    twilio_standin.fail_next(status=status, code=code, times=2)

    for _ in range(2):
        with pytest.raises(TwilioRestException) as raised:
            client.messages.create(**VALID)
        assert (raised.value.status, raised.value.code) == (status, expected_code)

    assert client.messages.create(**VALID).status == "queued"
    assert [r.status for r in twilio_standin.requests] == [status, status, 201]


def test_delay_makes_the_client_time_out(twilio_standin: TwilioStandIn) -> None:
    twilio_standin.delay_next(2.0)
    client = twilio_standin.client(ACCOUNT_SID, AUTH_TOKEN, timeout=0.2)

    with pytest.raises(requests.exceptions.Timeout):
        client.messages.create(**VALID)
    assert client.messages.create(**VALID).status == "queued"


AUTH_FAILURES = [
    ("user is another account", "AC" + "9" * 32),
    ("no Authorization header", None),
]


@pytest.mark.parametrize(("label", "user"), AUTH_FAILURES, ids=[case[0] for case in AUTH_FAILURES])
def test_auth_mismatch_is_401(twilio_standin: TwilioStandIn, label: str, user: str | None) -> None:
    twilio_standin.expect_violations = True

    status, answer = raw_post(twilio_standin, {"To": RECIPIENT, "From": SENDER, "Body": "hi"}, user=user)

    assert (status, answer["code"], answer["more_info"]) == (401, 20003, "https://www.twilio.com/docs/errors/20003")
    assert [(v.param, v.code) for v in twilio_standin.violations] == [("Authorization", 20003)]


def test_wrong_auth_token_is_401_when_the_standin_knows_the_token() -> None:
    with TwilioStandIn(auth_token=AUTH_TOKEN) as standin:
        with pytest.raises(TwilioRestException) as raised:
            standin.client(ACCOUNT_SID, "wrong-token").messages.create(**VALID)
    assert (raised.value.status, raised.value.code) == (401, 20003)


def test_wait_for_messages_sent_from_another_thread(twilio_standin: TwilioStandIn) -> None:
    client = twilio_standin.client(ACCOUNT_SID, AUTH_TOKEN)
    workers = [threading.Thread(target=client.messages.create, kwargs=VALID) for _ in range(5)]
    for worker in workers:
        worker.start()

    assert len(twilio_standin.wait_for_messages(5, timeout=5)) == 5
    with pytest.raises(AssertionError, match="expected 6 messages"):
        twilio_standin.wait_for_messages(6, timeout=0.1)


def test_start_and_stop_are_quick() -> None:
    started = time.perf_counter()
    with TwilioStandIn() as standin:
        assert standin.base_url.startswith("http://127.0.0.1:")
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    ("body", "segments"),
    [("hi", 1), ("a" * 160, 1), ("a" * 161, 2), ("€" * 80, 1), ("€" * 81, 2), ("é" * 160, 1), ("ğ" * 71, 2)],
)
def test_num_segments(body: str, segments: int) -> None:
    assert num_segments(body) == segments


WHATSAPP_FROM, WHATSAPP_TO = "whatsapp:+14155238886", "whatsapp:" + RECIPIENT
TEMPLATE_SID = "HX" + "0123456789abcdef" * 2


def test_outside_the_window_free_text_is_accepted_then_fails_63016(twilio_standin: TwilioStandIn) -> None:
    """As Twilio does: 201 queued, then the message is failed with 63016 and a status callback says so."""
    twilio_standin.close_whatsapp_window(RECIPIENT)
    client = twilio_standin.client(ACCOUNT_SID, AUTH_TOKEN)

    message = client.messages.create(to=WHATSAPP_TO, from_=WHATSAPP_FROM, body="Tiket 1234 5678: Selesai.",
                                     status_callback=CALLBACK)

    assert message.status == "queued"
    fetched = client.messages(message.sid).fetch()
    assert (fetched.status, fetched.error_code) == ("failed", 63016)
    [callback] = twilio_standin.status_callbacks()
    assert callback.url == CALLBACK
    assert {key: callback.params[key] for key in ("MessageSid", "MessageStatus", "ErrorCode", "To", "From")} == {
        "MessageSid": message.sid, "MessageStatus": "failed", "ErrorCode": "63016", "To": WHATSAPP_TO,
        "From": WHATSAPP_FROM}


@pytest.mark.parametrize(("label", "change", "fails"), [
    ("an approved template", {"content_sid": TEMPLATE_SID, "content_variables": '{"1": "1234 5678"}'}, False),
    ("a template WhatsApp did not approve", {"content_sid": "HX" + "f" * 32}, True),
    ("SMS to the same number", {"to": RECIPIENT, "from_": SENDER}, False),
], ids=lambda value: value if isinstance(value, str) else None)
def test_outside_the_window_only_free_whatsapp_text_fails(twilio_standin: TwilioStandIn, label: str,
                                                          change: dict[str, Any], fails: bool) -> None:
    twilio_standin.close_whatsapp_window(RECIPIENT)
    twilio_standin.approve_template(TEMPLATE_SID)
    params = {"to": WHATSAPP_TO, "from_": WHATSAPP_FROM, "status_callback": CALLBACK} | change
    if "content_sid" not in params:
        params["body"] = "Tiket 1234 5678: Selesai."
    client = twilio_standin.client(ACCOUNT_SID, AUTH_TOKEN)

    message = client.messages.create(**params)

    assert client.messages(message.sid).fetch().status == ("failed" if fails else "queued")
    assert len(twilio_standin.status_callbacks()) == int(fails)


def test_list_messages_filters_pages_and_matches_the_schema(twilio_standin: TwilioStandIn) -> None:
    """ListMessage, as the outbox asks before sending again a message whose send had no known outcome."""
    client = twilio_standin.client(ACCOUNT_SID, AUTH_TOKEN)
    sids = [client.messages.create(**{**VALID, "body": f"Pesan {n}"}).sid for n in range(3)]
    client.messages.create(**{**VALID, "to": "+6285655512345"})

    listed = list(client.messages.stream(to=RECIPIENT, page_size=2))
    assert [m.sid for m in listed] == sids[::-1]  # newest first, over two pages
    gets = [r for r in twilio_standin.requests if r.method == "GET"]
    assert len(gets) == 2 and "Page=1" in gets[1].query
    assert list(client.messages.stream(to=RECIPIENT, date_sent_after=datetime(2020, 1, 1, tzinfo=UTC))) == []
    twilio_standin.set_status(sids[0], "delivered")  # now it has a date_sent
    assert [m.sid for m in client.messages.stream(to=RECIPIENT, date_sent_after=datetime(2020, 1, 1, tzinfo=UTC))] \
        == [sids[0]]
    request = TwilioFormRequest("GET", gets[0].path, gets[0].headers, b"", "", query=parse_qs(gets[0].query))
    response = MockResponse(json.dumps(gets[0].answer).encode(), status_code=200, content_type="application/json")
    messages_api().validate_response(request, response)


def test_a_list_with_a_bad_filter_is_refused(twilio_standin: TwilioStandIn) -> None:
    twilio_standin.expect_violations = True
    with pytest.raises(TwilioException):
        list(twilio_standin.client(ACCOUNT_SID, AUTH_TOKEN).messages.stream(to="0812-not-a-number"))
    assert any(v.param == "To" and v.code == 21211 for v in twilio_standin.violations)
def test_a_share_of_sends_fails_with_429_or_500(twilio_standin: TwilioStandIn) -> None:
    """fail_share: a provider under strain; each refusal is Twilio's error JSON, the rest are accepted."""
    twilio_standin.fail_share(0.5, statuses=(429, 500), seed=3)
    client = twilio_standin.client(ACCOUNT_SID, AUTH_TOKEN)
    outcomes = []
    for _ in range(40):
        try:
            client.messages.create(**VALID)
            outcomes.append(201)
        except TwilioRestException as error:
            assert (error.status, error.code) in ((429, 20429), (500, 20500))
            outcomes.append(error.status)
    assert 10 <= outcomes.count(201) <= 30 and 429 in outcomes and 500 in outcomes
    assert len(twilio_standin.messages_sent()) == outcomes.count(201)
    twilio_standin.fail_share(0)
    client.messages.create(**VALID)
    assert len(twilio_standin.messages_sent()) == outcomes.count(201) + 1
