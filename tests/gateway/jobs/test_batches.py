"""Inbound messages filed in batches (issue 13, point 7): one woken job for many messages, one transaction per batch,
one claim and one recording statement for their replies; a failing message is that message's failure alone. On
PostgreSQL + rq on Redis and SQLite + the embedded queue."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from gateway.jobs import inbound
from gateway.jobs import outbox as outbox_jobs
from gateway.jobs.inbound import claim_waiting, process_inbound
from gateway.jobs.queue import EmbeddedQueue, RQQueue
from gateway.runtime import HIGH, INBOUND_WAKE, PROCESS_INBOUND
from models import Complaint, Contact, InboundMessage, Outbox, utcnow
from tests.conftest import REDIS_URL, Stack
from tests.gateway.conftest import text_in


def waiting_jobs(stack: Stack) -> int:
    queue = stack.runtime.queue
    if isinstance(queue, RQQueue):
        return sum(q.count for q in queue.ordered)
    return queue._jobs.qsize()


def stored(stack: Stack, *bodies: str) -> list[int]:
    """Messages as the webhook stores them, but written straight to the database (no job woken)."""
    with stack.runtime.db.session() as session:
        rows = [InboundMessage(channel="twilio", medium="sms", provider_message_id=f"SM{time.time_ns():032x}{n}",
                               sender=f"+628123450{n:04d}", recipient="+15005550006", body=body, raw={},
                               received_at=utcnow()) for n, body in enumerate(bodies)]
        session.add_all(rows)
        session.commit()
        return [row.id for row in rows]


def run_job(stack: Stack) -> None:
    with stack.app.app_context():
        process_inbound()


def test_many_messages_wake_one_job_that_files_them_all(stack: Stack, twilio_standin) -> None:  # noqa: ANN001
    for number in range(6):
        text_in(stack, f"sampah numpuk di TPS Jl. Bantaran nomor {number}", sender=f"+62812000001{number:02d}")
    assert waiting_jobs(stack) == 1  # the first webhook woke it; the other five found it waiting

    stack.work()
    assert len(twilio_standin.messages_sent()) == 6, [(m["to"], m["body"][:40]) for m in twilio_standin.messages_sent()]
    with stack.runtime.db.session() as session:
        messages = session.scalars(select(InboundMessage)).all()
        assert [(m.attempts, m.processed_at is not None, m.dead_at) for m in messages] == [(1, True, None)] * 6
        assert session.scalar(select(func.count()).select_from(Complaint)) == 6
        assert {row.status for row in session.scalars(select(Outbox))} == {"queued"}


@pytest.mark.parametrize("kind", ["rq", "embedded"])
def test_a_message_stored_once_the_job_started_wakes_a_new_one(kind: str) -> None:
    """The job clears its flag before its first look: what is stored after that is not left to it."""
    queue = RQQueue(REDIS_URL, name="sambat-test-wake") if kind == "rq" else EmbeddedQueue()
    if kind == "rq":
        queue.connection.flushdb()
    try:
        assert queue.wake(PROCESS_INBOUND, INBOUND_WAKE, priority=HIGH) is True
        assert queue.wake(PROCESS_INBOUND, INBOUND_WAKE, priority=HIGH) is False  # one waits: it files this too
        queue.woken(INBOUND_WAKE)  # the job starts
        assert queue.wake(PROCESS_INBOUND, INBOUND_WAKE, priority=HIGH) is True
        assert queue.wake(PROCESS_INBOUND, INBOUND_WAKE, priority=HIGH, force=True) is True  # the sweep's
        if kind == "rq":
            assert queue.queues[HIGH].count == 3
            assert 0 < queue.connection.ttl(f"{queue.prefix}:wake:{INBOUND_WAKE}") <= 5  # a lost job's flag expires
        else:
            assert queue._jobs.qsize() == 3
    finally:
        if kind == "rq":
            queue.connection.flushdb()


def test_one_failing_message_is_its_own_failure(stack: Stack, twilio_standin,  # noqa: ANN001
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The batch's transaction fails; its messages are filed again one at a time, and only the poison one fails
    (its error kept, tried again later on its own)."""
    ids = stored(stack, "jalan rusak depan SDN 3", "RACUN", "lampu jalan mati di Kayutangan")
    handle = inbound.handle_message

    def poisoned(session: Any, runtime: Any, message: InboundMessage, contact: Any) -> None:
        if message.body == "RACUN":
            raise RuntimeError("the router choked")
        handle(session, runtime, message, contact)

    monkeypatch.setattr(inbound, "handle_message", poisoned)
    with pytest.raises(RuntimeError, match="choked"):  # raised at the end: rq keeps the job as failed
        run_job(stack)
    assert len(twilio_standin.messages_sent()) == 2
    with stack.runtime.db.session() as session:
        rows = {row.id: row for row in session.scalars(select(InboundMessage))}
        assert [rows[i].processed_at is not None for i in ids] == [True, False, True]
        poison = rows[ids[1]]
        assert (poison.attempts, poison.last_error) == (1, "RuntimeError: the router choked")
        assert poison.next_attempt_at > utcnow()  # its backoff
        poison.next_attempt_at = None
        session.commit()

    assert claim_waiting(stack.runtime, 50) == ([], [ids[1]], [])  # claimed before: filed alone next time


def test_messages_claimed_before_are_filed_alone(stack: Stack) -> None:
    first, second, third = stored(stack, "jalan rusak", "got mampet", "pohon tumbang")
    with stack.runtime.db.session() as session:
        session.get(InboundMessage, second).attempts = 2  # its earlier runs stopped (a worker killed)
        session.commit()
    assert claim_waiting(stack.runtime, 50) == ([first, third], [second], [])
    assert claim_waiting(stack.runtime, 50) == ([], [], [])  # leased to that run until its timeout has passed
    with stack.runtime.db.session() as session:
        lease = session.get(InboundMessage, first).next_attempt_at
        timeout = stack.runtime.settings.jobs.timeout("process_inbound")
        assert utcnow() + timedelta(seconds=timeout) < lease < utcnow() + timedelta(seconds=timeout + 60)


def test_two_workers_claim_different_messages(stack: Stack) -> None:
    if stack.name != "postgres":
        pytest.skip("SKIP LOCKED: SQLite has one writer at a time anyway")
    ids = stored(stack, *[f"keluhan nomor {n}" for n in range(20)])
    barrier = threading.Barrier(2)
    claims: list[list[int]] = [[], []]

    def claim(worker: int) -> None:
        barrier.wait()
        while True:
            fresh, again, _ = claim_waiting(stack.runtime, 3)
            if not fresh + again:
                return
            claims[worker] += fresh + again

    threads = [threading.Thread(target=claim, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claims[0] + claims[1]) == ids  # every message once
    assert not set(claims[0]) & set(claims[1])


def test_replies_of_a_batch_are_recorded_apart_when_one_send_fails(stack: Stack, twilio_standin) -> None:  # noqa: ANN001
    stored(stack, "jalan rusak depan SDN 3", "got mampet di Sawojajar", "lampu jalan mati di Kayutangan")
    twilio_standin.fail_next(status=500)  # the first send of the batch
    run_job(stack)
    assert len(twilio_standin.messages_sent()) == 2
    with stack.runtime.db.session() as session:
        rows = session.scalars(select(Outbox).order_by(Outbox.id)).all()
        assert [row.status for row in rows] == ["retry", "queued", "queued"]
        assert rows[0].unsure_since is not None  # a 5xx may follow a send: asked about before the next try
        assert all(row.provider_message_id and row.sent_at and row.next_attempt_at for row in rows[1:])


def database_gone(*args: Any, **kwargs: Any) -> Any:
    raise OperationalError("UPDATE", {}, Exception("server closed the connection unexpectedly"))


def test_a_batch_the_database_dropped_is_put_back_at_once(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not the messages' failure: the run is not counted and they are due again now, not at the end of their lease."""
    ids = stored(stack, "jalan rusak depan SDN 3", "got mampet di Sawojajar")
    with monkeypatch.context() as patched:
        patched.setattr(inbound, "_file_batch", database_gone)
        with pytest.raises(OperationalError):
            run_job(stack)
    with stack.runtime.db.session() as session:
        rows = session.scalars(select(InboundMessage).order_by(InboundMessage.id)).all()
        assert [(row.id, row.attempts, row.next_attempt_at, row.last_error) for row in rows] == [
            (ids[0], 0, None, None), (ids[1], 0, None, None)]
    assert waiting_jobs(stack) == 1  # woken again
    assert claim_waiting(stack.runtime, 50) == (ids, [], [])


def test_sends_the_database_dropped_are_handed_back_as_unsure(stack: Stack, twilio_standin,  # noqa: ANN001
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    stored(stack, "jalan rusak depan SDN 3", "got mampet di Sawojajar")
    with monkeypatch.context() as patched:
        patched.setattr(outbox_jobs, "_record_sent_many", database_gone)
        run_job(stack)  # the sends' failure is the queue's to retry: the filing job itself succeeds
    assert len(twilio_standin.messages_sent()) == 2
    with stack.runtime.db.session() as session:
        rows = session.scalars(select(Outbox).order_by(Outbox.id)).all()
        assert [(row.status, row.provider_message_id, row.unsure_since is not None) for row in rows] == [
            ("retry", None, True)] * 2
    stack.work()  # the queued sends ask Twilio first: it has both, so nothing is sent again
    assert len(twilio_standin.messages_sent()) == 2
    with stack.runtime.db.session() as session:
        assert {row.status for row in session.scalars(select(Outbox))} == {"queued"}


def test_a_batch_reads_its_senders_once_and_keeps_each_citizens_story(stack: Stack, twilio_standin) -> None:  # noqa: ANN001
    """What a batch reads at its start (contacts, new ones inserted at once; waiting pins; ticket codes) gives what
    one message at a time gave: one contact per number, a pin sent just before the complaint in the same batch is
    where the complaint is, a returning citizen keeps their contact and language."""
    with stack.runtime.db.session() as session:
        session.add(Contact(phone="+6281299990001", language="en"))
        session.commit()
    now = utcnow()
    with stack.runtime.db.session() as session:
        session.add_all([
            InboundMessage(channel="twilio", medium="whatsapp", provider_message_id="SMpin", sender="+6281299990002",
                           recipient="+15005550006", body="", raw={}, received_at=now,
                           location={"latitude": -7.98, "longitude": 112.63, "label": "Alun-Alun", "address": None}),
            InboundMessage(channel="twilio", medium="sms", provider_message_id="SMa", sender="+6281299990001",
                           recipient="+15005550006", body="the street light is broken", raw={}, received_at=now),
            InboundMessage(channel="twilio", medium="whatsapp", provider_message_id="SMb", sender="+6281299990002",
                           recipient="+15005550006", body="pohon tumbang menutup jalan", raw={}, received_at=now),
            InboundMessage(channel="twilio", medium="sms", provider_message_id="SMc", sender="+6281299990003",
                           recipient="+15005550006", body="got mampet", raw={}, received_at=now),
            InboundMessage(channel="twilio", medium="sms", provider_message_id="SMd", sender="+6281299990003",
                           recipient="+15005550006", body="sampah belum diangkut", raw={}, received_at=now),
        ])
        session.commit()
    run_job(stack)
    with stack.runtime.db.session() as session:
        contacts = {c.phone: c for c in session.scalars(select(Contact))}
        assert sorted(contacts) == ["+6281299990001", "+6281299990002", "+6281299990003"]
        assert contacts["+6281299990001"].language == "en"
        complaints = session.scalars(select(Complaint).order_by(Complaint.id)).all()
        assert [c.contact_id for c in complaints] == [contacts[p].id for p in (
            "+6281299990001", "+6281299990002", "+6281299990003", "+6281299990003")]
        assert len({c.ticket_code for c in complaints}) == 4
        fallen = complaints[1]
        assert (fallen.latitude, fallen.longitude, fallen.address) == (-7.98, 112.63, "Alun-Alun")
        pin = session.scalar(select(InboundMessage).where(InboundMessage.provider_message_id == "SMpin"))
        assert pin.complaint_id == fallen.id
    bodies = {m["to"].removeprefix("whatsapp:"): m["body"] for m in twilio_standin.messages_sent()}
    assert bodies["+6281299990001"].startswith("Complaint received.")  # their language, as their contact says
    assert bodies["+6281299990003"].startswith("Aduan diterima.")


def test_a_job_stopped_by_its_timeout_mid_send_hands_its_sends_back(postgres_url: str, twilio_standin,  # noqa: ANN001
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """rq raises its timeout once: the job ends there, the sends not recorded go back (unsure: Twilio is asked
    before the next try), instead of the job going on with the next sends, unbounded."""
    from rq import SimpleWorker

    from tests.gateway.jobs.test_owed_once import one_second_jobs

    with one_second_jobs(postgres_url, twilio_standin) as stack:
        app, queue = stack.app, stack.runtime.queue
        stored(stack, "jalan rusak depan SDN 3", "got mampet di Sawojajar", "lampu jalan mati di Kayutangan")
        twilio_standin.delay_next(3.0)  # Twilio answers the first send after 3 s: past the job's 1 s
        stack.runtime.process_soon()
        started = time.monotonic()
        with app.app_context():
            SimpleWorker([queue.queues[HIGH]], connection=queue.connection).work(burst=True, logging_level="CRITICAL")
        assert time.monotonic() - started < 3  # stopped at its timeout, not after the other sends
        assert len(queue.queues[HIGH].failed_job_registry.get_job_ids()) == 1
        with stack.runtime.db.session() as session:
            assert session.scalar(select(func.count()).where(InboundMessage.processed_at.is_not(None))) == 3
            rows = session.scalars(select(Outbox).order_by(Outbox.id)).all()
            assert [(row.status, row.unsure_since is not None) for row in rows] == [("retry", True)] * 3


def test_what_arrives_while_a_woken_job_waits_joins_its_batch(postgres_url: str, twilio_standin) -> None:  # noqa: ANN001
    """jobs.batch_wait: the job waits before it looks; a message stored meanwhile finds it waiting (no new job)
    and is filed in the same batch."""
    from tests.conftest import _empty_tables, _stack

    stack = _stack("postgres", postgres_url, twilio_standin, jobs={"batch_wait": 0.5})
    try:
        text_in(stack, "jalan rusak depan SDN 3", sender="+6281200000201")
        queued: list[int] = []

        def second() -> None:  # while the worker's job waits
            time.sleep(0.2)
            text_in(stack, "got mampet di Sawojajar", sender="+6281200000202")
            queued.append(waiting_jobs(stack))

        meanwhile = threading.Thread(target=second)
        meanwhile.start()
        stack.work()  # rq's worker runs in the main thread (its timeouts are signals)
        meanwhile.join()
        assert queued == [0]  # the second message found the first job waiting: no job of its own
        assert len(twilio_standin.messages_sent()) == 2
        with stack.runtime.db.session() as session:
            leases = session.scalars(select(InboundMessage.next_attempt_at)).all()
            assert len(leases) == 2 and leases[0] == leases[1]  # claimed together: one batch
    finally:
        stack.runtime.db.dispose()
        stack.runtime.queue.connection.flushdb()
        _empty_tables(postgres_url)


def with_batch_wait(stack: Stack, monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    settings = stack.runtime.settings
    jobs = settings.jobs.model_copy(update={"batch_wait": seconds})
    monkeypatch.setattr(stack.runtime, "settings", settings.model_copy(update={"jobs": jobs}))


class Clock:
    """time.monotonic for gateway.runtime, moved by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_webhook_within_the_wake_window_sends_nothing_to_the_queue(stack: Stack,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Within wake_window of this process's last wake no command is sent: the job that wake found looks later.
    Past it, and for the sweep's forced wake, the queue is asked again."""
    import gateway.runtime as runtime_module

    clock = Clock()
    monkeypatch.setattr(runtime_module.time, "monotonic", clock)
    with_batch_wait(stack, monkeypatch, 0.1)
    window = runtime_module.wake_window(stack.runtime.settings)
    assert window == 0.05
    sent: list[bool] = []
    wake = stack.runtime.queue.wake
    monkeypatch.setattr(stack.runtime.queue, "wake",
                        lambda *a, **k: sent.append(k.get("force", False)) or wake(*a, **k))

    stack.runtime.process_soon()
    stack.runtime.queue.woken(INBOUND_WAKE)  # the job starts at once and clears its flag
    clock.now += window * 0.99
    stack.runtime.process_soon()  # its look is still to come: nothing sent
    assert sent == [False] and waiting_jobs(stack) == 1
    stack.runtime.process_soon(force=True)  # the sweep's
    assert sent == [False, True] and waiting_jobs(stack) == 2
    clock.now += window
    stack.runtime.process_soon()
    assert sent == [False, True, False] and waiting_jobs(stack) == 2  # the flag the sweep set is still up


def test_a_woken_job_looks_a_wake_window_after_it_cleared_its_flag(stack: Stack,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The order the wake window rests on: wait jobs.batch_wait (what arrives meanwhile joins the batch), clear
    the flag, wait the window, then look."""
    events: list[Any] = []
    with_batch_wait(stack, monkeypatch, 0.3)
    monkeypatch.setattr(inbound.time, "sleep", lambda seconds: events.append(("sleep", round(seconds, 6))))
    woken = stack.runtime.queue.woken
    monkeypatch.setattr(stack.runtime.queue, "woken", lambda key: events.append("woken") or woken(key))
    claim = inbound.claim_waiting
    monkeypatch.setattr(inbound, "claim_waiting", lambda *a: events.append("look") or claim(*a))
    run_job(stack)
    assert events == [("sleep", 0.3), "woken", ("sleep", 0.05), "look"]


@pytest.mark.slow
def test_webhooks_that_skip_their_wake_lose_nothing(postgres_url: str, twilio_standin,  # noqa: ANN001
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Messages from four threads while a real rq worker runs the woken jobs, with a wide wake window so most
    webhooks skip their wake: every message is filed by a woken job, none is left for the sweep."""
    import gateway.runtime as runtime_module
    from tests.conftest import _empty_tables, _stack

    monkeypatch.setattr(runtime_module, "WAKE_WINDOW", 0.15)
    stack = _stack("postgres", postgres_url, twilio_standin, jobs={"batch_wait": 0.3})
    sends: list[bool] = []
    wake = stack.runtime.queue.wake
    monkeypatch.setattr(stack.runtime.queue, "wake", lambda *a, **k: sends.append(True) or wake(*a, **k))
    try:
        def citizen(number: int) -> None:
            for message in range(12):
                text_in(stack, f"jalan berlubang di gang {message}", sender=f"+628120003{number:02d}{message:02d}")
                time.sleep(0.005 * ((number + message) % 7))

        citizens = [threading.Thread(target=citizen, args=(number,)) for number in range(4)]
        for thread in citizens:
            thread.start()
        while any(thread.is_alive() for thread in citizens) or waiting_jobs(stack):
            stack.work()  # rq's worker in the main thread, burst: the woken jobs as they come
            time.sleep(0.01)
        for thread in citizens:
            thread.join()
        with stack.runtime.db.session() as session:
            waiting = session.scalar(select(func.count()).where(InboundMessage.processed_at.is_(None)))
            total = session.scalar(select(func.count()).select_from(InboundMessage))
        assert (total, waiting) == (48, 0)
        assert len(sends) < 48  # the window spared webhooks their wake
    finally:
        stack.runtime.db.dispose()
        stack.runtime.queue.connection.flushdb()
        _empty_tables(postgres_url)


def test_a_webhook_that_found_the_flag_up_skips_its_wakes_for_the_window(postgres_url: str, twilio_standin,  # noqa: ANN001
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The case the window's order exists for. Web process A wakes a job (batch_wait 0.6 s, window 0.3 s). Web
    process B wakes 0.15 s before that job clears its flag and finds the flag up; just after the flag is cleared B
    stores another message, within its window, so without a wake. The job looks a window after the clear and
    files it. Had the job looked as it cleared its flag, that message would wait for the sweep."""
    import types

    import gateway.runtime as runtime_module
    from tests.conftest import _empty_tables, _stack

    monkeypatch.setattr(runtime_module, "WAKE_WINDOW", 0.3)
    web_a = _stack("postgres", postgres_url, twilio_standin, jobs={"batch_wait": 0.6})
    web_b = _stack("postgres", postgres_url, twilio_standin, jobs={"batch_wait": 0.6})  # the same queue and flag
    started, cleared = threading.Event(), threading.Event()

    def sleep(seconds: float) -> None:  # the job's waits (gateway.jobs.inbound's time.sleep only)
        started.set()
        time.sleep(seconds)

    monkeypatch.setattr(inbound, "time", types.SimpleNamespace(sleep=sleep, monotonic=time.monotonic))
    woken = web_a.runtime.queue.woken
    monkeypatch.setattr(web_a.runtime.queue, "woken", lambda key: (woken(key), cleared.set()))
    wakes_of_b: list[bool] = []
    wake_b = web_b.runtime.queue.wake
    monkeypatch.setattr(web_b.runtime.queue, "wake", lambda *a, **k: wakes_of_b.append(wake_b(*a, **k)))
    try:
        text_in(web_a, "jalan rusak depan SDN 3", sender="+6281200000301")

        def web_b_citizens() -> None:
            assert started.wait(10)
            time.sleep(0.45)  # 0.15 s before the job clears its flag
            text_in(web_b, "got mampet di Sawojajar", sender="+6281200000302")
            assert cleared.wait(10)
            text_in(web_b, "lampu jalan mati", sender="+6281200000303")

        meanwhile = threading.Thread(target=web_b_citizens)
        meanwhile.start()
        web_a.work()  # the job A woke, in rq's worker in this thread
        meanwhile.join()
        assert wakes_of_b == [False]  # B's first wake found A's flag; its second message sent none
        with web_a.runtime.db.session() as session:
            assert session.scalar(select(func.count()).select_from(InboundMessage)) == 3
            assert session.scalar(select(func.count()).where(InboundMessage.processed_at.is_(None))) == 0
    finally:
        for stack in (web_a, web_b):
            stack.runtime.db.dispose()
        web_a.runtime.queue.connection.flushdb()
        _empty_tables(postgres_url)
