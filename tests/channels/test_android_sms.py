"""SMS Gateway for Android: a table of every event the app sends, and the exact requests sent to its API.

Events are built from the app's own schemas (``android_payloads``, checked against ``swagger.json`` here) and
signed as the app signs them; requests out are checked by the stand-in against the same description. Every
test runs on PostgreSQL+rq and on SQLite+embedded queue.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count
from typing import Any

import pytest
from android_sms_gateway import Encryptor
from sqlalchemy import func, select

from gateway.app import create_app
from gateway.complaints.outbox import add_message
from gateway.complaints.status import change_status, enqueue_sends
from gateway.jobs.outbox import deliver
from gateway.jobs.queue import EmbeddedQueue, RQQueue
from gateway.settings import Settings
from models import Attachment, Complaint, Contact, Device, InboundMessage, Outbox
from tests.channels import android_payloads as payloads
from tests.conftest import REDIS_URL, Stack, _empty_tables, _stack, make_settings
from tests.support.android_sms_contract import check_event, event_names
from tests.support.android_sms_standin import (
    DEVICE_ID,
    LOCAL_DEVICE_ID,
    OTHER_DEVICE_ID,
    PASSPHRASE,
    PASSWORD,
    SIGNING_KEY,
    TOKEN,
    USERNAME,
    AndroidSmsStandIn,
    sign,
    signed_event,
    webhook_event,
)

PATH = "/webhooks/android-sms"
CITIZEN, CITY_SIM = payloads.CITIZEN, payloads.CITY_SIM
ENCRYPTED = "$aes-256-cbc/pbkdf2-sha1$"
_event_ids = count(1)


def post_event(stack: Stack, event: str, payload: dict, event_id: str | None = None, **signing: Any) -> Any:
    body, headers = signed_event(event, payload, event_id or f"Ey6ECgOkVVFjz3CL4{next(_event_ids):04d}", **signing)
    return stack.client.post(PATH, data=body, headers=headers)


@pytest.fixture(params=["postgres", "sqlite"])
def android(request: pytest.FixtureRequest, twilio_standin, android_standin: AndroidSmsStandIn,  # noqa: ANN001
            tmp_path) -> Iterator[Stack]:  # noqa: ANN001
    yield from _built(request, twilio_standin, android_standin, tmp_path)


@pytest.fixture(params=["postgres", "sqlite"])
def encrypted(request: pytest.FixtureRequest, twilio_standin, android_standin: AndroidSmsStandIn,  # noqa: ANN001
              tmp_path) -> Iterator[Stack]:  # noqa: ANN001
    """The app and Sambat share an end-to-end encryption passphrase."""
    android_standin.passphrase = PASSPHRASE
    yield from _built(request, twilio_standin, android_standin, tmp_path, android_sms__passphrase=PASSPHRASE)


def _built(request: pytest.FixtureRequest, twilio_standin: Any, standin: AndroidSmsStandIn, tmp_path: Any,
           **overrides: Any) -> Iterator[Stack]:
    """The stack of ``tests.conftest._stack``, its settings read from config.yaml once per process (parsing the
    YAML takes seconds; the overrides are validated again each time)."""
    url = request.getfixturevalue(f"{request.param}_url")
    _empty_tables(url)  # as _stack does: nothing another test left
    settings = _base_settings().with_overrides(
        database_url=url, sms__twilio_api_base_url=twilio_standin.base_url, android_sms__api_url=standin.base_url,
        android_sms__username=USERNAME, android_sms__password=PASSWORD, android_sms__signing_key=SIGNING_KEY,
        send_rates={}, intake__media_dir=str(tmp_path / "media"), **overrides)
    if request.param == "postgres":
        queue = RQQueue(REDIS_URL, name="sambat-test")
        queue.connection.flushdb()
    else:
        queue = EmbeddedQueue()
    app = create_app(settings, queue=queue, start_embedded=False)
    app.config["TESTING"] = True
    built = Stack(name=request.param, app=app, runtime=app.extensions["sambat"])
    yield built
    built.runtime.db.dispose()
    _empty_tables(url)


@functools.cache
def _base_settings() -> Settings:
    return make_settings("sqlite://")


def _rows(stack: Stack, model: Any) -> list[Any]:
    with stack.runtime.db.session() as session:
        return list(session.scalars(select(model).order_by(model.id)))


def _count(stack: Stack, model: Any) -> int:
    with stack.runtime.db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


# --- the app's payloads are the app's -----------------------------------------------------------------------

EVENT_PAYLOADS = {
    "sms:received": payloads.sms_received(), "sms:data-received": payloads.sms_data_received(),
    "sms:sent": payloads.sms_sent("sambat-1-0123456789"), "sms:delivered": payloads.sms_delivered("sambat-1-01234"),
    "sms:failed": payloads.sms_failed("sambat-1-0123456789"), "system:ping": payloads.system_ping(),
    "mms:received": payloads.mms_received(), "mms:downloaded": payloads.mms_downloaded(),
}


def test_every_event_of_the_apps_enum_has_a_payload_that_matches_its_schema() -> None:
    assert set(EVENT_PAYLOADS) == set(event_names())
    for event, payload in EVENT_PAYLOADS.items():
        assert check_event(webhook_event(event, payload, "Ey6ECgOkVVFjz3CL48B8C")) == [], event
    assert check_event(webhook_event("sms:received", payloads.sms_received_legacy(), "x")) == []
    assert "payload.partsCount: not a field of SmsSentPayload" in check_event(
        webhook_event("sms:sent", {**payloads.sms_sent("x"), "partsCount": 1}, "x"))  # the check bites


# --- every event in -------------------------------------------------------------------------------------------


@dataclass
class Incoming:
    label: str
    event: str
    payload: dict
    status: int
    answer: str
    stored: dict = field(default_factory=dict)  # the inbound row's fields; empty: nothing stored
    complaints: int = 0
    replies: int = 0
    photos: int = 0
    device_id: str = DEVICE_ID
    headers: dict | None = None
    key: str = SIGNING_KEY
    timestamp_offset: int = 0


def _sms(sender: str = CITIZEN, recipient: str | None = CITY_SIM, sim: int | None = 1, medium: str = "sms",
         automated: bool = False, **fields: Any) -> dict:
    return {"sender": sender, "recipient": recipient, "sim_number": sim, "device_id": DEVICE_ID, "medium": medium,
            "automated": automated, **fields}


INCOMING = [
    Incoming("sms:received, sender only (no phoneNumber)", "sms:received", payloads.sms_received(), 200, "stored",
             _sms(body="lampu PJU mati di jl. Danau Toba"), complaints=1, replies=1),
    Incoming("sms:received, older app: phoneNumber only, 08 format", "sms:received", payloads.sms_received_legacy(),
             200, "stored", _sms(recipient=None), complaints=1, replies=1),
    Incoming("sms:received, sender 62 without plus, SIM 2", "sms:received",
             payloads.sms_received(sender="6285655512345", sim=2), 200, "stored",
             _sms(sender="+6285655512345", sim=2), complaints=1, replies=1),
    Incoming("sms:received, SIM unknown", "sms:received", payloads.sms_received(sim=None), 200, "stored",
             _sms(sim=None), complaints=1, replies=1),
    Incoming("sms:received, a command", "sms:received", payloads.sms_received("BANTUAN"), 200, "stored",
             _sms(body="BANTUAN"), replies=1),
    Incoming("sms:data-received: stored, never answered", "sms:data-received", payloads.sms_data_received(), 200,
             "data SMS", _sms(automated=True, body="")),
    Incoming("mms:received: the notice, stored, never answered", "mms:received", payloads.mms_received(), 200,
             "notice of an MMS", _sms(medium="mms", automated=True, body="")),
    Incoming("mms:downloaded: text and photo", "mms:downloaded", payloads.mms_downloaded(), 200, "stored",
             _sms(medium="mms", body=payloads.mms_downloaded()["body"]), complaints=1, replies=1, photos=1),
    Incoming("mms:downloaded: a photo without text", "mms:downloaded", payloads.mms_downloaded(body=None), 200,
             "stored", _sms(medium="mms", body=""), complaints=1, replies=1, photos=1),
    Incoming("sms:sent for a message we do not know", "sms:sent", payloads.sms_sent("x1"), 200,
             "ignored: unknown message"),
    Incoming("system:ping", "system:ping", payloads.system_ping(), 200, "alive"),
    Incoming("signed with another key", "sms:received", payloads.sms_received(), 403, "does not match",
             key="wrong-key"),
    Incoming("timestamp 10 minutes old (replay)", "sms:received", payloads.sms_received(), 403, "replay",
             timestamp_offset=-600),
    Incoming("timestamp 10 minutes ahead", "sms:received", payloads.sms_received(), 403, "replay",
             timestamp_offset=600),
    Incoming("no signature headers", "sms:received", payloads.sms_received(), 403, "missing X-Signature",
             headers={}),
    Incoming("neither sender nor phoneNumber", "sms:received", {"messageId": "x", "message": "halo",
                                                                 "receivedAt": payloads.RECEIVED_AT}, 400,
             "payload.sender"),
    Incoming("no message", "sms:received", {"messageId": "x", "sender": CITIZEN}, 400, "payload.message"),
    Incoming("impossible sender", "sms:received", payloads.sms_received(sender="+6212"), 400,
             "not a possible phone number"),
    Incoming("no deviceId", "sms:received", payloads.sms_received(), 400, "deviceId", device_id=""),
]


@pytest.mark.parametrize("case", INCOMING, ids=lambda case: case.label)
def test_incoming(android: Stack, android_standin: AndroidSmsStandIn, case: Incoming) -> None:
    body, headers = signed_event(case.event, case.payload, "Ey6ECgOkVVFjz3CL48B8C", key=case.key,
                                 timestamp=int(time.time()) + case.timestamp_offset, device_id=case.device_id)
    response = android.client.post(PATH, data=body, headers=case.headers if case.headers is not None else headers)
    android.work()

    assert response.status_code == case.status, response.text
    assert case.answer in response.text
    rows = _rows(android, InboundMessage)
    if not case.stored:
        assert rows == []
    else:
        [row] = rows
        assert row.channel == "android-sms" and row.processed_at is not None
        assert {name: getattr(row, name) for name in case.stored} == case.stored
        assert row.raw["id"] == "Ey6ECgOkVVFjz3CL48B8C" and row.raw["event"] == case.event
        assert row.received_at.isoformat() == "2026-11-23T02:46:11+00:00"
    assert _count(android, Complaint) == case.complaints
    assert len(android_standin.messages_sent()) == case.replies
    photos = _rows(android, Attachment)
    assert len(photos) == case.photos
    if photos:  # kept like web-form photos, and attached to the complaint
        [complaint] = _rows(android, Complaint)
        assert photos[0].complaint_id == complaint.id and photos[0].inbound_message_id == rows[0].id
        assert rows[0].media == [{"url": f"media:{photos[0].path}", "content_type": "image/jpeg"}]
    if case.status == 200:  # every event the app sends is a sign of life from its device
        [device] = _rows(android, Device)
        assert (device.device_id, device.last_event) == (DEVICE_ID, case.event)


def test_mms_photo_is_kept_without_its_metadata_other_parts_are_refused(android: Stack, tmp_path) -> None:  # noqa: ANN001
    from PIL import Image

    payload = payloads.mms_downloaded(photos=1)
    payload["attachments"].append({"partId": 840, "contentType": "audio/amr", "name": "rekaman.amr", "size": 6,
                                   "data": "IyFBTVIK"})
    payload["attachments"].append({"partId": 841, "contentType": "image/jpeg", "name": "not_downloaded.jpg",
                                   "size": 0, "data": None})
    assert check_event(webhook_event("mms:downloaded", payload, "x")) == []
    assert post_event(android, "mms:downloaded", payload).status_code == 200
    android.work()

    [photo] = _rows(android, Attachment)
    with Image.open(tmp_path / "media" / photo.path) as stored:
        assert not stored.getexif() and (stored.width, stored.height) == (64, 48)  # no camera, no GPS
    [row] = _rows(android, InboundMessage)
    assert row.raw["refused_attachments"] == ["rekaman.amr (audio/amr: not a photo)",
                                              "not_downloaded.jpg (not downloaded by the phone)"]
    assert all("data" not in part for part in row.raw["payload"]["attachments"])  # the bytes are not in the raw


def test_too_many_mms_photos_keep_the_first_three(android: Stack) -> None:
    assert post_event(android, "mms:downloaded", payloads.mms_downloaded(photos=4)).status_code == 200
    android.work()
    assert len(_rows(android, Attachment)) == 3
    [row] = _rows(android, InboundMessage)
    assert row.raw["refused_attachments"] == ["IMG_20261123_3.jpg (more than 3 photos)"]


def test_batch_delivery_files_each_message(android: Stack, android_standin: AndroidSmsStandIn) -> None:
    """The app's batch mode (its client knows ``sms:batch:received``): each message of the batch is one SMS."""
    batch = [payloads.sms_received("lampu PJU mati di jl. Danau Toba"),
             payloads.sms_received("sampah numpuk di TPS Sawojajar", sender="+6285655512345", sim=2)]
    assert all(check_event(webhook_event("sms:received", item, "x")) == [] for item in batch)
    response = post_event(android, "sms:batch:received", {"messages": batch})
    post_event(android, "sms:batch:received", {"messages": batch[1:]})  # re-sent: nothing new
    android.work()

    assert response.status_code == 200 and response.text == "stored; stored\n"
    assert [(row.sender, row.sim_number) for row in _rows(android, InboundMessage)] == [
        (CITIZEN, 1), ("+6285655512345", 2)]
    assert _count(android, Complaint) == 2 and len(android_standin.messages_sent()) == 2
    [device] = _rows(android, Device)
    assert device.last_event == "sms:batch:received"


# --- re-exports, carriers --------------------------------------------------------------------------------------


def test_retries_and_a_reexported_inbox_file_nothing_twice(android: Stack, android_standin: AndroidSmsStandIn) -> None:
    """The app retries with the same event id; a re-export sends the same SMS under new event ids, and an older
    app names the sender phoneNumber, in local format; the receivedAt may come in another offset."""
    same = payloads.sms_received("jalan rusak berlubang depan SDN 3 Sawojajar")
    utc = {**same, "receivedAt": "2026-11-23T02:46:11.000Z"}
    legacy = {key: value for key, value in same.items() if key not in ("sender", "recipient")}
    answers = [post_event(android, "sms:received", same, event_id="Ey6ECgOkVVFjz3CL48B8C") for _ in range(2)]
    android.work()
    answers += [post_event(android, "sms:received", same),  # re-exported: a new event id
                post_event(android, "sms:received", utc),
                post_event(android, "sms:received", {**legacy, "phoneNumber": "081234567890"})]
    android.work()

    assert {(answer.status_code, answer.text) for answer in answers} == {(200, "stored\n")}
    assert _count(android, InboundMessage) == _count(android, Complaint) == 1
    assert len(android_standin.messages_sent()) == 1

    # The same words sent again later are a new SMS, and a new complaint.
    post_event(android, "sms:received", {**same, "receivedAt": "2026-11-23T10:15:00.000+07:00"})
    android.work()
    assert _count(android, Complaint) == 2 and len(android_standin.messages_sent()) == 2


@pytest.mark.parametrize("sender", ["TELKOMSEL", "AXIS", "3636", "Info Pulsa", "by.U"])
def test_carrier_senders_are_stored_never_answered(android: Stack, android_standin: AndroidSmsStandIn,
                                                   sender: str) -> None:
    text = "Sisa kuota 1GB Anda berlaku s.d. 30-11-2026. Perpanjang *363#"
    responses = [post_event(android, "sms:received", payloads.sms_received(text, sender=sender)) for _ in range(2)]
    responses.append(post_event(android, "mms:downloaded", payloads.mms_downloaded("Promo!", sender=sender)))
    android.work()

    assert all(r.status_code == 200 and "carrier" in r.text for r in responses), [r.text for r in responses]
    rows = _rows(android, InboundMessage)
    assert [(row.sender, row.automated) for row in rows] == [(sender, True), (sender, True)]
    assert all(row.processed_at is not None and row.contact_id is None for row in rows)
    assert android_standin.requests == [] and _count(android, Outbox) == 0
    assert _count(android, Complaint) == 0 and _count(android, Contact) == 0 and _count(android, Attachment) == 0


# --- the device and SIM it came in on -------------------------------------------------------------------------


def test_reply_and_updates_leave_through_the_device_and_sim_the_sms_came_in_on(
        android: Stack, android_standin: AndroidSmsStandIn, twilio_standin) -> None:  # noqa: ANN001
    citizens = {"+6281234567890": (DEVICE_ID, 2), "+6285655512345": (OTHER_DEVICE_ID, 1),
                "+6281311122233": (LOCAL_DEVICE_ID, 2)}
    for phone, (device, sim) in citizens.items():
        post_event(android, "sms:received", payloads.sms_received(f"sampah numpuk di TPS {phone[-3:]}", sender=phone,
                                                                  sim=sim), device_id=device)
    android.work()

    with android.runtime.db.session() as session:
        recorded = {row.sender: (row.device_id, row.sim_number, row.recipient)
                    for row in session.scalars(select(InboundMessage))}
    assert recorded == {phone: (device, sim, CITY_SIM) for phone, (device, sim) in citizens.items()}
    sent = {request.clear["phoneNumbers"][0]: request for request in android_standin.requests}
    assert set(sent) == set(citizens)
    for phone, (device, sim) in citizens.items():
        body = sent[phone].body
        assert sent[phone].path == "/messages" and body["simNumber"] == sim
        # A cloud device is named; the local server's own id is not an API device id: that phone is the server.
        assert body.get("deviceId") == (device if device != LOCAL_DEVICE_ID else None)
        assert body["priority"] == 0 and body["withDeliveryReport"] is True and body["isEncrypted"] is False
        assert body["textMessage"]["text"].startswith("Aduan diterima. Tiket ")
    assert twilio_standin.messages_sent() == []  # the reply stays on the provider the SMS came in on

    with android.runtime.db.session() as session:
        complaint = session.scalar(select(Complaint).join(Contact).where(Contact.phone == "+6281234567890"))
        _, row = change_status(session, android.runtime, complaint, "resolved", actor="admin@dlh", note="Sudah.")
        session.commit()
        enqueue_sends(android.runtime, [row])
    android.work()
    update = android_standin.requests[-1].body
    assert (update["deviceId"], update["simNumber"], update["priority"]) == (DEVICE_ID, 2, -128)  # behind replies
    assert "Selesai" in update["textMessage"]["text"]


def test_status_events_move_the_outbox_forward_never_back(android: Stack, android_standin: AndroidSmsStandIn) -> None:
    post_event(android, "sms:received", payloads.sms_received("jalan rusak berlubang depan SDN 3 Sawojajar"))
    android.work()
    [request] = android_standin.requests
    [row] = _rows(android, Outbox)
    assert (row.channel, row.status, row.provider_message_id) == ("android-sms", "queued", request.body["id"])

    for event in ("sms:sent", "sms:delivered", "sms:sent", "sms:failed", "sms:delivered"):
        response = post_event(android, event, payloads.STATUS_PAYLOADS[event](request.body["id"]))
        assert response.status_code == 200
    [row] = _rows(android, Outbox)
    assert (row.status, row.error_code) == ("delivered", None)  # a late sent or failed never rolls it back


# --- end-to-end encryption --------------------------------------------------------------------------------------


def _encrypt(payload: dict, *names: str, passphrase: str = PASSPHRASE) -> dict:
    """A payload as the app sends it with encryption on: the named fields through the official Encryptor."""
    encryptor = Encryptor(passphrase)
    return {**payload, **{name: encryptor.encrypt(payload[name]) for name in names}}


ENCRYPTED_EVENTS = [
    ("sms:received", _encrypt(payloads.sms_received(), "message", "sender", "recipient"), "sms",
     "lampu PJU mati di jl. Danau Toba", 1),
    ("sms:received", _encrypt(payloads.sms_received_legacy(), "message", "phoneNumber"), "sms",
     "lampu PJU mati di jl. Danau Toba", 1),
    ("sms:data-received", _encrypt(payloads.sms_data_received(), "sender"), "sms", "", 0),  # data: base64 as is
    ("mms:received", _encrypt(payloads.mms_received(), "sender"), "mms", "", 0),
    ("mms:downloaded", _encrypt(payloads.mms_downloaded(), "body", "sender", "recipient"), "mms",
     payloads.mms_downloaded()["body"], 1),
]


@pytest.mark.parametrize(("event", "payload", "medium", "text", "complaints"), ENCRYPTED_EVENTS,
                         ids=[f"{case[0]} {'+'.join(n for n in case[1] if str(case[1][n]).startswith(ENCRYPTED))}"
                              for case in ENCRYPTED_EVENTS])
def test_encrypted_events_are_decrypted(encrypted: Stack, android_standin: AndroidSmsStandIn, event: str,
                                        payload: dict, medium: str, text: str, complaints: int) -> None:
    assert check_event(webhook_event(event, payload, "x")) == []
    response = post_event(encrypted, event, payload)
    encrypted.work()

    assert response.status_code == 200, response.text
    [row] = _rows(encrypted, InboundMessage)
    assert (row.sender, row.body, row.medium) == (CITIZEN, text, medium)
    assert row.recipient in (CITY_SIM, None) and row.raw["encrypted"]
    assert _count(encrypted, Complaint) == complaints
    if event == "sms:data-received":
        assert row.raw["payload"]["data"] == payloads.sms_data_received()["data"]


def test_replies_go_out_encrypted_as_the_app_expects(encrypted: Stack, android_standin: AndroidSmsStandIn) -> None:
    post_event(encrypted, "sms:received", _encrypt(payloads.sms_received("pohon tumbang di jl. Ijen"), "message",
                                                   "sender"))
    encrypted.work()

    [request] = android_standin.requests
    assert request.body["isEncrypted"] is True
    assert request.body["textMessage"]["text"].startswith(ENCRYPTED)
    assert request.body["phoneNumbers"][0].startswith(ENCRYPTED)
    # What the phone reads with the same passphrase, through the official client's own code:
    encryptor = Encryptor(PASSPHRASE)
    assert encryptor.decrypt(request.body["phoneNumbers"][0]) == CITIZEN
    assert encryptor.decrypt(request.body["textMessage"]["text"]).startswith("Aduan diterima. Tiket ")
    [row] = _rows(encrypted, Outbox)
    assert row.body.startswith("Aduan diterima. Tiket ") and row.status == "queued"


@pytest.mark.parametrize(("passphrase", "answer"), [
    (None, "set SAMBAT_ANDROID_SMS_PASSPHRASE"), ("another-passphrase", "does not decrypt"),
], ids=["no passphrase set", "another passphrase"])
def test_an_event_that_cannot_be_decrypted_is_kept_by_the_app(android: Stack, passphrase: str | None,
                                                              answer: str) -> None:
    """400: the app keeps retrying it (for about two days) while the passphrase is set right."""
    if passphrase:
        android.runtime.channels["android-sms"].cipher.encryptor = Encryptor(passphrase)
    response = post_event(android, "sms:received", _encrypt(payloads.sms_received(), "message", "sender"))
    assert response.status_code == 400 and answer in response.text
    assert _count(android, InboundMessage) == 0


# --- requests out -------------------------------------------------------------------------------------------------


def _outbox_row(stack: Stack, sender: str | None = "sim:1", kind: str = "ticket_created") -> int:
    with stack.runtime.db.session() as session:
        contact = Contact(phone="+6281234567890")
        session.add(contact)
        session.flush()
        row = add_message(session, dedupe_key="test:1", kind=kind, channel="android-sms", medium="sms",
                          recipient="+6281234567890", body="Tes", contact_id=contact.id, sender=sender)
        session.commit()
        return row.id


@pytest.mark.parametrize(
    ("label", "answer", "status", "error_code"),
    [
        ("accepted", None, "queued", None),
        ("already accepted (409)", {"status": 409}, "queued", None),
        ("phone rate limit 429", {"status": 429}, "retry", "429"),
        ("phone error 500", {"status": 500}, "retry", "500"),
        ("cloud queue full 503", {"status": 503}, "retry", "503"),
        ("timeout", {"status": 202, "delay": 3.0}, "retry", None),
        ("wrong password 401", {"status": 401}, "failed", "401"),
        ("refused 400", {"status": 400}, "failed", "400"),
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
    assert request.headers["User-Agent"].startswith("android-sms-gateway/")  # the official client
    assert request.body == {"id": request.body["id"], "textMessage": {"text": "Tes"},
                            "phoneNumbers": ["+6281234567890"], "withDeliveryReport": True, "priority": 0,
                            "simNumber": 1, "isEncrypted": False}
    assert request.body["id"].startswith(f"sambat-{outbox_id}-")
    [row] = _rows(android, Outbox)
    assert (row.status, row.error_code) == (status, error_code), row.last_error
    if status == "queued":
        assert row.provider_message_id == request.body["id"]


@pytest.mark.parametrize("auth", ["basic", "jwt"])
def test_cloud_mode_with_the_same_client(postgres_url: str, twilio_standin,  # noqa: ANN001
                                         android_standin: AndroidSmsStandIn, auth: str) -> None:
    """Cloud mode: the API URL is the cloud's (``.../3rdparty/v1``); basic auth, or a JWT as a bearer token."""
    credentials = {"android_sms__username": USERNAME, "android_sms__password": PASSWORD} if auth == "basic" else \
        {"android_sms__username": None, "android_sms__password": None, "android_sms__token": TOKEN}
    stack = _stack("postgres", postgres_url, twilio_standin, android_sms__api_url=android_standin.cloud_url,
                   android_sms__signing_key=SIGNING_KEY, send_rates={}, **credentials)
    try:
        deliver(stack.runtime, _outbox_row(stack, sender=f"device:{DEVICE_ID} sim:2"))
        [sent] = android_standin.requests
        assert sent.path == "/3rdparty/v1/messages" and sent.answered == 202
        assert sent.headers["Authorization"] == ("Basic c21zOkRabjdwemRD" if auth == "basic" else f"Bearer {TOKEN}")
        assert (sent.body["deviceId"], sent.body["simNumber"]) == (DEVICE_ID, 2)
        assert _rows(stack, Outbox)[0].status == "queued"
    finally:
        stack.runtime.db.dispose()
        _empty_tables(postgres_url)


def test_failed_event_marks_the_row_failed_by_our_id(android: Stack) -> None:
    outbox_id = _outbox_row(android)
    message_id = f"sambat-{outbox_id}-0123456789"
    with android.runtime.db.session() as session:
        session.get(Outbox, outbox_id).status = "claimed"  # the send's answer was lost: no provider id yet
        session.commit()
    response = post_event(android, "sms:failed", payloads.sms_failed(message_id))
    assert response.status_code == 200 and "updated" in response.text
    [row] = _rows(android, Outbox)
    assert (row.status, row.provider_message_id, row.error_code) == ("failed", message_id,
                                                                     "RESULT_ERROR_LIMIT_EXCEEDED")  # whole: 0007


def test_body_that_is_not_json_is_refused(android: Stack) -> None:
    response = android.client.post(PATH, data=b"event=sms:received", headers=sign(b"event=sms:received"))
    assert response.status_code == 400 and "not JSON" in response.text


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
        android_texts = [message["textMessage"]["text"] for message in android_standin.messages_sent()]
        twilio_texts = [message["body"] for message in twilio_standin.messages_sent()]
        sent, unused = (android_texts, twilio_texts) if provider == "android-sms" else (twilio_texts, android_texts)
        assert len(sent) == 2 and sent[0].startswith("Aduan diterima. Tiket ") and unused == []
        with stack.runtime.db.session() as session:
            assert set(session.scalars(select(Outbox.channel))) == {provider}
    finally:
        stack.runtime.db.dispose()
        _empty_tables(postgres_url)
