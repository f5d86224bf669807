"""The webhook when PostgreSQL restarts or is away: no message lost, never a traceback.

Connections are not pinged before use (models/base.py), so a restart is found on the first statement. The
webhook's INSERT is then run once more on a fresh connection. A database that is not there at all is spooled to
Redis (tests/channels/test_webhook_spool.py); with Redis away too the webhook gets 503 with Retry-After.
"""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, func, select, text

from gateway.jobs.queue import HIGH
from models import InboundMessage
from tests.channels import twilio_payloads as payloads
from tests.channels.test_twilio import SMS_PATH, form
from tests.conftest import Stack, post_twilio

pytestmark = pytest.mark.parametrize("stack", ["postgres"], indirect=True)


def _terminate_other_connections(url: str) -> int:
    """What a database restart does to the app's pooled connections: every one is closed under it."""
    engine = create_engine(url)
    with engine.begin() as connection:
        killed = connection.execute(text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )).scalar_one()
    engine.dispose()
    return killed


def _stored(stack: Stack) -> list[str]:
    with stack.runtime.db.session() as session:
        return list(session.scalars(select(InboundMessage.provider_message_id).order_by(InboundMessage.id)))


def test_a_database_restart_loses_no_webhook(stack: Stack, caplog: pytest.LogCaptureFixture) -> None:
    first = form(payloads.SMS, MessageSid="SM" + "1" * 32)
    assert post_twilio(stack.client, SMS_PATH, first).status_code == 200  # the pool now holds a connection

    assert _terminate_other_connections(stack.runtime.db.url) >= 1
    second = form(payloads.SMS, MessageSid="SM" + "2" * 32, Body="lampu pju mati di jl danau toba")
    answer = post_twilio(stack.client, SMS_PATH, second)

    assert answer.status_code == 200, answer.text
    assert "database connection lost" in caplog.text  # the dead connection was met, and the INSERT run again
    assert _stored(stack) == [first["MessageSid"], second["MessageSid"]]
    assert stack.runtime.queue.queues[HIGH].count == 1  # one job woken, for both
    stack.work()
    with stack.runtime.db.session() as session:
        assert session.scalar(select(func.count()).where(InboundMessage.processed_at.is_not(None))) == 2


def test_no_database_and_no_spool_answers_503_with_retry_after(stack: Stack) -> None:
    spool, stack.runtime.spool = stack.runtime.spool, None  # Redis away too: nothing to spool to
    working = stack.runtime.db.engine
    stack.runtime.db.engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/test")  # nothing listens
    try:
        answer = post_twilio(stack.client, SMS_PATH, form(payloads.SMS))
    finally:
        stack.runtime.db.engine.dispose()
        stack.runtime.db.engine = working
        stack.runtime.spool = spool

    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert answer.text == "Database unavailable, try again shortly.\n"
    # Twilio retries; once the database is back the same MessageSid is stored once.
    assert post_twilio(stack.client, SMS_PATH, form(payloads.SMS)).status_code == 200
    assert post_twilio(stack.client, SMS_PATH, form(payloads.SMS)).status_code == 200
    assert _stored(stack) == [form(payloads.SMS)["MessageSid"]]
