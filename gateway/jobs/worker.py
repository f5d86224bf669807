"""``sambat worker``: rq's worker, kept alive through Redis and PostgreSQL restarts.

rq's work loop ends when Redis goes away under a busy worker ("found an unhandled exception, quitting"),
and a job that meets a database outage fails for good. :func:`run_worker` starts rq's loop again once Redis
answers, waits for the database before the first job (a worker started while PostgreSQL is down), and a job
that fails because the database is away is put back at the front of its queue while the worker waits for
the database (:class:`ResilientWorker`). Each outage is logged once when it starts and once when it ends
(:mod:`gateway.jobs.reconnect`), rq's own retry lines about Redis are folded into that one warning.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from rq.exceptions import StopRequested

from gateway.jobs.queue import worker_class
from gateway.jobs.reconnect import (
    DATABASE,
    REDIS,
    database_unavailable,
    delays,
    ping_database,
    redis_unavailable,
    wait_for_database,
    wait_for_redis,
)
from gateway.runtime import Runtime

log = logging.getLogger(__name__)

WAITS = "the worker waits for it, retrying with backoff"
STEADY = 60.0  # seconds a worker must run before its restart backoff starts again from the first delay


class ResilientWorker(worker_class()):  # type: ignore[misc]
    """rq's SimpleWorker (with its bookkeeping written only when due, ``worker_class``) whose jobs wait out a
    database outage instead of failing."""

    def __init__(self, *args: Any, runtime: Runtime, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.runtime = runtime
        self.stop_requested = False  # rq raises StopRequested out of an idle loop without keeping a flag
        self._put_back: set[str] = set()

    def request_stop(self, signum: Any, frame: Any) -> None:
        self.stop_requested = True
        try:
            super().request_stop(signum, frame)
        except StopRequested:
            raise
        except Exception as error:  # rq asks Redis whether it is busy: with Redis away, stop now
            raise StopRequested() from error

    def heartbeat(self, *args: Any, **kwargs: Any) -> Any:
        beat = super().heartbeat(*args, **kwargs)
        REDIS.recovered()  # rq reconnects by itself while it waits for jobs: the first beat after says Redis is back
        return beat

    def execute_job(self, job: Any, queue: Any) -> Any:
        self._wait_for_database()
        return super().execute_job(job, queue)

    def _wait_for_database(self) -> None:
        """While the database is known to be down, probe it with backoff (and keep rq's heartbeat going)."""
        for delay in delays():
            if not DATABASE.down:
                return
            try:
                ping_database(self.runtime.db)
            except Exception as error:
                if not database_unavailable(error):
                    raise
                DATABASE.failed(error)
            else:
                DATABASE.recovered()
                return
            self.heartbeat()
            time.sleep(delay)

    def handle_exception(self, job: Any, *exc_info: Any) -> None:
        error = exc_info[1] if len(exc_info) > 1 else None
        if error is not None and database_unavailable(error):
            # Logged once per outage, not one traceback per job.
            DATABASE.failed(error, "jobs wait for it, retrying with backoff")
            self._put_back.add(job.id)
            return
        super().handle_exception(job, *exc_info)

    def handle_job_failure(self, job: Any, queue: Any, *args: Any, **kwargs: Any) -> None:
        super().handle_job_failure(job, queue, *args, **kwargs)
        if job.id in self._put_back:
            self._put_back.discard(job.id)
            try:
                queue.failed_job_registry.requeue(job, at_front=True)
            except Exception:  # noqa: BLE001 - the scheduler's sweep hands the work on from the database
                log.warning("job %s could not be put back on %s; the scheduler's sweep will", job.id, queue.name)


class _RedisOutageFilter(logging.Filter):
    """Folds rq's lines about a lost Redis (one per retry, a traceback when its loop ends) into :data:`REDIS`."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        message = str(record.msg)
        if "could not connect to Redis" in message or "Redis connection timeout" in message or (
            error is not None and redis_unavailable(error)
        ):
            REDIS.failed(error if error is not None else record.getMessage(), WAITS)
            return False
        return True


_FILTER = _RedisOutageFilter()


def run_worker(runtime: Runtime, burst: bool = False, stop: threading.Event | None = None) -> None:
    """Work the queues until stopped (SIGTERM, SIGINT, ``stop``), or until they are empty with ``burst``.

    Never exits because PostgreSQL or Redis went away: it waits for them with backoff and starts again.
    """
    stop = stop or threading.Event()
    logging.getLogger("rq.worker").addFilter(_FILTER)
    if threading.current_thread() is threading.main_thread():
        # rq installs its own handlers while its loop runs; between loops (waiting out an outage) these stop us.
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    queue = runtime.queue
    restarts = delays()
    while not stop.is_set():
        if not wait_for_database(runtime.db, stop, doing=WAITS):
            return
        if not wait_for_redis(queue.connection, stop, doing=WAITS):
            return
        worker = ResilientWorker(queue.ordered, connection=queue.connection, runtime=runtime)
        started = time.monotonic()
        try:
            worker.work(burst=burst)
        except Exception as error:  # rq's teardown talks to Redis too
            if not redis_unavailable(error):
                raise
            REDIS.failed(error, WAITS)
        else:
            if burst:
                return
        if worker.stop_requested:
            return
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                signal.signal(sig, lambda *_: stop.set())
        if time.monotonic() - started > STEADY:
            restarts = delays()
        stop.wait(next(restarts))
