"""SMS Gateway for Android: tables of the app's webhook events in, and the exact requests sent to its API.

Events are the app's documented payloads (docs "Webhooks": sms:received, sms:sent, sms:delivered,
sms:failed, system:ping), signed as the app signs them. Runs on PostgreSQL+rq and SQLite+embedded queue.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import count

import pytest
from sqlalchemy import func, select

from gateway.complaints.outbox import add_message
from gateway.complaints.status import change_status, enqueue_sends
from gateway.jobs.outbox import deliver
from models import Complaint, Contact, InboundMessage, Outbox
from tests.conftest import Stack, _empty_tables, _stack
from tests.support.android_sms_standin import (
    PASSWORD,
    SIGNING_KEY,
    USERNAME,
    AndroidSmsStandIn,
    signed_event,
)

PATH = "/webhooks/android-sms"
_event_ids = count(1)


def received(text: str = "lampu PJU mati di jl. Danau Toba", phone: str = "081234567890", sim: int | None = 1,
             message_id: str = "abc123") -> dict:
    return {"messageId": message_id, "message": text, "phoneNumber": phone, "simNumber": sim,
            "receivedAt": "2026-11-23T09:46:11.000+07:00"}


def status_payload(event: str, message_id: str, phone: str = "+6281234567890") -> dict:
    payload = {"messageId": message_id, "phoneNumber": phone, "simNumber": 1}
    payload.update({"sms:sent": {"partsCount": 1, "sentAt": "2026-11-23T09:47:00.000+07:00"},
                    "sms:delivered": {"deliveredAt": "2026-11-23T09:47:05.000+07:00"},
                    "sms:failed": {"reason": "RESULT_ERROR_LIMIT_EXCEEDED",
                                   "failedAt": "2026-11-23T09:47:05.000+07:00"}}[event])
    return payload


def post_event(stack: Stack, event: str, payload: dict, event_id: str | None = None, **signing: object):
    body, headers = signed_event(event, payload, event_id or f"Ey6ECgOkVVFjz3CL4{next(_event_ids):04d}", **signing)
    return stack.client.post(PATH, data=body, headers=headers)


@pytest.fixture(params=["postgres", "sqlite"])
def android(request: pytest.FixtureRequest, twilio_standin, android_standin: AndroidSmsStandIn) -> Iterator[Stack]:  # noqa: ANN001
    """The pipeline with the Android gateway configured (and Twilio too: replies follow the channel)."""
    url = request.getfixturevalue(f"{request.param}_url")
    built = _stack(request.param, url, twilio_standin, android_sms__api_url=android_standin.base_url,
                   android_sms__username=USERNAME, android_sms__password=PASSWORD,
                   android_sms__signing_key=SIGNING_KEY, send_rates={})
    yield built
    built.runtime.db.dispose()
    _empty_tables(url)


@dataclass
class Incoming:
    label: str
    event: str
    payload: dict
    status: int
    reason: str = ""
    sender: str | None = None
    recipient: str | None = None
    timestamp_offset: int = 0
    key: str = SIGNING_KEY
    raw_body: bytes | None = None
    headers: dict | None = None


INCOMING = [
    Incoming("received, local 08 format", "sms:received", received(phone="081234567890"), 200, "stored",
             "+6281234567890", "sim:1"),
    Incoming("received, 62 without plus", "sms:received", received(phone="6285655512345", sim=2), 200, "stored",
             "+6285655512345", "sim:2"),
    Incoming("received, E.164, SIM unknown", "sms:received", received(phone="+6281311122233", sim=None), 200,
             "stored", "+6281311122233", None),
    Incoming("ping", "system:ping", {"health": {"status": "healthy", "timestamp": "2026-11-23T09:46:11.000+07:00"}},
             200, "alive"),
    Incoming("MMS metadata only", "mms:received", {"messageId": "mms_1", "phoneNumber": "+6281234567890",
                                                   "simNumber": 1, "transactionId": "T1", "size": 125684}, 200,
             "ignoring event 'mms:received'"),
    Incoming("signed with another key", "sms:received", received(), 403, "does not match", key="wrong-key"),
    Incoming("timestamp 10 minutes old (replay)", "sms:received", received(), 403, "replay", timestamp_offset=-600),
    Incoming("timestamp 10 minutes ahead", "sms:received", received(), 403, "replay", timestamp_offset=600),
    Incoming("no signature headers", "sms:received", received(), 403, "missing X-Signature", headers={}),
    Incoming("missing phoneNumber", "sms:received", {"messageId": "x", "message": "halo"}, 400,
             "payload.phoneNumber"),
    Incoming("unparseable phoneNumber", "sms:received", received(phone="TELKOMSEL"), 400, "not a phone number"),
    Incoming("impossible phoneNumber", "sms:received", received(phone="+6212"), 400, "not a possible phone number"),
]


@pytest.mark.parametrize("case", INCOMING, ids=lambda case: case.label)
def test_incoming(android: Stack, case: Incoming) -> None:
    body, headers = signed_event(case.event, case.payload, "Ey6ECgOkVVFjz3CL48B8C", key=case.key,
                                 timestamp=int(time.time()) + case.timestamp_offset)
    response = android.client.post(PATH, data=body, headers=case.headers if case.headers is not None else headers)

    assert response.status_code == case.status, response.text
    assert case.reason in response.text
    with android.runtime.db.session() as session:
        rows = session.scalars(select(InboundMessage)).all()
        if case.sender is None:
            assert rows == []
            return
        [row] = rows
        assert (row.channel, row.medium, row.sender, row.recipient) == ("android-sms", "sms", case.sender,
                                                                        case.recipient)
        assert row.provider_message_id == "Ey6ECgOkVVFjz3CL48B8C"  # the event id, not the app's messageId
        assert row.body == case.payload["message"] and row.raw["payload"] == case.payload
        assert row.received_at.isoformat() == "2026-11-23T02:46:11+00:00"


def test_body_that_is_not_json_is_refused(android: Stack) -> None:
    import hashlib
    import hmac

    stamp = str(int(time.time()))
    body = b"event=sms:received"
    signature = hmac.new(SIGNING_KEY.encode(), body + stamp.encode(), hashlib.sha256).hexdigest()
    response = android.client.post(PATH, data=body, headers={"X-Signature": signature, "X-Timestamp": stamp})
    assert response.status_code == 400 and "not JSON" in response.text


def test_repeat_event_id_creates_nothing_new(android: Stack, android_standin: AndroidSmsStandIn) -> None:
    answers = [post_event(android, "sms:received", received(), event_id="Ey6ECgOkVVFjz3CL48B8C") for _ in range(3)]
    android.work()
    answers.append(post_event(android, "sms:received", received(), event_id="Ey6ECgOkVVFjz3CL48B8C"))
    android.work()

    assert {(a.status_code, a.text) for a in answers} == {(200, "stored\n")}
    assert len(android_standin.messages_sent()) == 1
    with android.runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_same_message_id_in_two_events_is_two_messages(android: Stack, android_standin: AndroidSmsStandIn) -> None:
    """The app's messageId is a hash of the content: the same text sent twice has the same one."""
    post_event(android, "sms:received", received(message_id="abc123"))
    post_event(android, "sms:received", received(message_id="abc123"))
    android.work()
    assert len(android_standin.messages_sent()) == 2
    with android.runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Complaint)) == 2


def test_sms_in_reply_out_on_the_same_phone_and_sim(android: Stack, android_standin: AndroidSmsStandIn,
                                                    twilio_standin) -> None:  # noqa: ANN001
    post_event(android, "sms:received", received("jalan rusak berlubang depan SDN 3 Sawojajar", sim=2))
    android.work()

    [request] = android_standin.requests
    assert request.path == "/messages"
    body = request.body
    assert body["phoneNumbers"] == ["+6281234567890"] and body["simNumber"] == 2
    assert body["withDeliveryReport"] is True and body["priority"] == 50
    assert body["textMessage"]["text"].startswith("Aduan diterima. Tiket ")
    assert twilio_standin.messages_sent() == []  # the reply stays on the provider the SMS came in on
    with android.runtime.db.session() as session:
        row = session.scalar(select(Outbox))
        assert (row.channel, row.status, row.provider_message_id) == ("android-sms", "queued", body["id"])

    # The app reports sent, then delivered; a late or repeated event never rolls it back.
    for event in ("sms:sent", "sms:delivered", "sms:sent", "sms:delivered"):
        response = post_event(android, event, status_payload(event, body["id"]))
        assert response.status_code == 200
    with android.runtime.db.session() as session:
        assert session.scalar(select(Outbox.status)) == "delivered"


def test_status_update_goes_out_behind_replies(android: Stack, android_standin: AndroidSmsStandIn) -> None:
    post_event(android, "sms:received", received("sampah numpuk di TPS"))
    android.work()
    with android.runtime.db.session() as session:
        complaint = session.scalar(select(Complaint))
        _, row = change_status(session, android.runtime, complaint, "resolved", actor="admin@dlh", note="Sudah.")
        session.commit()
        enqueue_sends(android.runtime, [row])
    android.work()
    update = android_standin.messages_sent()[-1]
    assert update["priority"] == 0 and update["simNumber"] == 1
    assert "Selesai" in update["textMessage"]["text"]


def _outbox_row(stack: Stack) -> int:
    with stack.runtime.db.session() as session:
        contact = Contact(phone="+6281234567890")
        session.add(contact)
        session.flush()
        row = add_message(session, dedupe_key="test:1", kind="ticket_created", channel="android-sms", medium="sms",
                          recipient="+6281234567890", body="Tes", contact_id=contact.id, sender="sim:1")
        session.commit()
        return row.id


@pytest.mark.parametrize(
    ("label", "answer", "status", "error_code"),
    [
        ("accepted", None, "queued", None),
        ("already accepted (409)", {"status": 409}, "queued", None),
        ("phone rate limit 429", {"status": 429}, "retry", "429"),
        ("phone error 500", {"status": 500}, "retry", "500"),
        ("timeout", {"status": 202, "delay": 3.0}, "retry", None),
        ("wrong password 401", {"status": 401}, "failed", "401"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_outgoing(android: Stack, android_standin: AndroidSmsStandIn, label: str, answer: dict | None, status: str,
                  error_code: str | None) -> None:
    outbox_id = _outbox_row(android)
    if answer:
        android_standin.fail_next(**answer)
    deliver(android.runtime, outbox_id)

    [request] = android_standin.requests
    assert request.headers["Authorization"].startswith("Basic ")
    assert request.body == {"id": request.body["id"], "textMessage": {"text": "Tes"},
                            "phoneNumbers": ["+6281234567890"], "withDeliveryReport": True, "priority": 50,
                            "simNumber": 1}
    assert request.body["id"].startswith(f"sambat-{outbox_id}-")
    with android.runtime.db.session() as session:
        row = session.get(Outbox, outbox_id)
        assert (row.status, row.error_code) == (status, error_code), row.last_error
        if status == "queued":
            assert row.provider_message_id == request.body["id"]


def test_failed_event_marks_the_row_failed_by_our_id(android: Stack, android_standin: AndroidSmsStandIn) -> None:
    outbox_id = _outbox_row(android)
    message_id = f"sambat-{outbox_id}-0123456789"
    with android.runtime.db.session() as session:
        session.get(Outbox, outbox_id).status = "claimed"  # the send's answer was lost: no provider id yet
        session.commit()
    response = post_event(android, "sms:failed", status_payload("sms:failed", message_id))
    assert response.status_code == 200 and "updated" in response.text
    with android.runtime.db.session() as session:
        row = session.get(Outbox, outbox_id)
        assert (row.status, row.provider_message_id, row.error_code) == ("failed", message_id,
                                                                         "RESULT_ERROR_LIMIT_EXCEEDED")  # whole: 0007


@pytest.mark.parametrize("provider", ["android-sms", "twilio"])
def test_config_picks_the_provider_for_messages_sambat_starts(provider: str, postgres_url: str, twilio_standin,  # noqa: ANN001
                                                              android_standin: AndroidSmsStandIn) -> None:
    """A complaint from the mobile app (no SMS came in): its confirmation and status updates go by the SMS
    provider that sms.provider names, through the channel contract (the web channel answers "SMS")."""
    from tests.gateway.web.intake_support import new_api_key

    stack = _stack("postgres", postgres_url, twilio_standin, android_sms__api_url=android_standin.base_url,
                   android_sms__username=USERNAME, android_sms__password=PASSWORD, android_sms__signing_key=SIGNING_KEY,
                   send_rates={}, sms__provider=provider)
    try:
        response = stack.client.post("/api/v1/complaints", headers={"X-API-Key": new_api_key(stack)}, json={
            "text": "PJU mati di jl. Danau Toba sudah seminggu", "kelurahan": "Sawojajar", "phone": "081234567890"})
        assert response.status_code == 201 and response.json["confirmation"] == "sms"
        stack.work()
        with stack.runtime.db.session() as session:
            complaint = session.scalar(select(Complaint))
            _, update = change_status(session, stack.runtime, complaint, "in_progress", actor="admin@dishub",
                                      note="Petugas menuju lokasi.")
            session.commit()
            enqueue_sends(stack.runtime, [update])
        stack.work()
        android_texts = [request.body["textMessage"]["text"] for request in android_standin.requests
                         if request.path == "/messages"]
        twilio_texts = [message["body"] for message in twilio_standin.messages_sent()]
        sent, unused = (android_texts, twilio_texts) if provider == "android-sms" else (twilio_texts, android_texts)
        assert len(sent) == 2 and sent[0].startswith("Aduan diterima. Tiket ") and unused == []
        with stack.runtime.db.session() as session:
            assert set(session.scalars(select(Outbox.channel))) == {provider}
    finally:
        stack.runtime.db.dispose()
        _empty_tables(postgres_url)
