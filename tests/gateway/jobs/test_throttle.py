"""Per-provider send rates, shared by workers through Redis: replies go before waiting status updates."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from redis import Redis
from sqlalchemy import select

from gateway.complaints.outbox import add_message
from gateway.jobs.outbox import deliver
from gateway.jobs.throttle import Throttle
from models import Contact, Outbox
from tests.conftest import REDIS_URL, Stack, _empty_tables, _stack
from tests.support.android_sms_standin import PASSWORD, USERNAME, AndroidSmsStandIn
from tests.support.android_sms_standin import android_standin as android_standin_fixture  # noqa: F401


@pytest.fixture(params=["redis", "local"])
def throttles(request: pytest.FixtureRequest) -> Iterator[tuple[Throttle, Throttle]]:
    """Two workers' throttles for a phone at 6 SMS a minute: on Redis (shared) or one in-process."""
    if request.param == "redis":
        redis = Redis.from_url(REDIS_URL)
        redis.flushdb()
        yield (Throttle({"android-sms": 0.1}, redis=redis, namespace="t"),
               Throttle({"android-sms": 0.1}, redis=redis, namespace="t"))
        redis.flushdb()
    else:
        one = Throttle({"android-sms": 0.1})
        yield one, one


def test_slots_are_shared_and_replies_reserve_theirs(throttles: tuple[Throttle, Throttle]) -> None:
    worker_a, worker_b = throttles
    assert worker_a.acquire("android-sms", "1", urgent=False) == 0  # a free slot
    update_wait = worker_b.acquire("android-sms", "2", urgent=False)
    assert 9 < -update_wait <= 10  # the other worker sees it taken: step back, nothing reserved
    reply_wait = worker_b.acquire("android-sms", "3", urgent=True)
    assert 9 < reply_wait <= 10  # the reply reserves the next slot
    assert 0 < worker_a.acquire("android-sms", "3", urgent=True) <= reply_wait  # asked again: same slot
    assert 19 < -worker_a.acquire("android-sms", "2", urgent=False) <= 20  # the update is behind the reply
    assert worker_a.acquire("twilio", "4", urgent=False) == 0  # providers have their own budgets


@pytest.fixture(params=["postgres", "sqlite"])
def paced(request: pytest.FixtureRequest, twilio_standin,  # noqa: ANN001
          android_standin_fixture: AndroidSmsStandIn) -> Iterator[Stack]:  # noqa: F811
    url = request.getfixturevalue(f"{request.param}_url")
    built = _stack(request.param, url, twilio_standin, android_sms__api_url=android_standin_fixture.base_url,
                   android_sms__username=USERNAME, android_sms__password=PASSWORD, send_rates={"android-sms": "20/min"})
    built.runtime.throttle.burst_seconds = 0  # a slot every 3 s and no burst, to keep the test short
    yield built
    built.runtime.db.dispose()
    _empty_tables(url)


def _row(stack: Stack, key: str, kind: str) -> int:
    with stack.runtime.db.session() as session:
        contact = session.scalar(select(Contact)) or Contact(phone="+6281234567890")
        session.add(contact)
        session.flush()
        row = add_message(session, dedupe_key=key, kind=kind, channel="android-sms", medium="sms",
                          recipient="+6281234567890", body=key, contact_id=contact.id)
        session.commit()
        return row.id


def _due(stack: Stack, *outbox_ids: int) -> None:
    with stack.runtime.db.session() as session:
        for outbox_id in outbox_ids:
            session.get(Outbox, outbox_id).next_attempt_at = None
        session.commit()


def test_ticket_reply_goes_before_waiting_status_updates(paced: Stack,
                                                        android_standin_fixture: AndroidSmsStandIn) -> None:  # noqa: F811
    first, second = _row(paced, "update-1", "status_update"), _row(paced, "update-2", "status_update")
    assert deliver(paced.runtime, first) == "queued"
    assert deliver(paced.runtime, second) == "retry"  # no slot: handed back to the scheduler
    reply = _row(paced, "reply-1", "ticket_created")
    assert deliver(paced.runtime, reply) == "retry"  # waits for the slot it reserved
    with paced.runtime.db.session() as session:
        row = session.get(Outbox, second)
        assert row.attempts == 0 and row.last_error.startswith("throttled: android-sms")

    time.sleep(3.1)
    _due(paced, second, reply)
    assert deliver(paced.runtime, second) == "retry"  # the free slot is the reply's
    assert deliver(paced.runtime, reply) == "queued"
    assert [m["textMessage"]["text"] for m in android_standin_fixture.messages_sent()] == ["update-1", "reply-1"]
