"""Processes that outlive their services: `sambat worker`, the scheduler and `sambat up` through PostgreSQL and
Redis restarts, each outage logged once; `sambat up`'s supervisor restarting what dies.

The restarts are of private servers (tests.support.outage): a redis-server with the AOF and a PostgreSQL cluster
of the test's own, on free ports; the shared ones are never touched.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from channels.base import InboundMessage
from gateway.cli.supervise import Supervisor
from gateway.jobs import build_runtime
from gateway.jobs.inbound import store_and_enqueue
from gateway.jobs.queue import EmbeddedQueue
from gateway.jobs.reconnect import DATABASE, REDIS, Outage, wait_until
from gateway.jobs.spool import MESSAGE, RedisSpool
from gateway.runtime import Runtime
from models import InboundMessage as InboundRow
from models.migrate import upgrade
from tests.conftest import ROOT, make_settings
from tests.support.live import SAMBAT, clean_env
from tests.support.outage import PrivatePostgres, PrivateRedis, private_postgres, private_redis, reset_outages


@pytest.fixture(autouse=True)
def _fresh_outages() -> Iterator[None]:
    reset_outages()
    yield
    reset_outages()


def eventually(check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except Exception:  # noqa: BLE001 - not yet
            value = None
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not within {timeout} s")


# --- the pieces -----------------------------------------------------------------------------------------------


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(caplog: pytest.LogCaptureFixture) -> None:
    outage = Outage("the database")
    with caplog.at_level(logging.WARNING):
        assert outage.failed(ConnectionRefusedError("refused")) is True
        assert [outage.failed(ConnectionRefusedError("refused")) for _ in range(5)] == [False] * 5
        assert outage.recovered() is True
        assert outage.recovered() is False
    assert [record.getMessage().split(" (")[0] for record in caplog.records] == [
        "the database is unreachable", "the database is back after 0.0 s"]


def test_wait_until_retries_an_outage_with_backoff_and_raises_a_bug() -> None:
    from redis.exceptions import ConnectionError as RedisConnectionError

    calls = []

    def flaky() -> None:
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise RedisConnectionError("Connection refused")

    outage = Outage("Redis")
    assert wait_until(flaky, outage) is True
    assert len(calls) == 3 and not outage.down
    assert calls[2] - calls[1] > calls[1] - calls[0] > 0.4  # 0.5 s, then 1 s
    with pytest.raises(ZeroDivisionError):
        wait_until(lambda: 1 / 0, outage)
    stop = threading.Event()
    stop.set()
    assert wait_until(lambda: (_ for _ in ()).throw(RedisConnectionError("down")), outage, stop) is False


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")  # the deaths are the point
def test_the_supervisor_starts_a_dead_thread_again(caplog: pytest.LogCaptureFixture) -> None:
    stop, runs = threading.Event(), []

    def short_lived() -> None:
        runs.append(1)
        raise SystemExit  # a thread that dies

    supervisor = Supervisor(stop, interval=0.05)
    supervisor.thread("sambat-scheduler", short_lived)
    supervisor.start()
    try:
        eventually(lambda: len(runs) >= 3, "three starts")
    finally:
        stop.set()
    assert "sambat-scheduler stopped; starting it again (restart 1" in caplog.text
    assert supervisor.parts[0].restarts >= 2


def test_the_supervisor_starts_a_dead_worker_process_again() -> None:
    stop = threading.Event()
    children = {"worker": subprocess.Popen([sys.executable, "-c", "pass"])}
    children["worker"].wait()

    def restart() -> None:
        children["worker"] = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])

    supervisor = Supervisor(stop)
    supervisor.watch("the worker process", lambda: children["worker"].poll() is None, restart)
    try:
        assert supervisor.check_once() == ["the worker process"]
        assert supervisor.check_once() == []  # alive now
    finally:
        children["worker"].kill()
        children["worker"].wait()


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_the_embedded_queue_gets_a_new_thread_for_one_that_died() -> None:
    queue = EmbeddedQueue(threads=2)
    queue.start(None)
    assert queue.ping()
    queue.enqueue(sys.exit, 0)  # SystemExit is no Exception: it ends the thread that ran it
    eventually(lambda: not queue.ping(), "a dead job thread")
    assert queue.revive() == 1
    assert queue.ping()
    done = threading.Event()
    for _ in range(4):
        queue.enqueue(done.set)
    queue.join()
    assert done.is_set()


# --- real processes, private servers --------------------------------------------------------------------------


def _console_message(number: int) -> InboundMessage:
    return InboundMessage(channel="console", medium="sms", provider_message_id=f"reconnect-{number}",
                          sender="+6281234567890", text=f"jalan rusak nomor {number}", raw={})


def _processed(runtime: Runtime, provider_id: str) -> bool:
    with runtime.db.session() as session:
        row = session.scalar(select(InboundRow).where(InboundRow.provider_message_id == provider_id))
        return row is not None and row.processed_at is not None


def _runtime(pg: PrivatePostgres, redis: PrivateRedis, queue: Any = None) -> Runtime:
    settings = make_settings(pg.url).with_overrides(redis_url=redis.url)
    return build_runtime(settings, queue=queue)


def _env(pg: PrivatePostgres, redis: PrivateRedis, **extra: str) -> dict[str, str]:
    return clean_env(DATABASE_URL=pg.url, REDIS_URL=redis.url, SECRET_KEY="test-secret-key-of-at-least-32-characters",
                     SAMBAT_SMS_PROVIDER="console", PYTHONPATH=str(ROOT), **extra)


def _output(log: Path) -> str:
    return log.read_text(errors="replace")


@pytest.mark.slow
def test_the_worker_waits_for_the_database_and_outlives_redis_and_postgresql_restarts(tmp_path: Path) -> None:
    log = tmp_path / "worker.log"
    with private_postgres(started=False) as pg, private_redis(tmp_path / "redis") as redis:
        worker = subprocess.Popen([SAMBAT, "worker"], cwd=ROOT, env=_env(pg, redis), stdout=log.open("w"),
                                  stderr=subprocess.STDOUT)
        try:
            # Started while PostgreSQL is down: it waits, says so once, and does not exit.
            eventually(lambda: "the database is unreachable" in _output(log), "the worker's warning")
            time.sleep(2)
            assert worker.poll() is None
            pg.start()
            upgrade(pg.url)
            runtime = _runtime(pg, redis)
            store_and_enqueue(runtime, _console_message(1))
            eventually(lambda: _processed(runtime, "reconnect-1"), "message 1 processed")
            assert _output(log).count("the database is unreachable") == 1

            # Redis restarts under an idle worker, then under a busy one (rq's own loop ends then).
            redis.stop()
            time.sleep(1.5)
            redis.start()
            store_and_enqueue(runtime, _console_message(2))
            eventually(lambda: _processed(runtime, "reconnect-2"), "message 2 processed after a Redis restart")
            runtime.queue.enqueue("time.sleep", 1.5)
            eventually(lambda: "time.sleep(1.5)" in _output(log), "the worker busy")
            redis.stop()
            time.sleep(3)  # the job ends while Redis is away
            redis.start()
            store_and_enqueue(runtime, _console_message(3))
            eventually(lambda: _processed(runtime, "reconnect-3"), "message 3 processed after a busy restart")
            assert worker.poll() is None

            # PostgreSQL restarts while a job is queued: the job waits for it instead of failing.
            stored = _runtime(pg, redis, queue=EmbeddedQueue())  # stores without handing it to the worker
            message_id, _ = store_and_enqueue(stored, _console_message(4))
            pg.stop()
            runtime.process_soon(message_id)
            eventually(lambda: _output(log).count("the database is unreachable") == 2, "the worker's second warning")
            time.sleep(1)
            pg.start()
            eventually(lambda: _processed(runtime, "reconnect-4"), "message 4 processed after a PostgreSQL restart")
            assert not any(q.failed_job_registry.get_job_ids() for q in runtime.queue.ordered)
            output = _output(log)
            assert worker.poll() is None, output
            assert output.count("the database is unreachable") == 2  # once per outage
            assert output.count("the database is back") == 2
            assert 1 <= output.count("Redis is unreachable") <= 2, output  # two outages, each at most once
            assert "Traceback" not in output, output
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
    assert worker.returncode == 0, _output(log)


@pytest.mark.slow
def test_the_scheduler_drains_the_spool_once_postgresql_is_back_and_outlives_redis(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    from gateway.jobs.scheduler import run_forever

    with private_postgres() as pg, private_redis(tmp_path / "redis") as redis:
        upgrade(pg.url)
        runtime = _runtime(pg, redis)
        spool: RedisSpool = runtime.spool
        spool.push(MESSAGE, _console_message(1))
        spool.push(MESSAGE, _console_message(1))  # twice: imported once
        pg.stop()
        stop = threading.Event()
        scheduler = threading.Thread(target=run_forever, args=(runtime,), kwargs={"interval": 0.2, "stop": stop})
        with caplog.at_level(logging.INFO):
            scheduler.start()
            try:
                eventually(lambda: DATABASE.down, "the scheduler sees the database down")
                time.sleep(2)
                assert spool.depth() == 2
                pg.start()
                eventually(lambda: spool.depth() == 0, "the spool drained")
                with runtime.db.session() as session:
                    assert session.scalars(select(InboundRow.provider_message_id)).all() == ["reconnect-1"]
                assert runtime.queue.ordered[0].count >= 1  # handed to a worker (a repeat hands it on again: harmless)

                redis.kill()  # a crash: what the AOF fsynced survives
                eventually(lambda: REDIS.down, "the scheduler sees Redis down")
                time.sleep(2)
                redis.start()
                spool.push(MESSAGE, _console_message(2))
                eventually(lambda: spool.depth() == 0, "the spool drained after Redis came back")
                assert scheduler.is_alive()
            finally:
                stop.set()
                scheduler.join(timeout=30)
    messages = [record.getMessage() for record in caplog.records]
    assert sum("the database is unreachable" in m for m in messages) == 1
    assert sum("the database is back" in m for m in messages) == 1
    assert sum("Redis is unreachable" in m for m in messages) == 1
    assert sum("Redis is back" in m for m in messages) == 1
    assert not any(record.exc_info for record in caplog.records)


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


@pytest.mark.slow
def test_up_names_a_database_that_is_down_then_outlives_restarts_and_restarts_its_worker(tmp_path: Path) -> None:
    from urllib.error import HTTPError
    from urllib.parse import urlencode
    from urllib.request import Request, urlopen

    from tests.channels.test_twilio import form
    from tests.channels.twilio_payloads import SMS
    from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, twilio_signature
    from tests.support.live import free_port

    port = free_port()
    log = tmp_path / "up.log"

    def healthy() -> bool:
        with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200

    def sms(sid: str) -> int:
        params = form(SMS, MessageSid=sid)
        url = f"http://127.0.0.1:{port}/webhooks/twilio/sms"
        request = Request(url, data=urlencode(params).encode(), method="POST",
                          headers={"X-Twilio-Signature": twilio_signature(url, params)})
        try:
            with urlopen(request, timeout=10) as response:
                return response.status
        except HTTPError as error:
            return error.code

    with private_postgres(started=False) as pg, private_redis(tmp_path / "redis") as redis:
        env = _env(pg, redis, TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
                   SAMBAT_PUBLIC_URL=f"http://127.0.0.1:{port}")
        # Started while PostgreSQL is down, `up` says so in one line naming DATABASE_URL and exits (issue 15's
        # first run); the worker is what waits at start (test above). Once up, it outlives restarts.
        first = subprocess.run([SAMBAT, "up", "--port", str(port)], cwd=tmp_path, env=env, capture_output=True,
                               text=True, timeout=60)
        assert first.returncode != 0 and "DATABASE_URL" in first.stderr and "Traceback" not in first.stderr
        pg.start()
        up = subprocess.Popen([SAMBAT, "up", "--port", str(port)], cwd=tmp_path, env=env, stdout=log.open("w"),
                              stderr=subprocess.STDOUT)
        try:
            eventually(healthy, "up is ready")
            assert sms("SM" + "1" * 32) == 200
            eventually(lambda: _output(log).count("Aduan diterima") >= 1, "the first reply")

            redis.stop()
            pg.stop()
            assert sms("SM" + "2" * 32) == 503  # both down: the provider retries
            pg.start()
            assert up.poll() is None
            redis.start()
            eventually(healthy, "up is healthy again")

            [worker] = [child for child in _children(up.pid)]
            os.kill(worker, signal.SIGKILL)
            eventually(lambda: "the worker process stopped; starting it again" in _output(log), "the restart")
            assert sms("SM" + "3" * 32) == 200
            eventually(lambda: _output(log).count("Aduan diterima") >= 2, "a reply from the new worker")
            assert up.poll() is None
        finally:
            up.send_signal(signal.SIGTERM)
            up.wait(timeout=30)
