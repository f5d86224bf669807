"""A scheduler that owes each job once, dead work, bounded work per message, and the reply sent in the job that
filed the complaint (issue 13, points 4, 5 and 7), on PostgreSQL + rq on Redis and SQLite + the embedded queue."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from rq import SimpleWorker
from sqlalchemy import select

from gateway.complaints.intake import file_complaint
from gateway.jobs import dead, inbound
from gateway.jobs import queue as queue_module
from gateway.jobs.inbound import BATCH_SIZE, claim_waiting, process_inbound
from gateway.jobs.queue import EmbeddedQueue, RQQueue
from gateway.jobs.scheduler import claim_timeout, sweep_once
from gateway.runtime import DEFAULT, HIGH, SEND_OUTBOUND, job_id
from gateway.settings import ConfigError, load_settings
from models import Complaint, Contact, InboundMessage, Outbox, utcnow
from tests.conftest import REDIS_URL, ROOT, Stack, make_settings
from tests.gateway.conftest import DISHUB, SUPER, VIEWER, Admin, text_in
from tests.gateway.jobs.test_send_once import reply_row, row_of

# --- deterministic job ids: queueing twice gives one job ------------------------------------------------------


def queued(stack: Stack) -> dict[str, list[str]]:
    """Job ids waiting per priority (rq's ids less the queue's prefix; the embedded queue's own)."""
    queue = stack.runtime.queue
    if isinstance(queue, RQQueue):
        return {priority: [i.removeprefix(queue.prefix + "-") for i in q.job_ids]
                for priority, q in queue.queues.items()}
    jobs = sorted(queue._jobs.queue)
    return {priority: [item[4] for item in jobs if (item[0] == 0) == (priority == HIGH)]
            for priority in (HIGH, DEFAULT)}


def test_queueing_a_job_twice_gives_one_job(stack: Stack) -> None:
    queue = stack.runtime.queue
    assert queue.enqueue(SEND_OUTBOUND, 1, priority=HIGH, job_id=job_id("send", 1)) is True
    assert queue.enqueue(SEND_OUTBOUND, 1, priority=HIGH, job_id=job_id("send", 1)) is False
    assert queue.enqueue(SEND_OUTBOUND, 1, priority=DEFAULT, job_id=job_id("send", 1)) is False
    assert queue.enqueue(SEND_OUTBOUND, 2, priority=HIGH, job_id=job_id("send", 2)) is True
    assert queued(stack) == {HIGH: ["send-1", "send-2"], DEFAULT: []}
    assert queue.waiting("send-1") and not queue.waiting("send-3")


def test_a_job_that_ended_may_be_queued_again(stack: Stack) -> None:
    queue = stack.runtime.queue
    outbox_id = reply_row(stack)
    queue.enqueue(SEND_OUTBOUND, outbox_id, priority=HIGH, job_id=job_id("send", outbox_id))
    stack.work()
    assert not queue.waiting(job_id("send", outbox_id))
    assert queue.enqueue(SEND_OUTBOUND, outbox_id, priority=HIGH, job_id=job_id("send", outbox_id)) is True


def test_a_failed_rq_job_is_cleared_and_queued_again(postgres_url: str) -> None:
    queue = RQQueue(REDIS_URL, name="sambat-test")
    queue.connection.flushdb()
    try:
        assert queue.enqueue("gateway.jobs.outbox.no_such_job", 1, job_id="send-1")
        SimpleWorker(queue.ordered, connection=queue.connection).work(burst=True, logging_level="CRITICAL")
        assert queue.queues[DEFAULT].failed_job_registry.get_job_ids() == ["sambat-test-send-1"]
        assert queue.enqueue(SEND_OUTBOUND, 1, job_id="send-1") is True
        assert queue.queues[DEFAULT].failed_job_registry.get_job_ids() == []
        assert queue.queues[DEFAULT].job_ids == ["sambat-test-send-1"]
    finally:
        queue.connection.flushdb()


# A `sambat worker` as the bench runs it, on the test queue: rq's SimpleWorker, killed mid-job by the test.
WORKER = ("import sys; from redis import Redis; from rq import Queue; from gateway.jobs.queue import worker_class; "
          "c = Redis.from_url(sys.argv[1]); worker_class()([Queue('sambat-test', connection=c)], connection=c)"
          ".work(burst=True, logging_level='CRITICAL')")


def started_entries(queue: RQQueue) -> list[bytes]:
    return [member for q in queue.ordered for member in queue.connection.zrange(q.started_job_registry.key, 0, -1)]


def test_a_job_whose_worker_was_killed_is_queued_again(postgres_url: str, monkeypatch: pytest.MonkeyPatch,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    """A worker SIGKILLed mid-job leaves the job "started" in rq, which clears it only at a worker's maintenance
    (every 10 minutes): until then the sweep's job for that row was silently not queued, and the row stayed owed
    (issue 13's fault-injection run: replies still owed after the drain). Past its timeout (and ABANDONED_AFTER,
    0 here) the job runs nowhere: it is queued again, without rq's leftovers of the killed run."""
    monkeypatch.setattr(queue_module, "ABANDONED_AFTER", 0)
    queue = RQQueue(REDIS_URL, name="sambat-test", timeouts={"sleep": 2, "default": 120})
    queue.connection.flushdb()
    key = "rq:job:sambat-test-send-1"
    try:
        assert queue.enqueue("time.sleep", 30, job_id="send-1")
        worker = subprocess.Popen([sys.executable, "-c", WORKER, REDIS_URL],
                                  env={**os.environ, "PYTHONPATH": str(ROOT)})
        try:
            deadline = time.monotonic() + 30
            while queue.connection.hget(key, "status") != b"started":
                assert time.monotonic() < deadline and worker.poll() is None, "the worker did not start the job"
                time.sleep(0.05)
            assert queue.enqueue(SEND_OUTBOUND, 1, job_id="send-1") is False  # it runs: no second job
        finally:
            worker.kill()
            worker.wait()
        assert queue.waiting("send-1")  # rq still calls it started, and it is within its timeout
        assert queue.enqueue(SEND_OUTBOUND, 1, job_id="send-1") is False
        assert started_entries(queue)

        time.sleep(2.1)  # its timeout: a live worker would have stopped it and recorded the failure by now
        assert queue.connection.hget(key, "status") == b"started"  # what rq still says
        assert not queue.waiting("send-1")
        assert queue.enqueue(SEND_OUTBOUND, 1, job_id="send-1") is True
        assert "job sambat-test-send-1 was left started at" in caplog.text
        assert queue.queues[DEFAULT].job_ids == ["sambat-test-send-1"]
        assert queue.connection.hget(key, "status") == b"queued"
        assert started_entries(queue) == []  # rq's cleanup will not fail the new job for the killed run
        assert queue.enqueue(SEND_OUTBOUND, 1, job_id="send-1") is False  # and that one is queued once
    finally:
        queue.connection.flushdb()


def test_a_job_taken_by_a_worker_that_died_before_starting_it_is_queued_again(
        postgres_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """rq's worker pops a job from its queue, then marks it started: a worker SIGKILLed in between leaves it
    "queued" in no queue, which rq never looks at again (the fault-injection run's message that was never
    processed: every sweep's job for it was a no-op)."""
    queue = RQQueue(REDIS_URL, name="sambat-test")
    queue.connection.flushdb()
    try:
        assert queue.enqueue(SEND_OUTBOUND, 1, job_id="send-1")
        assert queue.enqueue(SEND_OUTBOUND, 1, job_id="send-1") is False  # waiting in its queue
        assert queue.connection.lpop(queue.queues[DEFAULT].key) == b"sambat-test-send-1"  # the worker's pop
        assert queue.connection.hget("rq:job:sambat-test-send-1", "status") == b"queued"  # what rq still says
        assert not queue.waiting("send-1")
        assert queue.enqueue(SEND_OUTBOUND, 1, job_id="send-1") is True
        assert "job sambat-test-send-1 was taken from its queue by a worker that stopped before" in caplog.text
        assert queue.queues[DEFAULT].job_ids == ["sambat-test-send-1"]
        assert queue.enqueue(SEND_OUTBOUND, 1, job_id="send-1") is False
    finally:
        queue.connection.flushdb()


def test_a_message_whose_job_a_dying_worker_took_is_processed(stack: Stack, twilio_standin) -> None:  # noqa: ANN001
    if not isinstance(stack.runtime.queue, RQQueue):
        pytest.skip("rq's bookkeeping: the embedded queue forgets a job when its thread ends it")
    queue = stack.runtime.queue
    message_id = stored_message(stack)
    stack.runtime.process_soon()
    assert queue.connection.lpop(queue.queues[HIGH].key) is not None  # the dying worker's pop
    stack.runtime.process_soon()
    assert queued(stack)[HIGH] == []  # its wake-up flag is left: no second job while the first "waits"

    assert sweep_once(stack.runtime).inbound == 1
    assert len(queued(stack)[HIGH]) == 1  # the sweep wakes a job anyway
    stack.work()
    with stack.runtime.db.session() as session:
        assert session.get(InboundMessage, message_id).processed_at is not None
    assert len(twilio_standin.messages_sent()) == 1


def abandoned_send(queue: RQQueue, outbox_id: int) -> None:
    """The state a `sambat worker` SIGKILLed mid-send leaves in rq: the send's job dequeued and started ten minutes
    ago (rq's own bookkeeping of a start), never ended."""
    from rq.job import Job
    from rq.utils import utcformat

    assert queue.enqueue(SEND_OUTBOUND, outbox_id, priority=HIGH, job_id=job_id("send", outbox_id))
    job = Job.fetch(f"{queue.prefix}-{job_id('send', outbox_id)}", connection=queue.connection)
    queue.queues[HIGH].remove(job)
    with queue.connection.pipeline() as pipeline:
        job.prepare_for_execution("killed-worker", pipeline)
        pipeline.hset(job.key, "started_at", utcformat(utcnow() - timedelta(minutes=10)))
        pipeline.execute()


def test_a_send_whose_worker_was_killed_is_sent_by_the_sweep(stack: Stack, twilio_standin) -> None:  # noqa: ANN001
    """The fault-injection run's rows left in retry: the worker killed mid-send, the claim taken back by the sweep,
    and then every sweep's send of it a no-op against the killed job's id."""
    if not isinstance(stack.runtime.queue, RQQueue):
        pytest.skip("rq's bookkeeping: the embedded queue forgets a job when its thread ends it")
    outbox_id = reply_row(stack)
    with stack.runtime.db.session() as session:
        row = session.get(Outbox, outbox_id)
        row.status, row.attempts = "claimed", 1
        row.status_updated_at = utcnow() - claim_timeout(stack.runtime) - timedelta(seconds=1)
        session.commit()
    abandoned_send(stack.runtime.queue, outbox_id)

    result = sweep_once(stack.runtime)
    assert (result.reclaimed, result.outbox) == (1, 1)
    assert queued(stack)[HIGH] == [job_id("send", outbox_id)]
    stack.work()
    row = row_of(stack, outbox_id)
    assert (row.status, row.attempts) == ("queued", 2)
    assert len(twilio_standin.messages_sent()) == 1  # asked first (unsure since the claim), then sent once


def test_the_sweep_every_5_seconds_adds_no_second_job(stack: Stack) -> None:
    """The issue's flood: every owed row re-enqueued every sweep, 2.4-4 send jobs per real send."""
    rows = [reply_row(stack, key=f"reply:{n}") for n in range(3)]
    with stack.runtime.db.session() as session:
        for outbox_id in rows:
            session.get(Outbox, outbox_id).created_at = utcnow() - timedelta(minutes=1)
        session.commit()
    for _ in range(5):
        assert sweep_once(stack.runtime).outbox == 3
    assert queued(stack)[HIGH] == [job_id("send", outbox_id) for outbox_id in rows]


def test_retries_keep_their_priority(stack: Stack) -> None:
    """A ticket reply is never stuck behind retries of status updates."""
    reply = reply_row(stack, key="reply:1")
    update = reply_row(stack, key="event:1:1")
    with stack.runtime.db.session() as session:
        row = session.get(Outbox, update)
        row.kind, row.inbound_message_id = "status_update", None
        for outbox_id in (reply, update):
            retry = session.get(Outbox, outbox_id)
            retry.status, retry.attempts, retry.next_attempt_at = "retry", 1, utcnow()
        session.commit()

    assert sweep_once(stack.runtime).outbox == 2
    assert queued(stack) == {HIGH: [job_id("send", reply)], DEFAULT: [job_id("send", update)]}


# --- dead work: max_attempts, the console's list with the error and a retry button ----------------------------


def stored_message(stack: Stack, body: str = "jalan rusak berlubang depan SDN 3") -> int:
    with stack.runtime.db.session() as session:
        message = InboundMessage(channel="twilio", medium="sms", provider_message_id=f"SM{time.time_ns():032x}",
                                 sender="+6281234567890", recipient="+15005550006", body=body, raw={},
                                 received_at=utcnow() - timedelta(minutes=1))
        session.add(message)
        session.commit()
        return message.id


def run_job(stack: Stack, message_id: int) -> None:
    with stack.app.app_context():
        process_inbound(message_id)


def test_a_poison_message_is_dead_after_max_attempts(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    message_id = stored_message(stack)
    poison = RuntimeError("the router choked on 1.6 MB")
    monkeypatch.setattr(inbound, "handle_message", lambda *args: (_ for _ in ()).throw(poison))
    attempts = stack.runtime.settings.jobs.max_attempts
    for attempt in range(1, attempts + 1):
        with pytest.raises(RuntimeError):
            run_job(stack, message_id)
        with stack.runtime.db.session() as session:
            message = session.get(InboundMessage, message_id)
            assert (message.attempts, message.last_error) == (attempt, "RuntimeError: the router choked on 1.6 MB")
            assert (message.dead_at is not None) == (attempt == attempts)
            message.next_attempt_at = None  # due again at once
            session.commit()

    assert sweep_once(stack.runtime).inbound == 0  # never handed out again
    run_job(stack, message_id)  # a stray job does nothing
    with stack.runtime.db.session() as session:
        assert session.get(InboundMessage, message_id).attempts == attempts
        assert dead.count(session) == 1


def test_a_message_whose_runs_never_finish_is_dead(stack: Stack) -> None:
    """Killed workers record nothing; the next start counts the runs that never ended."""
    message_id = stored_message(stack)
    attempts = stack.runtime.settings.jobs.max_attempts
    for attempt in range(1, attempts + 1):
        assert claim_waiting(stack.runtime, BATCH_SIZE) == (
            ([message_id], [], []) if attempt == 1 else ([], [message_id], []))
        with stack.runtime.db.session() as session:
            session.get(InboundMessage, message_id).next_attempt_at = None  # its lease ran out
            session.commit()
    assert claim_waiting(stack.runtime, BATCH_SIZE) == ([], [], [message_id])
    with stack.runtime.db.session() as session:
        message = session.get(InboundMessage, message_id)
        assert message.dead_at is not None and f"stopped {attempts} times without finishing" in message.last_error


def test_a_failed_run_waits_before_the_next(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    message_id = stored_message(stack)
    monkeypatch.setattr(inbound, "handle_message", lambda *args: (_ for _ in ()).throw(RuntimeError("blip")))
    with pytest.raises(RuntimeError):
        run_job(stack, message_id)
    assert sweep_once(stack.runtime).inbound == 0  # its backoff first
    with stack.runtime.db.session() as session:
        session.get(InboundMessage, message_id).next_attempt_at = utcnow() - timedelta(seconds=1)
        session.commit()
    assert sweep_once(stack.runtime).inbound == 1


def test_a_send_whose_workers_keep_dying_is_dead(stack: Stack) -> None:
    outbox_id = reply_row(stack)
    with stack.runtime.db.session() as session:
        row = session.get(Outbox, outbox_id)
        row.status, row.attempts = "claimed", stack.runtime.settings.jobs.max_attempts
        row.status_updated_at = utcnow() - claim_timeout(stack.runtime) - timedelta(seconds=1)
        session.commit()

    result = sweep_once(stack.runtime)
    assert (result.dead, result.reclaimed, result.outbox) == (1, 0, 0)
    row = row_of(stack, outbox_id)
    assert row.status == "dead" and row.unsure_since is not None
    assert "worker stopped mid-send" in row.last_error


def test_retryable_send_failures_end_dead(stack: Stack, twilio_standin) -> None:  # noqa: ANN001
    from gateway.jobs.outbox import deliver, max_sends

    outbox_id = reply_row(stack)
    twilio_standin.fail_next(status=400, code=21211)  # never retried: failed, not dead
    assert deliver(stack.runtime, outbox_id) == "failed"
    other = reply_row(stack, key="reply:2")
    twilio_standin.fail_next(status=429, times=10)
    stack.runtime.settings = stack.runtime.settings.with_overrides(outbox__max_throttled=0)  # 429s count at once
    for _ in range(max_sends(stack.runtime)):
        with stack.runtime.db.session() as session:
            session.get(Outbox, other).next_attempt_at = None
            session.commit()
        deliver(stack.runtime, other)
    row = row_of(stack, other)
    assert (row.status, row.attempts) == ("dead", max_sends(stack.runtime))
    with stack.runtime.db.session() as session:
        assert [(item.kind, item.id) for item in dead.dead_items(session)] == [("send", other)]


def test_the_console_lists_dead_work_with_its_error_and_retries_it(admin: Admin, twilio_standin,  # noqa: ANN001
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    stack = admin.stack
    message_id = stored_message(stack, "jalan rusak berlubang depan SDN 3 Sawojajar")
    with stack.runtime.db.session() as session:
        message = session.get(InboundMessage, message_id)
        message.attempts, message.dead_at = 5, utcnow()
        message.last_error = "JobTimeoutException: Task exceeded maximum timeout value (60 seconds)"
        session.commit()
    outbox_id = reply_row(stack, key="reply:earlier")
    with stack.runtime.db.session() as session:
        row = session.get(Outbox, outbox_id)
        row.status, row.attempts, row.last_error = "dead", 5, "Twilio 503 error 20503: Service Unavailable"
        row.unsure_since, row.status_updated_at = utcnow() - timedelta(minutes=30), utcnow()
        session.commit()

    console = admin.as_user(SUPER)
    page = console.get("/admin/dead").text
    assert f'data-dead="message-{message_id}"' in page and f'data-dead="send-{outbox_id}"' in page
    assert "Task exceeded maximum timeout value (60 seconds)" in page and "Service Unavailable" in page
    assert f'id="retry-message-{message_id}"' in page and f'id="retry-send-{outbox_id}"' in page
    assert admin.as_user(DISHUB).get("/admin/dead").status_code == 403  # the super-admin's page only
    assert admin.as_user(VIEWER).post(f"/admin/dead/send/{outbox_id}/retry").status_code == 403

    assert console.post(f"/admin/dead/message/{message_id}/retry").status_code == 302
    assert console.post(f"/admin/dead/send/{outbox_id}/retry").status_code == 302
    assert console.post(f"/admin/dead/send/{outbox_id}/retry").status_code == 302  # twice: nothing more
    assert console.post("/admin/dead/other/1/retry").status_code == 404
    with stack.runtime.db.session() as session:
        assert dead.count(session) == 0
        assert session.get(InboundMessage, message_id).attempts == 0
    stack.work()

    with stack.runtime.db.session() as session:
        assert session.get(InboundMessage, message_id).processed_at is not None
        retried = session.get(Outbox, outbox_id)
        assert retried.status == "queued" and retried.attempts == 1
    assert [r.method for r in twilio_standin.requests].count("GET") == 1  # asked before sending again
    assert "Tidak ada yang gagal." in console.get("/admin/dead").text


# --- a per-job timeout --------------------------------------------------------------------------------------------


@contextlib.contextmanager
def one_second_jobs(postgres_url: str, standin: Any) -> Iterator[Stack]:
    """PostgreSQL + rq with the processing job's timeout at 1 s; emptied afterwards."""
    from gateway.app import create_app
    from tests.conftest import _empty_tables

    settings = make_settings(postgres_url, standin.base_url, jobs={"timeouts": {"process_inbound": 1}})
    queue = RQQueue(REDIS_URL, name="sambat-test", timeouts=settings.jobs.timeouts)
    queue.connection.flushdb()
    app = create_app(settings, queue=queue, start_embedded=False)
    stack = Stack(name="postgres", app=app, runtime=app.extensions["sambat"])
    try:
        yield stack
    finally:
        stack.runtime.db.dispose()
        queue.connection.flushdb()
        _empty_tables(postgres_url)


def test_a_job_past_its_timeout_is_stopped_and_its_error_kept(postgres_url: str, twilio_standin,  # noqa: ANN001
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with one_second_jobs(postgres_url, twilio_standin) as stack:
        app, queue = stack.app, stack.runtime.queue
        message_id = stored_message(stack)
        monkeypatch.setattr(inbound, "handle_message", lambda *args: time.sleep(10))
        stack.runtime.process_soon()
        started = time.monotonic()
        with app.app_context():
            SimpleWorker(queue.ordered, connection=queue.connection).work(burst=True, logging_level="CRITICAL")
        assert time.monotonic() - started < 8
        assert len(queue.queues[HIGH].failed_job_registry.get_job_ids()) == 1
        with stack.runtime.db.session() as session:
            message = session.get(InboundMessage, message_id)
            assert message.attempts == 1 and message.processed_at is None
            assert message.last_error.startswith("JobTimeoutException") and "1 seconds" in message.last_error


def test_job_timeouts_are_per_job_and_checked() -> None:
    settings = load_settings(environ={}, config_path=str(ROOT / "config.yaml"))
    assert RQQueue("redis://127.0.0.1:1/0", timeouts=settings.jobs.timeouts).timeout(SEND_OUTBOUND) == 60
    assert settings.jobs.timeout("gateway.jobs.media.fetch_media") == 120
    assert settings.jobs.timeout("gateway.jobs.retrain.anything") == 120  # the default
    for bad, message in (({"timeouts": {"process": 5}}, "jobs.timeouts.process: not a job"),
                         ({"timeouts": {"send_outbound": 0}}, "jobs.timeouts.send_outbound: must be a number"),
                         ({"max_attempts": 0}, "max_attempts")):
        with pytest.raises((ConfigError, ValueError)) as raised:
            settings.with_overrides(jobs=bad)
        assert message in str(raised.value), str(raised.value)


# --- bounded work per message: the text kept for routing -------------------------------------------------------


@pytest.mark.parametrize(("medium", "length", "routed"), [
    ("sms", 1_000, 1_000),
    ("sms", 5_000, 1_600),
    ("whatsapp", 5_000, 4_096),
    ("email", 1_600_000, 20_000),
    ("web", 30_000, 20_000),
])
def test_the_text_kept_for_routing_is_capped_per_medium(stack: Stack, medium: str, length: int, routed: int) -> None:
    text = ("jalan rusak berlubang depan sekolah, mohon segera diperbaiki. " * (length // 60 + 1))[:length]
    with stack.runtime.db.session() as session:
        message = InboundMessage(channel="email" if medium == "email" else "twilio", medium=medium,
                                 provider_message_id=f"cap-{medium}-{length}", sender="warga@example.org",
                                 body=text, raw={})
        contact = Contact(email="warga@example.org")
        session.add_all([message, contact])
        session.flush()
        complaint, _, _ = file_complaint(session, stack.runtime, message, contact, text)
        session.commit()
        assert len(complaint.text) == routed
        assert complaint.agency_code == "DPUPRPKP"
        assert len(session.get(InboundMessage, message.id).body) == length  # the rest is kept with the message


# --- the ticket reply goes out in the job that filed the complaint ---------------------------------------------


def test_the_reply_leaves_in_the_job_that_filed_the_complaint(stack: Stack, twilio_standin) -> None:  # noqa: ANN001
    text_in(stack, "jalan rusak berlubang depan SDN 3 Sawojajar")
    queue = stack.runtime.queue
    with stack.app.app_context():
        if isinstance(queue, RQQueue):
            SimpleWorker(queue.ordered, connection=queue.connection).work(burst=True, max_jobs=1,
                                                                            logging_level="WARNING")
        else:
            assert isinstance(queue, EmbeddedQueue)
            queue._run(queue._jobs.get_nowait())
    [sent] = twilio_standin.messages_sent()
    assert sent["body"].startswith("Aduan diterima. Tiket")
    assert queued(stack) == {HIGH: [], DEFAULT: []}  # no send job: the processing job sent it
    with stack.runtime.db.session() as session:
        assert session.scalar(select(Outbox.status)) == "queued"
        assert session.scalar(select(Complaint.id)) is not None


def test_the_queue_is_the_fallback_when_the_send_cannot_run(stack: Stack, twilio_standin,  # noqa: ANN001
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> None:
        raise ConnectionError("the database went away after the commit")

    monkeypatch.setattr(inbound, "deliver_many", broken)
    message_id = stored_message(stack)
    run_job(stack, message_id)
    with stack.runtime.db.session() as session:
        outbox_id = session.scalar(select(Outbox.id))
    assert queued(stack)[HIGH] == [job_id("send", outbox_id)]
    monkeypatch.undo()
    stack.work()
    assert len(twilio_standin.messages_sent()) == 1


def test_an_unknown_setting_is_explained() -> None:
    text = (ROOT / "config.yaml").read_text(encoding="utf-8").replace("  max_attempts: 5", "  max_attempts: many")
    path = ROOT / "instance" / "test-config-jobs.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    try:
        with pytest.raises(ConfigError) as raised:
            load_settings(environ={}, config_path=str(path))
        assert "jobs.max_attempts" in str(raised.value)
    finally:
        path.unlink()


def test_too_many_requests_is_not_a_failed_send_until_outbox_max_throttled(stack: Stack,  # noqa: ANN001
                                                                           twilio_standin) -> None:
    """A 429 took nothing: up to outbox.max_throttled of them leave the attempts alone (the wait still grows),
    so a provider that slows us down never kills a reply that 30% refusals would have killed after 5 tries."""
    from gateway.jobs.outbox import deliver, max_sends

    stack.runtime.settings = stack.runtime.settings.with_overrides(outbox__max_throttled=8,
                                                                   outbox__retry_backoff=(1, 2, 4, 8))
    outbox_id = reply_row(stack)
    twilio_standin.fail_next(status=429, times=8 + max_sends(stack.runtime))
    waits = []
    for _ in range(8):
        before = utcnow()
        assert deliver(stack.runtime, outbox_id) == "retry"
        row = row_of(stack, outbox_id)
        waits.append(round((row.next_attempt_at - before).total_seconds()))
        with stack.runtime.db.session() as session:
            session.get(Outbox, outbox_id).next_attempt_at = None
            session.commit()
    row = row_of(stack, outbox_id)
    assert (row.status, row.attempts, row.throttled) == ("retry", 0, 8)
    assert waits == [1, 2, 4, 8, 8, 8, 8, 8]  # the backoff grows with the refusals
    for _ in range(max_sends(stack.runtime)):  # past max_throttled, a 429 is a failed attempt like any other
        deliver(stack.runtime, outbox_id)
        with stack.runtime.db.session() as session:
            session.get(Outbox, outbox_id).next_attempt_at = None
            session.commit()
    row = row_of(stack, outbox_id)
    assert (row.status, row.attempts, row.throttled) == ("dead", max_sends(stack.runtime), 8)
    assert len(twilio_standin.requests) == 8 + max_sends(stack.runtime)  # never a List: a 429 leaves no doubt


def test_a_429_then_an_accepted_send_sends_once(stack: Stack, twilio_standin) -> None:  # noqa: ANN001
    from gateway.jobs.outbox import deliver

    outbox_id = reply_row(stack)
    twilio_standin.fail_next(status=429, times=2)
    for _ in range(3):
        with stack.runtime.db.session() as session:
            session.get(Outbox, outbox_id).next_attempt_at = None
            session.commit()
        deliver(stack.runtime, outbox_id)
    row = row_of(stack, outbox_id)
    assert (row.status, row.attempts, row.throttled) == ("queued", 1, 2)
    assert len(twilio_standin.messages_sent()) == 1
