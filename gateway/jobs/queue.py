"""The complaint queue: rq on Redis in production, or the same jobs on threads in-process.

Both take a job function and its arguments (always ids, never objects). With no REDIS_URL, ``sambat up``
runs an :class:`EmbeddedQueue`, so a fresh machine needs nothing but Python.

A job given a ``job_id`` (``send-42``, ``check-7``: :func:`gateway.runtime.job_id`) is queued once: while a job
of that id waits or runs, queueing it again does nothing and returns False, so the scheduler's sweep every few
seconds adds no second job for a row that already has one. A job that ended (failed, stopped) may be queued
again, and so may one a worker that died left behind (:meth:`RQQueue._activity`): taken from its queue but never
started (rq never looks at it again), or left "started" past its timeout (rq clears it only at a worker's next
maintenance, up to 10 minutes on). In rq the check and the push are one Lua script (rq's ``unique``); an ended
job's leftovers are cleared first in a WATCHed transaction. Each job runs
under its own timeout (``jobs.timeouts``; rq stops it there; the embedded queue cannot stop a thread and does
not enforce it).

The processing of inbound messages is woken instead (:meth:`RQQueue.wake`): one job files every message waiting,
in batches, and a message stored while such a job waits to start adds nothing to the queue.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import queue as stdlib_queue
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import import_module
from typing import Any

from gateway.jobs.reconnect import DATABASE, database_unavailable
from gateway.runtime import DEFAULT, HIGH, JobQueue
from gateway.settings.sections import DEFAULT_TIMEOUTS

log = logging.getLogger(__name__)

JOB_TIMEOUT = 120  # seconds; a job is a few queries and at most one provider call
FAILURE_TTL = 7 * 24 * 3600
ACTIVE = {"queued", "started", "deferred", "scheduled"}  # rq statuses of a job that will still run its work
ABANDONED_AFTER = 30  # seconds past a started job's timeout: rq would have stopped it, so its worker is gone
JOB_FIELDS = ("status", "started_at", "timeout", "origin")  # what of an rq job's hash says whether it waits or runs
# Seconds a wake-up flag lives: a woken job lost before it started (its worker killed while the job waited for its
# batch, Redis restarted without it) holds the next messages back at most this long. A job that waits longer in a
# busy queue only means a second job, which finds little or nothing to do.
WAKE_TTL = 5


def _name(func: Callable[..., Any] | str) -> str:
    return func if isinstance(func, str) else f"{func.__module__}.{func.__qualname__}"


class RQQueue:
    """rq on Redis: two queues, ``<name>-high`` (new messages, ticket replies) worked before ``<name>``."""

    def __init__(self, redis_url: str, name: str = "sambat", timeouts: dict[str, float] | None = None) -> None:
        from redis import Redis
        from rq import Queue

        self.connection = Redis.from_url(redis_url)
        self.name = name
        self.prefix = re.sub(r"[^A-Za-z0-9_-]", "_", name)  # rq's job ids: letters, digits, _ and - only
        self.timeouts = dict(timeouts or DEFAULT_TIMEOUTS)
        self.queues = {
            HIGH: Queue(f"{name}-high", connection=self.connection, default_timeout=JOB_TIMEOUT),
            DEFAULT: Queue(name, connection=self.connection, default_timeout=JOB_TIMEOUT),
        }

    def timeout(self, func: Callable[..., Any] | str) -> int:
        """The whole seconds rq gives one job (by its function's short name, else ``default``)."""
        short = _name(func).rpartition(".")[2]
        return max(1, round(self.timeouts.get(short, self.timeouts.get("default", JOB_TIMEOUT))))

    @property
    def ordered(self) -> list[Any]:
        """The rq queues in the order a worker should listen to them."""
        return [self.queues[HIGH], self.queues[DEFAULT]]

    def enqueue(self, func: Callable[..., Any] | str, *args: Any, priority: str = DEFAULT,
                job_id: str | None = None) -> bool:
        queue = self.queues[priority]
        options = {"result_ttl": 0, "failure_ttl": FAILURE_TTL, "job_timeout": self.timeout(func)}
        if job_id is None:
            # One pipeline, so one round trip to Redis (rq alone makes two: the queue set, then the job).
            with self.connection.pipeline() as pipeline:
                queue.enqueue(func, *args, pipeline=pipeline, **options)
                pipeline.execute()
            return True
        job_id = f"{self.prefix}-{job_id}"  # two deployments may share one Redis
        for _ in range(3):
            if self._enqueue_unique(queue, func, args, job_id, options):
                return True
            if not self._clear_ended(job_id):
                return False  # waiting or running: that job does the work
        return False

    def wake(self, func: Callable[..., Any] | str, key: str, priority: str = DEFAULT, force: bool = False) -> bool:
        """Queue ``func()`` unless a job woken by ``key`` waits still (it has not called :meth:`woken`): then that
        job does the work, and this costs one Redis command (``SET NX``). ``force`` queues one anyway (the sweep:
        a flag left by a job that was lost). Returns whether a job was queued."""
        flag = f"{self.prefix}:wake:{key}"
        if not self.connection.set(flag, 1, nx=not force, ex=WAKE_TTL):
            return False
        try:
            return self.enqueue(func, priority=priority)
        except Exception:
            self.connection.delete(flag)  # no job waits: the next caller tries again
            raise

    def woken(self, key: str) -> None:
        """A job woken by ``key`` has started: whatever comes in from now on wakes a new job."""
        self.connection.delete(f"{self.prefix}:wake:{key}")

    def _enqueue_unique(self, queue: Any, func: Callable[..., Any] | str, args: tuple[Any, ...], job_id: str,
                        options: dict[str, Any]) -> bool:
        """rq's ``enqueue(..., unique=True)`` in one round trip: False if a job of this id exists.

        The job is rq's own (``Queue.create_job``, prepared and written as rq writes it: the same hash, by rq's
        unique-enqueue Lua script, which checks, saves and pushes at once), so rq workers run it as any other.
        rq alone sends the queue's registration (SADD, in MULTI/EXEC) and the script in two round trips, and
        redis-py's script objects add a SCRIPT EXISTS before every pipeline; here both commands go in one
        pipeline by the script's hash, loaded once per connection pool if Redis does not know it.
        """
        from redis.exceptions import NoScriptError
        from rq.scripts import UNIQUE_ENQUEUE_SCRIPT, _build_hset_args

        job = queue.create_job(func, args=args, job_id=job_id, timeout=options["job_timeout"],
                               result_ttl=options["result_ttl"], failure_ttl=options["failure_ttl"])
        queue._prepare_for_queue(job)  # origin, enqueued_at, timeout, status: what rq sets before saving
        script = [job.key, queue.key, job.id, "R", job.ttl if job.ttl is not None else -1, *_build_hset_args(job)]
        for attempt in (1, 2):
            try:
                with self.connection.pipeline(transaction=False) as pipeline:
                    pipeline.sadd(queue.redis_queues_keys, queue.key)
                    pipeline.evalsha(self._unique_sha, 2, *script)
                    return pipeline.execute()[1] == 1
            except NoScriptError:
                if attempt == 2:
                    raise
                self.connection.script_load(UNIQUE_ENQUEUE_SCRIPT)
        raise AssertionError("unreachable")

    @functools.cached_property
    def _unique_sha(self) -> str:
        """The SHA1 Redis knows rq's unique-enqueue script by (EVALSHA)."""
        from rq.scripts import UNIQUE_ENQUEUE_SCRIPT

        return hashlib.sha1(UNIQUE_ENQUEUE_SCRIPT.encode()).hexdigest()  # noqa: S324 - Redis's own script id

    def _clear_ended(self, job_id: str) -> bool:
        """Remove what is left of an ended job of this id (failed, stopped, left by a dead worker:
        :meth:`_activity`); False if one waits or runs."""
        from redis.exceptions import WatchError
        from rq.executions import ExecutionRegistry
        from rq.job import Job
        from rq.results import Result

        key = Job.key_for(job_id)
        with self.connection.pipeline() as pipeline:
            try:
                pipeline.watch(key)
                active, left = self._activity(pipeline, job_id)
                if active:
                    return False
                # An abandoned run's entries in the started registries: rq's cleanup would fail the next job of
                # this id for them.
                started = {queue.started_job_registry.key: [member for member, _ in pipeline.zscan_iter(
                    queue.started_job_registry.key, match=f"{job_id}:*")] for queue in self.queues.values()}
                pipeline.multi()
                pipeline.delete(key, Job.dependents_key_for(job_id), Result.get_key(job_id),
                                ExecutionRegistry(job_id=job_id, connection=self.connection).key)
                for queue in self.queues.values():
                    pipeline.zrem(queue.failed_job_registry.key, job_id)
                for registry, members in started.items():
                    if members:
                        pipeline.zrem(registry, *members)
                pipeline.execute()
            except WatchError:
                return False  # another process just queued or started it
        if left:
            log.warning("job %s was %s; queued again", job_id, left)
        return True

    def _activity(self, connection: Any, job_id: str) -> tuple[bool, str | None]:
        """Whether the job of this (full) id waits or runs; and when rq says so but no worker will run it, why.

        Two states a worker that died leaves behind: a job it took from its queue and died before starting (rq's
        workers pop it from the list and only then mark it started; queued, in no list, rq never looks at it
        again), and a job it died running (SIGKILL, or Redis away as the job ended): rq still calls it started, but
        a live worker stops its job at the timeout and records the failure, so past the timeout and
        :data:`ABANDONED_AFTER` no worker runs it.
        """
        from rq.intermediate_queue import IntermediateQueue
        from rq.job import Job
        from rq.queue import Queue
        from rq.utils import utcparse

        status, started_at, timeout, origin = connection.hmget(Job.key_for(job_id), *JOB_FIELDS)
        if status is None or status.decode() not in ACTIVE:
            return False, None
        if status == b"queued" and origin:
            queue_key = Queue.redis_queue_namespace_prefix + origin.decode()
            lists = (queue_key, IntermediateQueue.get_intermediate_queue_key(queue_key))
            if all(connection.lpos(key, job_id) is None for key in lists):
                return False, "taken from its queue by a worker that stopped before starting it"
        if status == b"started" and started_at:
            limit = timedelta(seconds=float(timeout or JOB_TIMEOUT) + ABANDONED_AFTER)
            if utcparse(started_at.decode()) + limit < datetime.now(UTC):
                return False, (f"left started at {started_at.decode()} (timeout {float(timeout or JOB_TIMEOUT):g} s) "
                               "by a worker that stopped")
        return True, None

    def waiting(self, job_id: str) -> bool:
        """True while a job of this id waits or runs (tests, the console)."""

        return self._activity(self.connection, f"{self.prefix}-{job_id}")[0]

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
        self._jobs: stdlib_queue.PriorityQueue[tuple[int, int, Callable[..., Any], tuple[Any, ...], str | None]] = (
            stdlib_queue.PriorityQueue()
        )
        self._counter = 0
        self._lock = threading.Lock()
        self._ids: set[str] = set()  # ids of jobs queued or running
        self._wakes: set[str] = set()  # keys of woken jobs not yet started
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

    def enqueue(self, func: Callable[..., Any] | str, *args: Any, priority: str = DEFAULT,
                job_id: str | None = None) -> bool:
        if isinstance(func, str):
            module, _, name = func.rpartition(".")
            func = getattr(import_module(module), name)
        with self._lock:
            if job_id is not None:
                if job_id in self._ids:
                    return False
                self._ids.add(job_id)
            self._counter += 1
            order = self._counter
        self._jobs.put((0 if priority == HIGH else 1, order, func, args, job_id))
        return True

    def wake(self, func: Callable[..., Any] | str, key: str, priority: str = DEFAULT, force: bool = False) -> bool:
        """Queue ``func()`` unless a job woken by ``key`` has not started yet (see :meth:`RQQueue.wake`)."""
        with self._lock:
            if key in self._wakes and not force:
                return False
            self._wakes.add(key)
        return self.enqueue(func, priority=priority)

    def woken(self, key: str) -> None:
        with self._lock:
            self._wakes.discard(key)

    def waiting(self, job_id: str) -> bool:
        """True while a job of this id waits or runs."""
        with self._lock:
            return job_id in self._ids

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

    def _run(self, item: tuple[int, int, Callable[..., Any], tuple[Any, ...], str | None]) -> None:
        _, _, func, args, job_id = item
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
            if job_id is not None:
                with self._lock:
                    self._ids.discard(job_id)
            self._jobs.task_done()


__all__ = ["DEFAULT", "HIGH", "EmbeddedQueue", "JobQueue", "RQQueue", "worker_class"]
