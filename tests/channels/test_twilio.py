"""Twilio channel: tables of real webhook bodies in, and the exact requests sent out.

Incoming cases: label, body, how it is signed, expected HTTP status, stored text, contact and medium.
Outgoing cases: the stand-in's answer and what becomes of the outbox row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count
from typing import Any
from urllib.parse import parse_qsl

import pytest
from sqlalchemy import func, select

from gateway.complaints.outbox import add_message
from gateway.jobs.outbox import deliver, max_sends
from models import Contact, InboundMessage, Outbox
from tests.channels import twilio_payloads as payloads
from tests.conftest import CITY_NUMBER, PUBLIC_URL, Stack, post_twilio, twilio_signature

SMS_PATH, STATUS_PATH = "/webhooks/twilio/sms", "/webhooks/twilio/status"
_sids = count(1)


def form(body: str, **changes: str | None) -> dict[str, str]:
    """A payload as a dict, with fields changed (None removes one)."""
    fields = dict(parse_qsl(body, keep_blank_values=True))
    for key, value in changes.items():
        if value is None:
            fields.pop(key, None)
        else:
            fields[key] = value
    return fields


@dataclass
class Incoming:
    label: str
    params: dict[str, str]
    status: int
    text: str | None = None
    contact: str | None = None
    medium: str | None = None
    media: list[str] = field(default_factory=list)
    signature: str | None = None  # None: sign properly; "": no header; anything else: that header
    sign_url: str | None = None
    error: str | None = None
    location: dict[str, Any] | None = None


INCOMING = [
    Incoming("SMS", form(payloads.SMS), 200, "jalan rusak berlubang depan SDN 3 Sawojajar", "+6281234567890", "sms"),
    Incoming("MMS with two photos", form(payloads.MMS), 200, "sampah numpuk di TPS Jl. Bantaran", "+6285655512345",
             "mms", ["image/jpeg", "image/png"]),
    Incoming("WhatsApp text", form(payloads.WHATSAPP), 200, "PJU mati di jl. Danau Toba sudah seminggu",
             "+6281298765432", "whatsapp"),
    Incoming("WhatsApp photo, no text", form(payloads.WHATSAPP_PHOTO), 200, "", "+6281311122233", "whatsapp",
             ["image/jpeg"]),
    Incoming("WhatsApp voice note", form(payloads.WHATSAPP_VOICE_NOTE), 200, "", "+6281311122233", "whatsapp",
             ["audio/ogg"]),
    Incoming("WhatsApp location pin of a place", form(payloads.WHATSAPP_LOCATION), 200, "", "+6281298765432",
             "whatsapp", location={"latitude": -7.9826, "longitude": 112.6308, "label": "Alun-Alun Merdeka Malang",
                                   "address": "Jl. Merdeka Sel., Kiduldalem, Kec. Klojen, Kota Malang"}),
    Incoming("WhatsApp current location", form(payloads.WHATSAPP_CURRENT_LOCATION), 200, "", "+6281298765432",
             "whatsapp", location={"latitude": -7.9412345, "longitude": 112.6154321, "label": None, "address": None}),
    Incoming("location off the map is no location", form(payloads.WHATSAPP_CURRENT_LOCATION, Latitude="91"), 200,
             "", "+6281298765432", "whatsapp"),
    Incoming("sender in local format", form(payloads.SMS, From="081234567890"), 200, None, "+6281234567890", "sms"),
    Incoming("bad signature", form(payloads.SMS), 403, signature="bm90IHRoZSByaWdodCBvbmU=",
             error="does not match"),
    Incoming("no signature header", form(payloads.SMS), 403, signature="", error="missing X-Twilio-Signature"),
    Incoming("signed for another URL", form(payloads.SMS), 403, sign_url="https://evil.example/webhooks/twilio/sms",
             error="does not match"),
    Incoming("signed with another token", form(payloads.SMS), 403,
             signature=twilio_signature(PUBLIC_URL + SMS_PATH, form(payloads.SMS), token="x" * 32),
             error="does not match"),
    Incoming("missing From", form(payloads.SMS, From=None), 400, error="missing required field From"),
    Incoming("missing MessageSid", form(payloads.SMS, MessageSid=None, SmsMessageSid=None), 400,
             error="missing required field MessageSid"),
    Incoming("unparseable From", form(payloads.SMS, From="not-a-number"), 400, error="not a phone number"),
    Incoming("impossible From", form(payloads.SMS, From="+6212"), 400, error="not a possible phone number"),
]


@pytest.mark.parametrize("case", INCOMING, ids=lambda case: case.label)
def test_incoming(stack: Stack, case: Incoming) -> None:
    response = post_twilio(stack.client, SMS_PATH, case.params, signature=case.signature, sign_url=case.sign_url)

    assert response.status_code == case.status, response.text
    with stack.runtime.db.session() as session:
        rows = session.scalars(select(InboundMessage)).all()
        if case.status != 200:
            assert case.error in response.text
            assert rows == []
            return
        assert response.mimetype == "text/xml" and "<Response>" in response.text
        [row] = rows
        assert (row.channel, row.medium, row.sender) == ("twilio", case.medium, case.contact)
        if case.text is not None:
            assert row.body == case.text
        assert [item["content_type"] for item in row.media] == case.media
        assert all(item["url"].startswith("https://api.twilio.com/") for item in row.media)
        assert row.location == case.location
        assert row.raw["MessageSid"] == case.params["MessageSid"]
        assert row.processed_at is None  # stored and committed; the worker does the rest


def test_repeat_message_sid_creates_nothing_new(stack: Stack) -> None:
    params = form(payloads.SMS)
    answers = [post_twilio(stack.client, SMS_PATH, params) for _ in range(3)]
    stack.work()
    answers.append(post_twilio(stack.client, SMS_PATH, params))  # after it was processed, too
    stack.work()

    assert {(a.status_code, a.text) for a in answers} == {(200, answers[0].text)}
    with stack.runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1
        assert session.scalar(select(func.count()).select_from(Outbox)) == 1


def test_reply_goes_to_whatsapp_from_the_number_written_to(stack: Stack, twilio_standin) -> None:  # noqa: ANN001
    post_twilio(stack.client, SMS_PATH, form(payloads.WHATSAPP))
    stack.work()

    [sent] = twilio_standin.messages_sent()
    assert sent["to"] == "whatsapp:+6281298765432"
    assert sent["from"] == "whatsapp:+14155238886"


def whatsapp_in(stack: Stack, body: str = payloads.WHATSAPP, **changes: str | None) -> dict[str, str]:
    """A WhatsApp message through the signed webhook, with a fresh MessageSid; returns the form posted."""
    sid = f"SM{next(_sids):032x}"
    params = form(body, MessageSid=sid, SmsMessageSid=sid, SmsSid=sid, **changes)
    response = post_twilio(stack.client, SMS_PATH, params)
    assert response.status_code == 200, response.text
    return params


def deliver_callbacks(stack: Stack, standin: Any, done: int = 0) -> int:
    """Post the status callbacks the stand-in kept (Twilio would have sent them), from the ``done``-th on, and
    work the queue after each round, until none are left; returns how many were delivered in all."""
    while len(callbacks := standin.status_callbacks()) > done:
        for callback in callbacks[done:]:
            response = post_twilio(stack.client, callback.url.removeprefix(PUBLIC_URL), callback.params,
                                   sign_url=callback.url)
            assert response.status_code == 200, response.text
        done = len(callbacks)
        stack.work()
    return done


# --- status callbacks -------------------------------------------------------------------------------


def _outbox_row(stack: Stack, sid: str | None = "SM00000000000000000000000000000001", status: str = "queued") -> int:
    with stack.runtime.db.session() as session:
        contact = Contact(phone="+6281234567890")
        session.add(contact)
        session.flush()
        row = add_message(session, dedupe_key=f"test:{sid}", kind="test", channel="twilio", medium="sms",
                          recipient="+6281234567890", body="Tes", contact_id=contact.id)
        row.status, row.provider_message_id = status, sid
        session.commit()
        return row.id


def _status(stack: Stack, outbox_id: int) -> Outbox:
    with stack.runtime.db.session() as session:
        return session.get(Outbox, outbox_id)


@pytest.mark.parametrize(
    ("label", "sequence", "final"),
    [
        ("in order", ["sending", "sent", "delivered"], "delivered"),
        ("delivered before sent", ["delivered", "sent", "sending"], "delivered"),
        ("failed then a late queued", ["failed", "queued"], "failed"),
        ("undelivered is final", ["sent", "undelivered", "delivered"], "undelivered"),
        ("WhatsApp read after delivered", ["sent", "read", "delivered"], "read"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_status_callbacks_never_roll_back(stack: Stack, label: str, sequence: list[str], final: str) -> None:
    sid = "SM00000000000000000000000000000001"
    outbox_id = _outbox_row(stack, sid)
    for status in sequence:
        params = form(payloads.status_body(sid, status))
        assert post_twilio(stack.client, STATUS_PATH, params).status_code == 200
    assert _status(stack, outbox_id).status == final


def test_status_callback_by_outbox_id_before_the_sid_is_known(stack: Stack) -> None:
    outbox_id = _outbox_row(stack, sid=None, status="claimed")
    sid = "SM00000000000000000000000000000002"
    path = f"{STATUS_PATH}?outbox={outbox_id}"
    response = post_twilio(stack.client, path, form(payloads.status_body(sid, "sent")))
    assert response.status_code == 200 and "updated" in response.text
    row = _status(stack, outbox_id)
    assert (row.status, row.provider_message_id) == ("sent", sid)


def test_whatsapp_63016_callback_is_read_as_a_closed_window() -> None:
    """Twilio's callback for a WhatsApp message refused outside the 24-hour window: failed, 63016, window closed."""
    from werkzeug.test import EnvironBuilder

    from channels.twilio import TwilioChannel
    from tests.conftest import AUTH_TOKEN

    sid = "SM00000000000000000000000000000005"
    params = form(payloads.WHATSAPP_FAILED_63016.format(sid=sid))
    url = PUBLIC_URL + STATUS_PATH + "?outbox=7"
    request = EnvironBuilder(path=STATUS_PATH, query_string="outbox=7", method="POST", data=params,
                             headers={"X-Twilio-Signature": twilio_signature(url, params)}).get_request()
    report = TwilioChannel(AUTH_TOKEN).parse_status(request, url)
    assert (report.status, report.error_code, report.outbox_id, report.window_closed) == ("failed", "63016", 7, True)


def test_failed_21610_marks_contact_opted_out(stack: Stack) -> None:
    sid = "SM00000000000000000000000000000003"
    outbox_id = _outbox_row(stack, sid)
    post_twilio(stack.client, STATUS_PATH, form(payloads.status_body(sid, "failed", error_code="21610")))
    with stack.runtime.db.session() as session:
        row = session.get(Outbox, outbox_id)
        assert (row.status, row.error_code) == ("failed", "21610")
        assert session.get(Contact, row.contact_id).opted_out


@pytest.mark.parametrize(
    ("label", "params", "status", "reason"),
    [
        ("unknown message", form(payloads.status_body("SM" + "9" * 32, "delivered")), 200, "unknown message"),
        ("unknown status", form(payloads.status_body("SM" + "9" * 32, "teleported")), 200, "unknown status"),
        ("missing MessageStatus", form(payloads.status_body("SM" + "9" * 32, "sent"), MessageStatus=None,
                                       SmsStatus=None), 400, "MessageStatus"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_status_callbacks_we_do_not_act_on(stack: Stack, label: str, params: dict, status: int, reason: str) -> None:
    response = post_twilio(stack.client, STATUS_PATH, params)
    assert response.status_code == status
    assert reason in response.text


def test_status_callback_with_bad_signature_is_refused(stack: Stack) -> None:
    sid = "SM00000000000000000000000000000004"
    outbox_id = _outbox_row(stack, sid)
    response = post_twilio(stack.client, STATUS_PATH, form(payloads.status_body(sid, "delivered")),
                           signature="Zm9yZ2Vk")
    assert response.status_code == 403
    assert _status(stack, outbox_id).status == "queued"


# --- outgoing ---------------------------------------------------------------------------------------


@dataclass
class Outgoing:
    label: str
    answer: dict | None  # arguments for twilio_standin.fail_next, or None for 201
    status: str
    error_code: str | None = None
    retried: bool = False
    opted_out: bool = False
    counted: bool = True  # a failed attempt (a "too many requests" is not: the provider took nothing)


OUTGOING = [
    Outgoing("accepted", None, "queued"),
    Outgoing("invalid To 21211", {"status": 400, "code": 21211}, "failed", "21211"),
    Outgoing("landline 21614", {"status": 400, "code": 21614}, "failed", "21614"),
    Outgoing("unsubscribed 21610", {"status": 400, "code": 21610}, "failed", "21610", opted_out=True),
    Outgoing("HTTP 429", {"status": 429, "code": 20429}, "retry", "20429", retried=True, counted=False),
    Outgoing("HTTP 500", {"status": 500}, "retry", "20500", retried=True),
    Outgoing("timeout", {"status": 201, "delay": 3.0}, "retry", retried=True),
    Outgoing("other 400", {"status": 400, "code": 21620}, "failed", "21620"),
]


@pytest.mark.parametrize("case", OUTGOING, ids=lambda case: case.label)
def test_outgoing(stack: Stack, twilio_standin, case: Outgoing) -> None:  # noqa: ANN001
    outbox_id = _outbox_row(stack, sid=None, status="pending")
    if case.answer:
        twilio_standin.fail_next(**case.answer)

    deliver(stack.runtime, outbox_id)

    [request] = twilio_standin.requests
    assert request.method == "POST"
    assert request.path.endswith("/Messages.json")
    assert request.params == {
        "To": "+6281234567890", "From": CITY_NUMBER, "Body": "Tes",
        "StatusCallback": f"{PUBLIC_URL}/webhooks/twilio/status?outbox={outbox_id}",
    }
    with stack.runtime.db.session() as session:
        row = session.get(Outbox, outbox_id)
        assert row.status == case.status, row.last_error
        assert (row.attempts, row.throttled) == ((1, 0) if case.counted else (0, 1))
        assert row.error_code == case.error_code
        assert (row.status == "retry" and row.next_attempt_at is not None) == case.retried
        if case.status == "queued":
            assert row.provider_message_id == twilio_standin.messages_sent()[0]["sid"]
        else:
            assert row.last_error
        assert session.get(Contact, row.contact_id).opted_out == case.opted_out


def test_retryable_errors_stop_after_max_attempts(stack: Stack, twilio_standin) -> None:  # noqa: ANN001
    """Dead after jobs.max_attempts (or outbox.max_attempts, the lower): listed in the console, never retried on
    its own. Each retry after a 503 first asks Twilio whether the failed attempt created the message."""
    outbox_id = _outbox_row(stack, sid=None, status="pending")
    attempts = max_sends(stack.runtime)
    twilio_standin.fail_next(status=503, times=attempts)
    for _ in range(attempts):
        with stack.runtime.db.session() as session:
            session.get(Outbox, outbox_id).next_attempt_at = None  # due now
            session.commit()
        deliver(stack.runtime, outbox_id)
    row = _status(stack, outbox_id)
    assert (row.status, row.attempts) == ("dead", attempts)
    assert [r.method for r in twilio_standin.requests] == ["POST"] + ["GET", "POST"] * (attempts - 1)


def test_a_row_is_sent_once_even_when_delivered_twice(stack: Stack, twilio_standin) -> None:  # noqa: ANN001
    outbox_id = _outbox_row(stack, sid=None, status="pending")
    assert deliver(stack.runtime, outbox_id) == "queued"
    assert deliver(stack.runtime, outbox_id) is None
    assert len(twilio_standin.requests) == 1


@pytest.mark.parametrize(("hops", "forwarded_host", "signed_host", "expected"), [
    (1, "sambat.example.go.id", "sambat.example.go.id", 200),  # nginx says https://sambat.example.go.id
    (1, "evil.example, sambat.example.go.id", "sambat.example.go.id", 200),  # the client's own header ignored
    (1, "evil.example, sambat.example.go.id", "evil.example", 403),
    (0, "sambat.example.go.id", "sambat.example.go.id", 403),  # no trusted proxy: X-Forwarded-* mean nothing
], ids=["one hop", "forged host ignored", "forged host not trusted", "no hops"])
def test_signature_url_behind_a_proxy_comes_from_trusted_hops_only(sqlite_url: str, tmp_path, hops: int,  # noqa: ANN001
                                                                    forwarded_host: str, signed_host: str,
                                                                    expected: int) -> None:
    """With no SAMBAT_PUBLIC_URL, the URL Twilio signed is rebuilt from X-Forwarded-Proto/Host of proxy_hops
    trusted proxies (ProxyFix); a client cannot choose it."""
    from gateway.app import create_app
    from gateway.jobs.queue import EmbeddedQueue
    from tests.conftest import _empty_tables, make_settings

    settings = make_settings(sqlite_url, intake__media_dir=str(tmp_path), public_url=None, proxy_hops=hops)
    app = create_app(settings, queue=EmbeddedQueue(), start_embedded=False)
    params = form(payloads.SMS)
    path = "/webhooks/twilio/sms"
    try:
        response = app.test_client().post(
            path, data=params, environ_base={"REMOTE_ADDR": "127.0.0.1"},
            headers={"X-Twilio-Signature": twilio_signature(f"https://{signed_host}{path}", params),
                     "X-Forwarded-Proto": "https", "X-Forwarded-Host": forwarded_host,
                     "X-Forwarded-For": "203.0.113.7"})
    finally:
        app.extensions["sambat"].db.dispose()
        _empty_tables(sqlite_url)  # the message it stored is no other test's
    assert response.status_code == expected, response.get_data(as_text=True)
