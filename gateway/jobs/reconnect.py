"""Processes that outlive their services: tell an outage from a bug, log it once, wait with backoff.

PostgreSQL and Redis restart (upgrades, failovers, a crash). A long-running process (``sambat worker``,
``sambat scheduler``, ``sambat up``) must not exit then, nor fill the log with one traceback per attempt:
it logs one warning when a service goes away and one when it is back (:class:`Outage`), and waits in
between with a backoff that grows to :data:`MAX_DELAY` (:func:`wait_until`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger(__name__)

FIRST_DELAY, MAX_DELAY = 0.5, 30.0  # seconds between attempts: 0.5, 1, 2, 4 ... 30


def database_unavailable(error: BaseException) -> bool:
    """True when ``error`` says the database cannot be reached (down, restarting, the connection lost),
    not that a statement was wrong: a unique key, a bad value or a bug stay errors."""
    if isinstance(error, OperationalError | InterfaceError | PoolTimeout):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


def write_through_restart(write: Callable[[], None], delays: tuple[float, ...]) -> BaseException | None:
    """Run a short database write; while the database is away (a restart takes seconds), try it again after each of
    ``delays``. Returns None once it is written, else the error it stopped on: any other error at once, or the
    database still away after the last delay."""
    for delay in (*delays, None):
        try:
            write()
            return None
        except Exception as failure:  # noqa: BLE001 - the caller says who takes over what it could not write
            if delay is None or not database_unavailable(failure):
                return failure
            time.sleep(delay)
    raise AssertionError("unreachable")


def job_timed_out(error: BaseException) -> bool:
    """True for rq's timeout of the running job: it must end now, not go on with its next message or send (rq
    raises it once; a job that caught it and went on would run unbounded)."""
    from rq.timeouts import BaseTimeoutException

    return isinstance(error, BaseTimeoutException)


def redis_unavailable(error: BaseException) -> bool:
    """True when ``error`` says Redis cannot be reached (refused, reset, timed out, loading its AOF)."""
    from redis.exceptions import BusyLoadingError

    return isinstance(error, RedisConnectionError | RedisTimeoutError | BusyLoadingError)


def service_unavailable(error: BaseException) -> str | None:
    """The name of the service ``error`` says is away ("the database", "Redis"), else None."""
    if database_unavailable(error):
        return "the database"
    if redis_unavailable(error):
        return "Redis"
    return None


SETTLE = 5.0  # seconds after a service is back during which a new failure still belongs to the same outage


class Outage:
    """One service's outage, as one process sees it: logged once when it starts and once when it ends."""

    def __init__(self, service: str, logger: logging.Logger | None = None) -> None:
        self.service = service
        self.log = logger or log
        self.since: float | None = None
        self.failures = 0
        self._back: tuple[float, float] | None = None  # (when it came back, when that outage began)
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        return self.since is not None

    def failed(self, error: BaseException | str, doing: str = "") -> bool:
        """Record a failure; the first of an outage is logged (a warning, no traceback). Returns True then."""
        with self._lock:
            self.failures += 1
            if self.since is not None:
                return False
            now = time.monotonic()
            if self._back is not None and now - self._back[0] < SETTLE:
                # A service still settling after its restart (it answered once, then refused again): the same
                # outage, not a new one to log.
                self.since = self._back[1]
                return False
            self.since = now
        lines = str(error).strip().splitlines()
        reason = error if isinstance(error, str) else f"{type(error).__name__}: {lines[0] if lines else ''}"
        self.log.warning("%s is unreachable (%s); %s", self.service, reason,
                         doing or "retrying with backoff until it is back")
        return True

    def recovered(self) -> bool:
        """Record success; the first after an outage is logged with its length. Returns True then."""
        if self.since is None:  # the common case, without the lock
            return False
        with self._lock:
            if self.since is None:
                return False
            now = time.monotonic()
            lasted, failures = now - self.since, self.failures
            self._back = (now, self.since)
            self.since, self.failures = None, 0
        self.log.warning("%s is back after %.1f s (%s failed attempt(s))", self.service, lasted, failures)
        return True


# One per process and service: the webhooks, the worker and the scheduler of one process share them.
DATABASE = Outage("the database")
REDIS = Outage("Redis")


def outage_for(error: BaseException) -> Outage | None:
    """The process's :class:`Outage` for the service ``error`` says is away, else None."""
    service = service_unavailable(error)
    return DATABASE if service == "the database" else REDIS if service == "Redis" else None


def delays(first: float = FIRST_DELAY, cap: float = MAX_DELAY) -> Iterator[float]:
    """0.5, 1, 2, 4 ... up to ``cap`` seconds, forever."""
    delay = first
    while True:
        yield delay
        delay = min(cap, delay * 2)


def wait_until(check: Callable[[], Any], outage: Outage, stop: threading.Event | None = None,
               cap: float = MAX_DELAY, doing: str = "") -> bool:
    """Call ``check`` until it returns without an outage error, waiting with backoff in between.

    Returns True once it succeeded, False when ``stop`` was set first. An error that is not an outage (a
    bug, a bad configuration) is raised at once.
    """
    stop = stop or threading.Event()
    for delay in delays(cap=cap):
        try:
            check()
        except Exception as error:  # noqa: BLE001 - sorted below: an outage waits, anything else is raised
            if service_unavailable(error) is None:
                raise
            outage.failed(error, doing)
        else:
            outage.recovered()
            return True
        if stop.wait(delay):
            return False
    return False  # pragma: no cover - delays() never ends


def ping_database(db: Any) -> None:
    """One ``SELECT 1`` on a fresh checkout; raises when the database cannot be reached."""
    with db.engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")


def wait_for_database(db: Any, stop: threading.Event | None = None, doing: str = "waiting for it") -> bool:
    """Block until the database answers (a worker or ``sambat up`` started while PostgreSQL is down)."""
    return wait_until(lambda: ping_database(db), DATABASE, stop, doing=doing)


def wait_for_redis(connection: Any, stop: threading.Event | None = None, doing: str = "waiting for it") -> bool:
    """Block until Redis answers PING."""
    return wait_until(connection.ping, REDIS, stop, doing=doing)
