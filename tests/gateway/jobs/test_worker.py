"""`sambat worker`'s rq worker: the pipeline end to end with it, and its bookkeeping written only when due."""

from __future__ import annotations

from sqlalchemy import select

from gateway.jobs.queue import RQQueue, worker_class
from models import Outbox
from tests.conftest import Stack
from tests.gateway.jobs.test_inbound import text_in
from tests.support.twilio_standin import TwilioStandIn


def test_the_pipeline_runs_on_sambat_workers_worker(stack: Stack, twilio_standin: TwilioStandIn) -> None:
    if stack.name != "postgres":
        return  # the embedded queue has no rq worker
    for number in range(3):
        text_in(stack, f"lampu jalan mati di gang {number}", sender=f"+62812300000{number}")
    queue = stack.runtime.queue
    assert isinstance(queue, RQQueue)
    worker = worker_class()(queue.ordered, connection=queue.connection)
    with stack.app.app_context():
        worker.work(burst=True, logging_level="WARNING")
    assert len(twilio_standin.messages_sent()) == 3
    with stack.runtime.db.session() as session:
        assert set(session.scalars(select(Outbox.status))) == {"queued"}
    assert not [job for q in queue.ordered for job in q.failed_job_registry.get_job_ids()]


def test_heartbeats_are_written_when_due_not_before_every_job(stack: Stack) -> None:
    if stack.name != "postgres":
        return
    queue = stack.runtime.queue
    worker = worker_class()(queue.ordered, connection=queue.connection)
    worker.register_birth()
    worker.heartbeat()
    first = queue.connection.hget(worker.key, "last_heartbeat")
    worker.heartbeat()  # within HEARTBEAT_EVERY: nothing written
    assert queue.connection.hget(worker.key, "last_heartbeat") == first
    worker._beat_at -= worker.HEARTBEAT_EVERY
    worker.heartbeat()
    assert queue.connection.hget(worker.key, "last_heartbeat") != first
    assert queue.connection.ttl(worker.key) > 60  # the key still outlives any pause between heartbeats
    worker.register_death()
