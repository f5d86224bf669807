"""The phones are watched: every event stamps its device, the console lists them, and the super-admins get one
e-mail per silence when no phone has been heard for ``android_sms.silent_alert_minutes`` while messages wait,
even with several schedulers at once. On PostgreSQL+rq and SQLite+embedded queue."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from gateway.complaints.devices import check_silence, device_statuses
from gateway.complaints.outbox import add_message
from gateway.jobs import build_runtime
from gateway.jobs.scheduler import run_forever
from gateway.settings import ConfigError, load_settings
from models import Device, DeviceAlert, Outbox, utcnow
from tests.channels import android_payloads as payloads
from tests.channels.test_android_sms import _built, post_event
from tests.conftest import ROOT, Stack
from tests.gateway.conftest import SUPER, VIEWER, Admin, add_users
from tests.support.android_sms_standin import DEVICE_ID, LOCAL_DEVICE_ID, OTHER_DEVICE_ID, AndroidSmsStandIn


@pytest.fixture(params=["postgres", "sqlite"])
def watched(request: pytest.FixtureRequest, twilio_standin, android_standin: AndroidSmsStandIn,  # noqa: ANN001
            tmp_path) -> Iterator[Admin]:  # noqa: ANN001
    """The Android gateway configured, and the console's users (one super-admin)."""
    for built in _built(request, twilio_standin, android_standin, tmp_path):
        add_users(built)
        yield Admin(built)


def _waiting_reply(stack: Stack, minutes_ago: int = 10, key: str = "reply:1") -> int:
    """A reply that has waited to go out through the phone (its send failed: the phone is unreachable)."""
    with stack.runtime.db.session() as session:
        row = add_message(session, dedupe_key=key, kind="ticket_created", channel="android-sms", medium="sms",
                          recipient=payloads.CITIZEN, body="Aduan diterima.", sender=f"device:{DEVICE_ID} sim:1")
        row.status, row.created_at = "retry", utcnow() - timedelta(minutes=minutes_ago)
        session.commit()
        return row.id


def _alert_emails(stack: Stack) -> list[tuple[str, str]]:
    with stack.runtime.db.session() as session:
        return [(row.recipient, row.subject) for row in session.scalars(
            select(Outbox).where(Outbox.kind == "device_silent").order_by(Outbox.id))]


def _heard(stack: Stack) -> Any:
    with stack.runtime.db.session() as session:
        return session.scalar(select(func.max(Device.last_seen_at)))


def test_every_event_stamps_its_device_and_the_dashboard_shows_them(watched: Admin) -> None:
    stack = watched.stack
    assert post_event(stack, "system:ping", payloads.system_ping()).status_code == 200
    with stack.runtime.db.session() as session:
        [device] = session.scalars(select(Device)).all()
    assert (device.device_id, device.last_event, device.last_ping_at) == (DEVICE_ID, "system:ping",
                                                                          device.last_seen_at)
    pinged = device.last_ping_at
    post_event(stack, "sms:received", payloads.sms_received(sim=2))
    post_event(stack, "sms:received", payloads.sms_received("sampah", sim=1), device_id=OTHER_DEVICE_ID)
    post_event(stack, "sms:delivered", payloads.sms_delivered("sambat-1-0123456789"), device_id=LOCAL_DEVICE_ID)

    with stack.runtime.db.session() as session:
        devices = {d.device_id: d for d in session.scalars(select(Device))}
    assert {key: (d.last_event, d.last_sim_number) for key, d in devices.items()} == {
        DEVICE_ID: ("sms:received", 2), OTHER_DEVICE_ID: ("sms:received", 1), LOCAL_DEVICE_ID: ("sms:delivered", 1)}
    assert devices[DEVICE_ID].last_ping_at == pinged and devices[DEVICE_ID].last_seen_at > pinged
    assert devices[OTHER_DEVICE_ID].last_ping_at is None

    page = watched.as_user(SUPER).get("/admin/dashboard").text
    assert 'id="devices"' in page
    for device_id, device in devices.items():
        assert f'data-device="{device_id}"' in page and device.last_event in page
    assert "(diam)" not in page
    assert 'id="devices"' not in watched.as_user(VIEWER).get("/admin/dashboard").text  # the super-admin's

    # Half an hour on, none of them heard: each is marked silent.
    with stack.runtime.db.session() as session:
        later = device_statuses(session, stack.runtime.settings, now=utcnow() + timedelta(minutes=31))
    assert [status.silent for status in later] == [True, True, True]


def test_one_email_per_silence(watched: Admin) -> None:
    stack, runtime = watched.stack, watched.stack.runtime
    post_event(stack, "system:ping", payloads.system_ping())
    heard = _heard(stack)
    _waiting_reply(stack)

    assert check_silence(runtime, now=heard + timedelta(minutes=29)).alerts == 0  # within the 30 minutes
    silent = check_silence(runtime, now=heard + timedelta(minutes=31))
    assert (silent.silent, silent.alerts, silent.emails) == (["android-sms"], 1, 1)
    for minutes in (32, 45, 300):  # every later check of the same silence: nothing more
        assert check_silence(runtime, now=heard + timedelta(minutes=minutes)).alerts == 0
    [(recipient, subject)] = _alert_emails(stack)
    assert recipient == SUPER and subject.startswith("[Sambat] Ponsel gateway SMS tidak terdengar sejak ")
    with runtime.db.session() as session:
        body = session.scalar(select(Outbox.body).where(Outbox.kind == "device_silent"))
    assert "1 pesan menunggu" in body and DEVICE_ID in body

    # The phone is heard again, then goes quiet again: a new silence, a new e-mail.
    post_event(stack, "sms:delivered", payloads.sms_delivered("PyDmBQZZXYmyxMwED8Fzy"))  # another message's
    again = _heard(stack)
    assert check_silence(runtime, now=again + timedelta(minutes=10)).alerts == 0
    assert check_silence(runtime, now=again + timedelta(minutes=31)).alerts == 1
    assert len(_alert_emails(stack)) == 2
    stack.work()  # the e-mails go out (printed by the console mail provider in tests)
    with runtime.db.session() as session:
        assert set(session.scalars(select(Outbox.status).where(Outbox.kind == "device_silent"))) != {"pending"}


def test_no_email_while_nothing_waits_or_while_a_message_is_fresh(watched: Admin) -> None:
    stack, runtime = watched.stack, watched.stack.runtime
    post_event(stack, "system:ping", payloads.system_ping())
    heard = _heard(stack)
    assert check_silence(runtime, now=heard + timedelta(hours=5)).alerts == 0  # quiet, but nothing waits
    with runtime.db.session() as session:  # a message on its way through a phone that answers in seconds
        add_message(session, dedupe_key="reply:fresh", kind="ticket_created", channel="android-sms", medium="sms",
                    recipient=payloads.CITIZEN, body="Aduan diterima.").status = "queued"
        session.commit()
    assert check_silence(runtime, now=utcnow() + timedelta(seconds=30)).alerts == 0
    runtime.settings = runtime.settings.with_overrides(android_sms__silent_alert_minutes=0)  # turned off
    _waiting_reply(stack, key="reply:old")
    assert check_silence(runtime, now=heard + timedelta(hours=5)).alerts == 0


def test_a_phone_never_heard_from_is_silent_too(watched: Admin) -> None:
    _waiting_reply(watched.stack, minutes_ago=40)
    result = check_silence(watched.stack.runtime)
    assert result.alerts == 1 and check_silence(watched.stack.runtime).alerts == 0
    with watched.stack.runtime.db.session() as session:
        assert session.scalar(select(DeviceAlert.key)) == "silent:android-sms:never"


def test_several_schedulers_at_once_send_one_email(watched: Admin) -> None:
    stack, runtime = watched.stack, watched.stack.runtime
    post_event(stack, "system:ping", payloads.system_ping())
    heard = _heard(stack)
    _waiting_reply(stack)
    others = [build_runtime(runtime.settings, queue=runtime.queue) for _ in range(4)]
    barrier = threading.Barrier(len(others))
    errors: list[BaseException] = []

    def scheduler(other) -> None:  # noqa: ANN001
        try:
            barrier.wait()
            for minutes in (31, 32, 33):
                check_silence(other, now=heard + timedelta(minutes=minutes))
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=scheduler, args=(other,)) for other in others]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for other in others:
        other.db.dispose()
    assert errors == []
    assert len(_alert_emails(stack)) == 1
    with runtime.db.session() as session:
        assert session.scalar(select(func.count()).select_from(DeviceAlert)) == 1


def test_the_scheduler_loop_sends_the_silence_alert(watched: Admin) -> None:
    _waiting_reply(watched.stack, minutes_ago=40)  # no phone ever heard, a reply waiting 40 minutes
    stop = threading.Event()
    loop = threading.Thread(target=run_forever, args=(watched.stack.runtime,), kwargs={"interval": 0.05, "stop": stop})
    loop.start()
    try:
        for _ in range(100):
            if _alert_emails(watched.stack):
                break
            stop.wait(0.1)
    finally:
        stop.set()
        loop.join(timeout=10)
    assert [recipient for recipient, _ in _alert_emails(watched.stack)] == [SUPER]


def test_android_settings() -> None:
    config = str(ROOT / "config.yaml")
    environ = {"DATABASE_URL": "sqlite://", "SAMBAT_ANDROID_SMS_PASSPHRASE": "rahasia ponsel",
               "SAMBAT_ANDROID_SMS_API_URL": "https://api.sms-gate.app/3rdparty/v1",
               "SAMBAT_ANDROID_SMS_TOKEN": "eyJhbGciOiJIUzI1NiJ9.e30.c2ln"}
    settings = load_settings(environ=environ, config_path=config)
    assert (settings.secret("android_sms.passphrase"), settings.android_sms.silent_alert_minutes) == \
        ("rahasia ponsel", 30)
    assert settings.outbound_sms_provider == "android-sms"  # a JWT alone is enough in cloud mode
    with pytest.raises(ConfigError, match="android_sms.silent_alert_minutes"):
        settings.with_overrides(android_sms__silent_alert_minutes=-1)
    with pytest.raises(ConfigError, match="SAMBAT_ANDROID_SMS_USERNAME"):
        settings.with_overrides(android_sms__token=None)


def test_android_secrets_are_refused_in_config_yaml(tmp_path) -> None:  # noqa: ANN001
    text = (ROOT / "config.yaml").read_text(encoding="utf-8")
    for secret in ("passphrase", "password", "token", "signing_key"):
        path = tmp_path / f"{secret}.yaml"
        path.write_text(text.replace("android_sms:\n", f"android_sms:\n  {secret}: hunter2\n", 1), encoding="utf-8")
        with pytest.raises(ConfigError, match=f"android_sms.{secret}: secrets are read from the environment only"):
            load_settings(environ={"DATABASE_URL": "sqlite://"}, config_path=str(path))
