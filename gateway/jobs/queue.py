"""The complaint queue: rq on Redis in production, or the same jobs on threads in-process.

Both take a job function and its arguments (always ids, never objects). With no REDIS_URL, ``sambat up``
runs an :class:`EmbeddedQueue`, so a fresh machine needs nothing but Python.
"""

from __future__ import annotations

import logging
import queue as stdlib_queue
import threading
from collections.abc import Callable
from importlib import import_module
from typing import Any

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


def worker_class() -> type:
    """rq's SimpleWorker with its own bookkeeping written when it changes, not several times per job.

    rq writes the worker's heartbeat (HSET + 2 EXPIRE) before and after every dequeue and every job, its
    state on every dequeue, and checks for ``rq suspend`` before every job: about ten Redis round trips per job
    that say nothing new while jobs follow each other. Here a heartbeat without a pipeline is sent at most every
    :attr:`HEARTBEAT_EVERY` seconds (the worker's key lives 480 s), a state only when it changes, and the
    suspension flag is read at most once a second. The job's own bookkeeping (started, finished, its
    heartbeat, the registries) is rq's, unchanged.
    """
    import time

    from rq import SimpleWorker

    class Worker(SimpleWorker):
        HEARTBEAT_EVERY = 5.0
        SUSPENSION_EVERY = 1.0
        _beat_at = _suspension_at = float("-inf")

        def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
            now = time.monotonic()
            if pipeline is None and timeout is None and now - self._beat_at < self.HEARTBEAT_EVERY:
                return
            super().heartbeat(timeout, pipeline)
            if pipeline is None:
                self._beat_at = now

        def set_state(self, state: str, pipeline: Any = None) -> None:
            if pipeline is None and state == getattr(self, "_state", None):
                return
            super().set_state(state, pipeline)

        def check_for_suspension(self, burst: bool) -> None:
            now = time.monotonic()
            if now - self._suspension_at < self.SUSPENSION_EVERY:
                return
            self._suspension_at = now
            super().check_for_suspension(burst)

    return Worker


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
        except Exception:  # noqa: BLE001 - a failed job is logged; the sweep retries it
            log.exception("job %s%r failed", getattr(func, "__name__", func), args)
        finally:
            self._jobs.task_done()


__all__ = ["DEFAULT", "HIGH", "EmbeddedQueue", "JobQueue", "RQQueue", "worker_class"]
