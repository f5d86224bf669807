"""TwilioSender.send: one form POST to Twilio's Create Message, against the stand-in over real HTTP.

The stand-in checks every request against Twilio's OpenAPI description (a violation fails the test at teardown),
answers as Twilio does, and can be told to refuse (fail_next) or to answer with something that is not JSON.
"""

from __future__ import annotations

import json
import socket
from base64 import b64decode
from concurrent.futures import ThreadPoolExecutor

import pytest

from channels.base import (
    ChannelConfigError,
    InvalidRecipient,
    OutboundMessage,
    ProviderUnavailable,
    RecipientOptedOut,
    Rejected,
    SendError,
    Throttled,
    WindowClosed,
)
from channels.twilio import TwilioSender
from models import utcnow
from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, CITY_NUMBER, PUBLIC_URL
from tests.support.twilio_standin import TwilioStandIn

CITIZEN = "+6281234567890"
SERVICE_SID = "MG" + "0123456789abcdef" * 2
TEMPLATE_SID = "HX" + "0123456789abcdef" * 2


def sender_for(standin: TwilioStandIn, **options: object) -> TwilioSender:
    return TwilioSender(ACCOUNT_SID, AUTH_TOKEN, api_base_url=standin.base_url, timeout=2,
                        **{"from_number": CITY_NUMBER, **options})  # type: ignore[arg-type]


def sms(body: str = "Tiket 1234 5678: diterima.", **fields: object) -> OutboundMessage:
    return OutboundMessage(**{"outbox_id": 7, "medium": "sms", "recipient": CITIZEN, "body": body, **fields})


def test_a_sent_message_has_twilio_sid_and_status(twilio_standin: TwilioStandIn) -> None:
    body = "Laporan diterima: jalan berlubang di Jl. Ijen"
    result = sender_for(twilio_standin).send(sms(body))

    [created] = twilio_standin.messages_sent()
    assert (result.provider_message_id, result.status) == (created["sid"], "queued")
    [request] = twilio_standin.requests
    assert (request.method, request.path) == ("POST", f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json")
    assert request.params == {"To": CITIZEN, "From": CITY_NUMBER, "Body": body}
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "Sambat" in request.headers["User-Agent"]
    scheme, _, encoded = request.headers["Authorization"].partition(" ")
    assert (scheme, b64decode(encoded).decode()) == ("Basic", f"{ACCOUNT_SID}:{AUTH_TOKEN}")


def test_status_callback_and_a_messaging_service(twilio_standin: TwilioStandIn) -> None:
    """Without a From number the Messaging Service picks one; Twilio says ``accepted`` until it has."""
    callback = f"{PUBLIC_URL}/webhooks/twilio/status?outbox=7"
    sender = sender_for(twilio_standin, from_number=None, messaging_service_sid=SERVICE_SID)

    result = sender.send(sms(status_callback=callback))

    [request] = twilio_standin.requests
    assert request.params == {"To": CITIZEN, "MessagingServiceSid": SERVICE_SID, "Body": "Tiket 1234 5678: diterima.",
                               "StatusCallback": callback}
    assert (result.provider_message_id, result.status) == (twilio_standin.messages_sent()[0]["sid"], "accepted")


def test_no_sender_is_a_configuration_error(twilio_standin: TwilioStandIn) -> None:
    with pytest.raises(ChannelConfigError, match="no sender"):
        sender_for(twilio_standin, from_number=None).send(sms())
    assert twilio_standin.requests == []


def test_a_whatsapp_template_past_the_window(twilio_standin: TwilioStandIn) -> None:
    twilio_standin.close_whatsapp_window(CITIZEN)
    twilio_standin.approve_template(TEMPLATE_SID)
    variables = {"1": "1234 5678", "2": "Dinas Pekerjaan Umum – Bina Marga"}

    result = sender_for(twilio_standin).send(sms(medium="whatsapp", body="", template=TEMPLATE_SID,
                                                 template_variables=variables))

    [request] = twilio_standin.requests
    assert request.params.keys() == {"To", "From", "ContentSid", "ContentVariables"}
    assert (request.params["To"], request.params["From"]) == (f"whatsapp:{CITIZEN}", f"whatsapp:{CITY_NUMBER}")
    assert request.params["ContentSid"] == TEMPLATE_SID
    assert json.loads(request.params["ContentVariables"]) == variables
    assert twilio_standin.message(result.provider_message_id)["status"] == "queued"  # approved: not failed
    assert twilio_standin.status_callbacks() == []


@pytest.mark.parametrize(("status", "code", "error", "error_code"), [
    (429, 20429, Throttled, "20429"),
    (400, 21610, RecipientOptedOut, "21610"),
    (400, 21211, InvalidRecipient, "21211"),
    (400, 21614, InvalidRecipient, "21614"),
    (400, 63016, WindowClosed, "63016"),
    (400, 21620, Rejected, "21620"),
    (401, 20003, ChannelConfigError, "20003"),
    (500, None, ProviderUnavailable, "20500"),
    (503, None, ProviderUnavailable, "20503"),
], ids=lambda value: getattr(value, "__name__", str(value)))
def test_twilio_errors_map_to_typed_errors(twilio_standin: TwilioStandIn, status: int, code: int | None,
                                           error: type[SendError], error_code: str) -> None:
    twilio_standin.fail_next(status=status, code=code)

    with pytest.raises(SendError) as raised:
        sender_for(twilio_standin).send(sms())

    assert type(raised.value) is error
    assert raised.value.code == error_code
    assert raised.value.retryable == (status == 429 or status >= 500)
    assert f"Twilio {status} error {error_code}" in str(raised.value)


def test_wrong_credentials_are_a_configuration_error(twilio_standin: TwilioStandIn) -> None:
    twilio_standin.auth_token, twilio_standin.expect_violations = "not-" + AUTH_TOKEN, True

    with pytest.raises(ChannelConfigError, match="Twilio 401 error 20003: Authenticate"):
        sender_for(twilio_standin).send(sms())
    assert twilio_standin.messages_sent() == []


@pytest.mark.parametrize(("status", "error"), [
    (502, ProviderUnavailable), (429, Throttled), (400, Rejected), (403, ChannelConfigError),
])
def test_an_error_that_is_not_json_maps_by_http_status(twilio_standin: TwilioStandIn, status: int,
                                                       error: type[SendError]) -> None:
    """A proxy or load balancer in front of Twilio answers with its own HTML page."""
    twilio_standin.fail_next(status=status, body="<html><body><h1>Bad Gateway</h1></body></html>")

    with pytest.raises(SendError) as raised:
        sender_for(twilio_standin).send(sms())

    assert type(raised.value) is error
    assert raised.value.code == str(status)
    assert "not JSON" in str(raised.value) and "Bad Gateway" in str(raised.value)


def test_a_201_that_is_not_json_is_unsure_and_found_later(twilio_standin: TwilioStandIn) -> None:
    """Twilio took the message but its answer was lost: retryable, and find() then gives the message Twilio has."""
    twilio_standin.fail_next(status=201, body="<html>OK</html>")
    sender, message = sender_for(twilio_standin), sms()

    with pytest.raises(ProviderUnavailable, match="without a Message resource"):
        sender.send(message)

    [created] = twilio_standin.messages_sent()
    found = sender.find(message, since=utcnow(), known=lambda sid: False)
    assert found is not None and found.provider_message_id == created["sid"]


def test_the_environment_proxy_is_used_as_by_twilio_client(twilio_standin: TwilioStandIn,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """http_proxy (and its credentials, percent-encoded in the URL) count as they do for requests; the stand-in
    serves a proxied request's absolute URL as its own."""
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", twilio_standin.base_url.replace("http://", "http://city:p%40ss@"))
    sender = TwilioSender(ACCOUNT_SID, AUTH_TOKEN, from_number=CITY_NUMBER, api_base_url="http://api.twilio.invalid")

    result = sender.send(sms())

    [request] = twilio_standin.requests
    assert request.headers["Host"] == "api.twilio.invalid"
    assert b64decode(request.headers["Proxy-Authorization"].removeprefix("Basic ")) == b"city:p@ss"
    assert result.provider_message_id == twilio_standin.messages_sent()[0]["sid"]


def test_a_refused_connection_is_provider_unavailable() -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sender = TwilioSender(ACCOUNT_SID, AUTH_TOKEN, from_number=CITY_NUMBER, api_base_url=f"http://127.0.0.1:{port}")

    with pytest.raises(ProviderUnavailable, match="Twilio unreachable: NewConnectionError"):
        sender.send(sms())


def test_an_answer_after_the_timeout_is_provider_unavailable(twilio_standin: TwilioStandIn) -> None:
    twilio_standin.delay_next(3)
    sender = TwilioSender(ACCOUNT_SID, AUTH_TOKEN, from_number=CITY_NUMBER, api_base_url=twilio_standin.base_url,
                          timeout=1)

    with pytest.raises(ProviderUnavailable, match="Twilio unreachable: ReadTimeoutError"):
        sender.send(sms())
    assert sender.send(sms()).status == "queued"  # the pool goes on with a new connection


def test_sends_share_kept_alive_connections_across_threads(twilio_standin: TwilioStandIn) -> None:
    sender = sender_for(twilio_standin)
    assert sender.send(sms()).status == "queued"
    sender.send(sms())
    assert len({request.peer for request in twilio_standin.requests}) == 1  # one connection, kept alive

    with ThreadPoolExecutor(max_workers=2) as threads:
        results = list(threads.map(lambda number: sender.send(sms(f"Tiket {number}")), range(20)))

    assert len({result.provider_message_id for result in results}) == 20
    assert sorted(m["body"] for m in twilio_standin.messages_sent()[2:]) == sorted(f"Tiket {n}" for n in range(20))
    assert len({request.peer for request in twilio_standin.requests}) <= 2  # one per thread at most
