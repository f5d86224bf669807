"""The webhook's INSERT on psycopg's own connection (Database.driver_autocommit) writes what SQLAlchemy writes.

On PostgreSQL a provider's message is stored without SQLAlchemy's statement execution (gateway.jobs.inbound
.driver_statements); on SQLite it goes through SQLAlchemy. These tests store the same messages both ways on the
real PostgreSQL and compare every column, and check the driver's errors come out as SQLAlchemy's.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text
from sqlalchemy.exc import DataError, OperationalError

from channels.base import InboundMessage, Location, Media
from gateway.jobs.inbound import store_and_enqueue
from gateway.jobs.reconnect import database_unavailable
from models import InboundMessage as InboundRow
from tests.conftest import Stack, _empty_tables, _stack
from tests.support.twilio_standin import TwilioStandIn

MESSAGES = [
    InboundMessage(channel="twilio", medium="sms", provider_message_id="SM" + "a" * 32, sender="+6281234567890",
                   text="jalan rusak 🚧 di depan pasar", recipient="+6234155500",
                   raw={"Body": "jalan rusak 🚧", "NumMedia": "0", "Price": None}),
    InboundMessage(channel="twilio", medium="mms", provider_message_id="MM" + "b" * 32, sender="+6281234567891",
                   text="sampah\x00menumpuk", media=(Media("https://example.test/a.jpg", "image/jpeg"), Media("x")),
                   raw={"Body": "sampah\x00menumpuk", "nested": {"list": [1, 2.5, float("nan"), float("inf")]}},
                   received_at=datetime(2026, 12, 1, 9, 30, tzinfo=timezone(timedelta(hours=7)))),
    InboundMessage(channel="android-sms", medium="sms", provider_message_id="event:" + "c" * 40,
                   sender="+6285655512345", text="", device_id="dev\x001", sim_number=2, automated=True, raw={}),
    InboundMessage(channel="twilio", medium="whatsapp", provider_message_id="SM" + "d" * 32,
                   sender="+6281234567892", text="", location=Location(-7.98, 112.63, "Jl. Ijen", None),
                   raw={"Latitude": "-7.98", "Longitude": "112.63"}),
]
COMPARED = [column.key for column in InboundRow.__table__.columns if column.key not in ("id", "provider_message_id")]


def _row(stack: Stack, message_id: int) -> dict[str, Any]:
    with stack.runtime.db.session() as session:
        row = session.get(InboundRow, message_id)
        return {key: getattr(row, key) for key in COMPARED}


@pytest.fixture
def postgres_stack(postgres_url: str, twilio_standin: TwilioStandIn) -> Iterator[Stack]:
    """The pipeline on PostgreSQL and rq (the driver's own INSERT is for psycopg; SQLite goes through SQLAlchemy,
    which every other test covers)."""
    built = _stack("postgres", postgres_url, twilio_standin)  # on emptied tables
    assert built.runtime.db.driver == "psycopg"
    yield built
    built.runtime.db.dispose()
    built.runtime.queue.connection.flushdb()
    _empty_tables(postgres_url)


@pytest.mark.parametrize("message", MESSAGES, ids=["sms", "mms-nul-nan", "android-automated", "whatsapp-pin"])
def test_the_driver_writes_the_row_sqlalchemy_writes(postgres_stack: Stack, message: InboundMessage,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    fixed = message if message.received_at else replace(message, received_at=datetime(2026, 12, 1, 2, 3, tzinfo=UTC))
    by_driver, created = store_and_enqueue(postgres_stack.runtime, fixed)
    assert created
    monkeypatch.setattr(postgres_stack.runtime.db, "driver", None)  # the SQLAlchemy path, as on SQLite
    by_sqlalchemy, created = store_and_enqueue(
        postgres_stack.runtime, replace(fixed, provider_message_id=fixed.provider_message_id + "-orm"))
    assert created
    assert _row(postgres_stack, by_driver) == _row(postgres_stack, by_sqlalchemy)
    with postgres_stack.runtime.db.session() as session:  # the JSON columns hold the same JSON, not only equal Python
        same = session.execute(text(
            "SELECT a.media = b.media AND a.raw = b.raw AND a.location IS NOT DISTINCT FROM b.location "
            "AND (a.location IS NULL) = (b.location IS NULL) FROM inbound_messages a, inbound_messages b "
            "WHERE a.id = :a AND b.id = :b"), {"a": by_driver, "b": by_sqlalchemy}).scalar()
    assert same


def test_a_repeat_delivery_finds_the_stored_row(postgres_stack: Stack) -> None:
    first, created = store_and_enqueue(postgres_stack.runtime, MESSAGES[0])
    again, created_again = store_and_enqueue(postgres_stack.runtime, MESSAGES[0])
    assert (again, created, created_again) == (first, True, False)
    with postgres_stack.runtime.db.session() as session:
        assert session.query(InboundRow).count() == 1


def test_a_bad_value_is_sqlalchemys_error_and_no_outage(postgres_stack: Stack) -> None:
    too_long = replace(MESSAGES[0], provider_message_id="SM" + "9" * 300)  # the column holds 200
    with pytest.raises(DataError) as raised:
        store_and_enqueue(postgres_stack.runtime, too_long)
    assert "INSERT INTO inbound_messages" in str(raised.value)
    assert not database_unavailable(raised.value)  # a bug in the input, not a database away: never spooled
    assert store_and_enqueue(postgres_stack.runtime, MESSAGES[0])[1]  # the connection still works


def test_an_unreachable_database_is_an_outage(postgres_stack: Stack) -> None:
    database = postgres_stack.runtime.db
    working = database.engine
    database.engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/test")  # nothing listens
    try:
        with pytest.raises(OperationalError) as raised:
            store_and_enqueue(postgres_stack.runtime, MESSAGES[0])
    finally:
        database.engine.dispose()
        database.engine = working
    assert database_unavailable(raised.value)
    assert store_and_enqueue(postgres_stack.runtime, MESSAGES[0])[1]


def test_a_lost_connection_is_replaced_and_the_pool_renewed(postgres_stack: Stack,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    database = postgres_stack.runtime.db
    store_and_enqueue(postgres_stack.runtime, MESSAGES[0])
    with database.session() as session:  # a pooled connection, checked in again
        session.execute(select(1))
    with create_engine(database.url).connect() as admin:  # the database restarts: every connection is cut
        admin.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()"))
        admin.commit()
    message_id, created = store_and_enqueue(postgres_stack.runtime, MESSAGES[1])
    assert created and "database connection lost" in caplog.text
    with database.session() as session:  # the pool's dead connections went with the old pool
        assert session.get(InboundRow, message_id) is not None


def test_dispose_closes_the_idle_connections(postgres_stack: Stack) -> None:
    database = postgres_stack.runtime.db
    threads = [threading.Thread(target=store_and_enqueue, args=(postgres_stack.runtime, replace(
        MESSAGES[0], provider_message_id=f"SM{number:032x}"))) for number in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    opened = [connection for connection, _ in database._driver_idle]
    assert 1 <= len(opened) <= 3
    database.dispose()
    assert all(connection.closed for connection in opened) and not database._driver_idle


def test_a_thread_per_request_reuses_one_connection(postgres_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """`sambat up`'s server starts a thread per request: the connection goes back to the stack, not with the thread."""
    import psycopg

    opened: list[Any] = []
    connect = psycopg.connect
    monkeypatch.setattr(psycopg, "connect", lambda *a, **k: opened.append(connect(*a, **k)) or opened[-1])
    for number in range(20):
        request = threading.Thread(target=store_and_enqueue, args=(postgres_stack.runtime, replace(
            MESSAGES[0], provider_message_id=f"SM{number:032x}")))
        request.start()
        request.join()
    assert len(opened) == 1 and not opened[0].closed
    assert len(postgres_stack.runtime.db._driver_idle) == 1


def test_a_connection_given_back_after_dispose_is_closed(postgres_stack: Stack) -> None:
    database = postgres_stack.runtime.db
    connection, owner = database._take_driver_connection()  # in use while the process disposes
    database.dispose()
    database._give_back(connection, owner)
    assert connection.closed and not database._driver_idle
    assert store_and_enqueue(postgres_stack.runtime, MESSAGES[0])[1]  # a new one after
