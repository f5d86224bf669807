"""The complaint queue: rq on Redis in production, or the same jobs on threads in-process.

Both take a job function and its arguments (always ids, never objects). With no REDIS_URL, ``sambat up``
runs an :class:`EmbeddedQueue`, so a fresh machine needs nothing but Python.
"""

from __future__ import annotations

import logging
import queue as stdlib_queue
import threading
import time
from collections.abc import Callable
from importlib import import_module
from typing import Any

from gateway.jobs.reconnect import DATABASE, database_unavailable
from gateway.runtime import DEFAULT, HIGH, JobQueue

log = logging.getLogger(__name__)

JOB_TIMEOUT = 120  # seconds; a job is a few queries and at most one provider call


class RQQueue:
    """rq on Redis: two queues, ``<name>-high`` (new messages, ticket replies) worked before ``<name>``."""

    def __init__(self, redis_url: str, name: str = "sambat") -> None:
        from redis import Redis
        from rq import Queue

        self.connection = Redis.from_url(redis_url)
        self.queues = {
            HIGH: Queue(f"{name}-high", connection=self.connection, default_timeout=JOB_TIMEOUT),
            DEFAULT: Queue(name, connection=self.connection, default_timeout=JOB_TIMEOUT),
        }

    @property
    def ordered(self) -> list[Any]:
        """The rq queues in the order a worker should listen to them."""
        return [self.queues[HIGH], self.queues[DEFAULT]]

    def enqueue(self, func: Callable[..., Any] | str, *args: Any, priority: str = DEFAULT) -> None:
        # One pipeline, so one round trip to Redis (rq alone makes two: the queue set, then the job).
        with self.connection.pipeline() as pipeline:
            self.queues[priority].enqueue(func, *args, result_ttl=0, failure_ttl=7 * 24 * 3600, pipeline=pipeline)
            pipeline.execute()

    def ping(self) -> bool:
        try:
            return bool(self.connection.ping())
        except Exception:  # noqa: BLE001 - any Redis failure means "not ready"
            return False


class EmbeddedQueue:
    """Runs jobs on background threads of this process, inside the Flask app's context.

    Jobs are the same functions rq runs, so behaviour is the same; only durability differs: jobs queued
    in memory are lost on a crash, and the scheduler's sweep finds the unprocessed rows again.
    """

    def __init__(self, threads: int = 2) -> None:
        self.threads = threads
        self._jobs: stdlib_queue.PriorityQueue[tuple[int, int, Callable[..., Any], tuple[Any, ...]]] = (
            stdlib_queue.PriorityQueue()
        )
        self._counter = 0
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []
        self._app: Any = None

    def start(self, app: Any) -> None:
        """Start the worker threads, each running jobs inside ``app``'s context."""
        self._app = app
        for number in range(self.threads):
            worker = threading.Thread(target=self._work, name=f"sambat-job-{number}", daemon=True)
            worker.start()
            self._workers.append(worker)

    def revive(self) -> int:
        """Start a new thread for each worker thread that died (``sambat up``'s supervisor); returns how many."""
        revived = 0
        for number, worker in enumerate(self._workers):
            if not worker.is_alive():
                log.error("job thread %s died; starting a new one", worker.name)
                self._workers[number] = threading.Thread(target=self._work, name=worker.name, daemon=True)
                self._workers[number].start()
                revived += 1
        return revived

    def enqueue(self, func: Callable[..., Any] | str, *args: Any, priority: str = DEFAULT) -> None:
        if isinstance(func, str):
            module, _, name = func.rpartition(".")
            func = getattr(import_module(module), name)
        with self._lock:
            self._counter += 1
            order = self._counter
        self._jobs.put((0 if priority == HIGH else 1, order, func, args))

    def ping(self) -> bool:
        return bool(self._workers) and all(worker.is_alive() for worker in self._workers)

    def join(self) -> None:
        """Wait until every queued job has run (tests, and shutdown)."""
        self._jobs.join()

    def run_pending(self) -> int:
        """Run queued jobs on the calling thread until none are left; returns how many ran (tests)."""
        ran = 0
        while True:
            try:
                item = self._jobs.get_nowait()
            except stdlib_queue.Empty:
                return ran
            self._run(item)
            ran += 1

    def _work(self) -> None:
        while True:
            self._run(self._jobs.get())

    def _run(self, item: tuple[int, int, Callable[..., Any], tuple[Any, ...]]) -> None:
        _, _, func, args = item
        try:
            if self._app is not None:
                with self._app.app_context():
                    func(*args)
            else:
                func(*args)
        except Exception as error:  # noqa: BLE001 - a failed job is logged; the sweep retries it
            if database_unavailable(error):
                # Logged once per outage; the scheduler's sweep hands the work on when the database is back.
                DATABASE.failed(error, "jobs wait for the scheduler's sweep")
                time.sleep(1.0)  # no spinning through the queue while it is away
            else:
                log.exception("job %s%r failed", getattr(func, "__name__", func), args)
        finally:
            self._jobs.task_done()


__all__ = ["DEFAULT", "HIGH", "EmbeddedQueue", "JobQueue", "RQQueue"]
