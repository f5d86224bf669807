"""Webhooks and mail while PostgreSQL is down: spooled to Redis, answered 2xx, imported once it is back.

Only when Redis is away too does a webhook answer 503 (and the SMTP listener 451). The database is made
unreachable by pointing the runtime at a port nothing listens on (``tests.support.outage.database_down``);
the spool is the real Redis (db of this run).
"""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from email.message import EmailMessage
from types import SimpleNamespace
from typing import Any

import pytest
from sqlalchemy import select

from gateway.jobs.spool import RedisSpool, depth, drain
from models import Complaint, Device, InboundMessage, Outbox
from tests.channels import android_payloads
from tests.channels import twilio_payloads as payloads
from tests.channels.test_android_sms import _built, post_event
from tests.channels.test_twilio import SMS_PATH, STATUS_PATH, _outbox_row, form
from tests.conftest import Stack, post_twilio
from tests.support.outage import database_down, free_port, reset_outages

SID = "SM" + "5" * 32


@pytest.fixture(autouse=True)
def _fresh_outages() -> Iterator[None]:
    reset_outages()
    yield
    reset_outages()


@pytest.fixture
def android(request: pytest.FixtureRequest, twilio_standin, android_standin, tmp_path) -> Iterator[Stack]:  # noqa: ANN001
    """The Android gateway's stack of ``tests.channels.test_android_sms``, on PostgreSQL and rq only."""
    yield from _built(SimpleNamespace(param="postgres", getfixturevalue=request.getfixturevalue), twilio_standin,
                      android_standin, tmp_path)


def _stored(stack: Stack, model: Any = InboundMessage) -> list[Any]:
    with stack.runtime.db.session() as session:
        return list(session.scalars(select(model).order_by(model.id)))


def _dead_redis_spool(stack: Stack) -> RedisSpool:
    from redis import Redis

    return RedisSpool(Redis(port=free_port(), socket_connect_timeout=0.5), "nowhere")


POSTGRES = pytest.mark.parametrize("stack", ["postgres"], indirect=True)  # the spool is in Redis: rq's stack


# --- Twilio SMS ---------------------------------------------------------------------------------------------


@POSTGRES
def test_an_sms_while_the_database_is_down_is_spooled_answered_and_imported_once(
        stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    sms = form(payloads.SMS, MessageSid=SID)
    with database_down(stack.runtime):
        answers = [post_twilio(stack.client, SMS_PATH, sms) for _ in range(2)]  # and a second one, same SID
        other = post_twilio(stack.client, SMS_PATH, form(payloads.SMS, MessageSid="SM" + "6" * 32))
    assert [answer.status_code for answer in answers + [other]] == [200, 200, 200]
    assert answers[0].text == stack.runtime.channels["twilio"].answer().get_data(as_text=True)  # Twilio's TwiML
    assert depth(stack.runtime) == 3
    assert _stored(stack) == []
    assert caplog.text.count("the database is unreachable") == 1  # once per outage, not per webhook

    assert drain(stack.runtime) == 3
    assert depth(stack.runtime) == 0
    assert [row.provider_message_id for row in _stored(stack)] == [SID, "SM" + "6" * 32]  # the repeat stored once
    stack.work()  # the import enqueued them: complaints and replies follow as usual
    assert len(_stored(stack, Complaint)) == 2
    assert all(row.processed_at is not None for row in _stored(stack))


@POSTGRES
def test_the_drainer_is_idempotent_by_provider_id(stack: Stack) -> None:
    """An entry imported twice (a crash between the import and its removal), or a message the provider also got
    stored directly, is one row."""
    sms = form(payloads.SMS, MessageSid=SID)
    with database_down(stack.runtime):
        post_twilio(stack.client, SMS_PATH, sms)
    spool = stack.runtime.spool
    raw = spool.oldest()
    spool.connection.rpush(spool.key, raw)  # the same entry again, as if its removal had been lost
    assert post_twilio(stack.client, SMS_PATH, sms).status_code == 200  # and stored directly meanwhile

    assert drain(stack.runtime) == 2
    assert [row.provider_message_id for row in _stored(stack)] == [SID]
    assert drain(stack.runtime) == 0


@POSTGRES
def test_only_with_redis_down_too_does_a_webhook_answer_503(stack: Stack) -> None:
    stack.runtime.spool = _dead_redis_spool(stack)
    with database_down(stack.runtime):
        answer = post_twilio(stack.client, SMS_PATH, form(payloads.SMS))
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert answer.text == "Database unavailable, try again shortly.\n"


@POSTGRES
def test_a_bad_request_is_refused_as_before_while_the_database_is_down(stack: Stack) -> None:
    with database_down(stack.runtime):
        answer = post_twilio(stack.client, SMS_PATH, form(payloads.SMS), signature="forged")
    assert answer.status_code == 403
    assert depth(stack.runtime) == 0


# --- Twilio delivery reports --------------------------------------------------------------------------------


@POSTGRES
@pytest.mark.parametrize(
    ("label", "direct", "spooled", "final"),
    [
        ("in order", [], ["sending", "sent", "delivered"], "delivered"),
        ("delivered before a late sent", [], ["delivered", "sent", "sending"], "delivered"),
        ("undelivered is final", [], ["sent", "undelivered", "delivered"], "undelivered"),
        ("final before the outage, late reports spooled", ["delivered"], ["sent", "queued"], "delivered"),
        ("failed then a late queued", [], ["failed", "queued"], "failed"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_spooled_status_callbacks_are_applied_in_order_never_rolling_back(
        stack: Stack, label: str, direct: list[str], spooled: list[str], final: str) -> None:
    sid = "SM" + "7" * 32
    outbox_id = _outbox_row(stack, sid)
    for status in direct:
        assert post_twilio(stack.client, STATUS_PATH, form(payloads.status_body(sid, status))).status_code == 200
    with database_down(stack.runtime):
        for status in spooled:
            answer = post_twilio(stack.client, STATUS_PATH, form(payloads.status_body(sid, status)))
            assert (answer.status_code, answer.text) == (200, "spooled: stored when the database is back\n")
    assert depth(stack.runtime) == len(spooled)

    drain(stack.runtime)
    [row] = [row for row in _stored(stack, Outbox) if row.id == outbox_id]
    assert row.status == final
    assert depth(stack.runtime) == 0


@POSTGRES
def test_an_entry_that_cannot_be_imported_goes_to_the_dead_list_and_the_rest_go_on(stack: Stack) -> None:
    spool = stack.runtime.spool
    spool.push("nonsense", {"what": "a bug"})
    with database_down(stack.runtime):
        post_twilio(stack.client, SMS_PATH, form(payloads.SMS, MessageSid=SID))
    assert drain(stack.runtime) == 2
    assert (spool.depth(), spool.dead()) == (0, 1)
    assert [row.provider_message_id for row in _stored(stack)] == [SID]


@POSTGRES
def test_the_drainer_stops_at_the_first_entry_while_the_database_is_still_down(stack: Stack) -> None:
    from sqlalchemy.exc import OperationalError

    with database_down(stack.runtime):
        post_twilio(stack.client, SMS_PATH, form(payloads.SMS, MessageSid=SID))
        with pytest.raises(OperationalError):
            drain(stack.runtime)
    assert depth(stack.runtime) == 1  # still there, still first
    assert drain(stack.runtime) == 1


# --- the Android gateway ------------------------------------------------------------------------------------


def test_android_events_while_the_database_is_down_are_spooled_and_imported(android: Stack, android_standin) -> None:  # noqa: ANN001
    post_event(android, "sms:received", android_payloads.sms_received("jalan rusak berlubang depan SDN 3"))
    android.work()
    [request] = android_standin.requests
    message_id = request.body["id"]

    with database_down(android.runtime):
        answers = [
            post_event(android, "sms:sent", android_payloads.STATUS_PAYLOADS["sms:sent"](message_id)),
            post_event(android, "sms:delivered", android_payloads.STATUS_PAYLOADS["sms:delivered"](message_id)),
            post_event(android, "sms:sent", android_payloads.STATUS_PAYLOADS["sms:sent"](message_id)),  # late
            post_event(android, "mms:downloaded", android_payloads.mms_downloaded()),  # with its photo
            post_event(android, "sms:received", android_payloads.sms_received("lampu pju mati jl danau toba")),
            post_event(android, "system:ping", android_payloads.system_ping()),
        ]
    assert [answer.status_code for answer in answers] == [200] * 6
    assert depth(android.runtime) == 6

    assert drain(android.runtime) == 6
    first, mms, second = _stored(android)
    assert mms.medium == "mms" and mms.media  # the MMS's photo kept, like a direct one
    assert second.body == "lampu pju mati jl danau toba"
    [outbox] = _stored(android, Outbox)
    assert outbox.status == "delivered"  # the late sent never rolled it back
    [device] = _stored(android, Device)
    assert device.last_ping_at is not None
    assert drain(android.runtime) == 0


# --- mail from the SMTP listener ----------------------------------------------------------------------------


def _mail(message_id: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "Warga <warga@example.id>", "aduan@malangkota.go.id", "Jalan rusak"
    mail["Message-ID"] = message_id
    mail.set_content("Jalan berlubang besar di depan SDN 3 Sawojajar, mohon diperbaiki.")
    return mail


@POSTGRES
def test_mail_to_the_smtp_listener_while_the_database_is_down_is_spooled_then_stored_once(stack: Stack) -> None:
    from channels.email.listener import start_listener

    port = free_port()
    controller = start_listener(stack.runtime, f"127.0.0.1:{port}")
    try:
        with database_down(stack.runtime), smtplib.SMTP("127.0.0.1", port) as smtp:
            refused = smtp.send_message(_mail("<spool-1@example.id>"))
        assert refused == {}
        assert depth(stack.runtime) == 1

        stack.runtime.spool.connection.rpush(stack.runtime.spool.key, stack.runtime.spool.oldest())  # twice
        assert drain(stack.runtime) == 2
        [row] = _stored(stack)
        assert (row.channel, row.provider_message_id) == ("email", "<spool-1@example.id>")

        stack.runtime.spool = _dead_redis_spool(stack)  # Redis away too: the sending server keeps the mail
        with database_down(stack.runtime), smtplib.SMTP("127.0.0.1", port) as smtp:
            with pytest.raises(smtplib.SMTPDataError) as refusal:
                smtp.send_message(_mail("<spool-2@example.id>"))
        assert refusal.value.smtp_code == 451
    finally:
        controller.stop()


@POSTGRES
def test_the_listener_says_the_mail_is_queued_when_it_was_spooled(stack: Stack) -> None:
    from channels.email.listener import start_listener

    port = free_port()
    controller = start_listener(stack.runtime, f"127.0.0.1:{port}")
    try:
        with database_down(stack.runtime), smtplib.SMTP("127.0.0.1", port) as smtp:
            smtp.ehlo()
            smtp.mail("warga@example.id")
            smtp.rcpt("aduan@malangkota.go.id")
            code, answer = smtp.data(_mail("<spool-3@example.id>").as_bytes())
        assert (code, answer) == (250, b"2.0.0 queued: stored when the database is back")
    finally:
        controller.stop()


@POSTGRES
def test_depth_is_zero_without_a_spool_and_none_when_redis_is_down(stack: Stack) -> None:
    assert depth(stack.runtime) == 0
    stack.runtime.spool.push("message", {"x": 1})
    assert depth(stack.runtime) == 1
    stack.runtime.spool = _dead_redis_spool(stack)
    assert depth(stack.runtime) is None
    stack.runtime.spool = None
    assert depth(stack.runtime) == 0


# --- `sambat up` without Redis: a local file ----------------------------------------------------------------


@pytest.mark.parametrize("stack", ["sqlite"], indirect=True)
def test_without_redis_the_spool_is_a_local_file_drained_the_same_way(stack: Stack, tmp_path) -> None:  # noqa: ANN001
    from gateway.jobs.spool import FileSpool

    assert stack.runtime.spool is None  # the embedded queue: `sambat up` gives it a file (gateway/cli)
    stack.runtime.spool = FileSpool(tmp_path / "spool")
    sid = "SM" + "8" * 32
    outbox_id = _outbox_row(stack, "SM" + "9" * 32)
    with database_down(stack.runtime):
        assert post_twilio(stack.client, SMS_PATH, form(payloads.SMS, MessageSid=sid)).status_code == 200
        for status in ("sent", "delivered", "sent"):
            post_twilio(stack.client, STATUS_PATH, form(payloads.status_body("SM" + "9" * 32, status)))
    assert depth(stack.runtime) == 4

    assert drain(stack.runtime) == 4
    assert [row.provider_message_id for row in _stored(stack)] == [sid]
    assert [row.status for row in _stored(stack, Outbox) if row.id == outbox_id] == ["delivered"]
    assert depth(stack.runtime) == 0


@POSTGRES
def test_a_spooled_mail_leaves_no_photo_behind_and_gets_it_when_imported(stack: Stack, tmp_path) -> None:  # noqa: ANN001
    from pathlib import Path

    from gateway.jobs.spool import accept_mail_or_spool
    from models import Attachment

    media = tmp_path / "media"
    stack.runtime.settings = stack.runtime.settings.with_overrides(intake__media_dir=str(media))
    raw = (Path(__file__).parent / "testdata" / "email" / "photo_gmail.eml").read_bytes()
    with database_down(stack.runtime):
        assert accept_mail_or_spool(stack.runtime, raw, "andi.pratama.mlg@gmail.com").spooled
    assert not any(path.is_file() for path in media.rglob("*"))  # nothing written for a mail not stored

    assert drain(stack.runtime) == 1
    [attachment] = _stored(stack, Attachment)
    assert (media / attachment.path).is_file() or Path(attachment.path).is_file()
