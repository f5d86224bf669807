"""The Android stand-in is checked too: what the official client sends passes the app's description, and a
request the app would refuse is refused, with the reason recorded (as the Twilio stand-in does)."""

from __future__ import annotations

import base64
import json

import pytest
import requests
from android_sms_gateway import APIClient, Encryptor, Message, MessagePriority, TextMessage
from android_sms_gateway.http import RequestsHttpClient

from tests.support.android_sms_standin import (
    DEVICE_ID,
    LOCAL_DEVICE_ID,
    PASSPHRASE,
    PASSWORD,
    TOKEN,
    USERNAME,
    AndroidSmsStandIn,
)

BASIC = {"Authorization": "Basic " + base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()}
GOOD = {"id": "sambat-7-0123456789", "textMessage": {"text": "Aduan diterima."}, "phoneNumbers": ["+6281234567890"],
        "withDeliveryReport": True, "priority": 0, "simNumber": 1, "isEncrypted": False}


@pytest.mark.parametrize(("mode", "auth", "passphrase"), [
    ("local", "basic", None), ("cloud", "basic", None), ("cloud", "jwt", None), ("local", "basic", PASSPHRASE),
])
def test_the_official_client_passes_the_apps_description(android_standin: AndroidSmsStandIn, mode: str, auth: str,
                                                          passphrase: str | None) -> None:
    android_standin.passphrase = passphrase
    url = android_standin.base_url if mode == "local" else android_standin.cloud_url
    login, secret = (USERNAME, PASSWORD) if auth == "basic" else (None, TOKEN)
    client = APIClient(login, secret, base_url=url, encryptor=Encryptor(passphrase) if passphrase else None,
                       http=RequestsHttpClient(requests.Session()))
    state = client.send(Message(phone_numbers=["+6281234567890"], text_message=TextMessage("Tes"), sim_number=2,
                                priority=MessagePriority.MINIMUM, id="sambat-1-0a1b2c3d4e",
                                device_id=DEVICE_ID if mode == "cloud" else None))

    assert state.id == "sambat-1-0a1b2c3d4e" and state.state.value == "Pending"
    assert state.recipients[0].phone_number == "+6281234567890"  # decrypted by the client when encrypted
    assert android_standin.violations == []
    [sent] = android_standin.messages_sent()
    assert sent["textMessage"]["text"] == "Tes" and sent["phoneNumbers"] == ["+6281234567890"]


REFUSED = [
    ("a priority the app does not name", "/messages", BASIC, {**GOOD, "priority": 50}, 400,
     "priority: 50 is not one of [-128, 0, 100, 127]"),
    ("SIM 4", "/messages", BASIC, {**GOOD, "simNumber": 4}, 400, "simNumber: 4 is greater than the maximum of 3"),
    ("the local server's id as deviceId", "/3rdparty/v1/messages", BASIC, {**GOOD, "deviceId": LOCAL_DEVICE_ID},
     400, "is too long"),
    ("no phoneNumbers", "/messages", BASIC, {"textMessage": {"text": "x"}}, 400,
     "'phoneNumbers' is a required property"),
    ("an empty text", "/messages", BASIC, {**GOOD, "textMessage": {"text": ""}}, 400, "should be non-empty"),
    ("text and data at once", "/messages", BASIC, {**GOOD, "dataMessage": {"data": "SGVsbG8=", "port": 53739}},
     400, "exactly one of"),
    ("ttl and validUntil", "/messages", BASIC, {**GOOD, "ttl": 60, "validUntil": "2026-12-01T00:00:00Z"}, 400,
     "mutually exclusive"),
    ("a local number", "/messages", BASIC, {**GOOD, "phoneNumbers": ["081234567890"]}, 400, "not E.164"),
    ("encrypted, the app has no passphrase", "/messages", BASIC,
     {**GOOD, "isEncrypted": True, "phoneNumbers": [Encryptor(PASSPHRASE).encrypt("+6281234567890")]}, 400,
     "no passphrase"),
    ("wrong password", "/messages", {"Authorization": "Basic c21zOnNhbGFo"}, GOOD, 401, "not the app's credentials"),
    ("no credentials", "/messages", {}, GOOD, 401, "Security not found"),
    ("the legacy /message path", "/message", BASIC, GOOD, 404, "Path not found"),
]


@pytest.mark.parametrize(("label", "path", "headers", "body", "status", "violation"), REFUSED,
                         ids=[case[0] for case in REFUSED])
def test_requests_the_app_would_refuse_are_refused(android_standin: AndroidSmsStandIn, label: str, path: str,
                                                   headers: dict, body: dict, status: int, violation: str) -> None:
    android_standin.expect_violations = True
    answer = requests.post(android_standin.base_url + path, data=json.dumps(body), timeout=5,
                           headers={"Content-Type": "application/json", **headers})
    assert answer.status_code == status, answer.text
    assert any(violation in problem for problem in android_standin.violations), android_standin.violations
    assert android_standin.messages_sent() == []


def test_get_message_answers_the_apps_document_or_404(android_standin: AndroidSmsStandIn) -> None:
    """GET /messages/{id}, as the outbox asks before sending again: the app keeps the id the client gave."""
    from openapi_core.testing import MockResponse

    from tests.support.android_sms_contract import AppRequest, api

    client = APIClient(USERNAME, PASSWORD, base_url=android_standin.base_url,
                       http=RequestsHttpClient(requests.Session()))
    client.send(Message(id="sambat-7-0123456789", phone_numbers=["+6281234567890"],
                        text_message=TextMessage(text="Aduan diterima.")))
    android_standin.set_state("sambat-7-0123456789", "Delivered")
    state = client.get_state("sambat-7-0123456789")
    assert (state.id, state.state.value, state.recipients[0].state.value) == ("sambat-7-0123456789", "Delivered",
                                                                              "Delivered")
    with pytest.raises(Exception) as missing:
        client.get_state("sambat-8-0123456789")
    assert getattr(missing.value, "status_code", None) == 404
    get = next(r for r in android_standin.requests if r.method == "GET")
    request = AppRequest("GET", get.path, {}, get.headers, b"")
    response = MockResponse(json.dumps(android_standin.states["sambat-7-0123456789"]).encode(), status_code=200,
                            content_type="application/json")
    api().validate_response(request, response)
    assert android_standin.violations == []
