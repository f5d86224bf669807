"""The scheduler's sweep: whatever the database says is owed goes back to the queue."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from gateway.jobs.scheduler import claim_timeout, sweep_once
from models import InboundMessage, Outbox, utcnow
from tests.channels.test_twilio import SMS_PATH, _outbox_row, form
from tests.channels.twilio_payloads import SMS
from tests.conftest import Stack, post_twilio


class BrokenQueue:
    """A queue whose enqueue fails, as when Redis restarts mid-request."""

    def enqueue(self, *args: object, **kwargs: object) -> None:
        raise ConnectionError("Redis went away")

    def ping(self) -> bool:
        return False


def test_a_message_whose_job_was_lost_is_processed_after_all(stack: Stack, twilio_standin) -> None:  # noqa: ANN001
    real_queue = stack.runtime.queue
    stack.runtime.queue = BrokenQueue()
    response = post_twilio(stack.client, SMS_PATH, form(SMS))
    assert response.status_code == 200  # committed, so acknowledged, even though the enqueue failed
    stack.runtime.queue = real_queue

    assert sweep_once(stack.runtime).inbound == 0  # too fresh: its own job may still be coming
    assert sweep_once(stack.runtime, grace=timedelta(0)).inbound == 1
    stack.work()
    assert len(twilio_standin.messages_sent()) == 1
    with stack.runtime.db.session() as session:
        assert session.scalar(select(InboundMessage.processed_at)) is not None


def test_a_send_whose_worker_died_is_retried(stack: Stack, twilio_standin) -> None:  # noqa: ANN001
    outbox_id = _outbox_row(stack, sid=None, status="claimed")
    with stack.runtime.db.session() as session:
        stale = utcnow() - claim_timeout(stack.runtime) - timedelta(seconds=1)
        session.get(Outbox, outbox_id).status_updated_at = stale
        session.commit()

    result = sweep_once(stack.runtime)
    assert (result.reclaimed, result.outbox) == (1, 1)
    stack.work()
    with stack.runtime.db.session() as session:
        row = session.get(Outbox, outbox_id)
        assert row.status == "queued" and row.attempts == 1
    assert len(twilio_standin.messages_sent()) == 1


def test_a_recent_claim_is_left_alone(stack: Stack) -> None:
    _outbox_row(stack, sid=None, status="claimed")
    with stack.runtime.db.session() as session:
        session.scalar(select(Outbox)).status_updated_at = utcnow()
        session.commit()
    assert sweep_once(stack.runtime).reclaimed == 0
