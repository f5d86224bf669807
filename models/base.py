"""Declarative base, column types shared by every table, and the database handle."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import JSON, DateTime, MetaData, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)
T = TypeVar("T")
DRIVER_IDLE = 8  # idle connections driver_autocommit keeps at most (one per thread that uses it at once)

# Stable constraint names, so Alembic migrations work the same on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

JSONType = JSON().with_variant(JSONB(), "postgresql")


def upsert_insert(dialect: str) -> Callable[..., Any]:
    """The dialect's own ``insert`` (PostgreSQL or SQLite), the one with ``on_conflict_do_nothing``/``_update``."""
    return postgresql_insert if dialect == "postgresql" else sqlite_insert


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use models.utcnow() or an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Base class of every Sambat table."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Database:
    """An engine and its session factory, built once per process from a URL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # PostgreSQL through psycopg: the webhooks' INSERT may run on the driver itself (driver_autocommit).
        self.driver = self.engine.dialect.driver if self.engine.dialect.name == "postgresql" else None
        # (connection, owner: _driver_owner() when it was taken), newest last
        self._driver_idle: list[tuple[Any, tuple[int, Engine, int]]] = []
        self._driver_generation = 0
        self._driver_lock = threading.Lock()

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that rolls back on error and always closes."""
        session = self.sessions()
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def autocommit(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` on a connection in autocommit mode: each statement is committed when it returns.

        For short writes committed at once (a webhook's INSERT on SQLite, a phone's stamp): one statement is one
        round trip, with no BEGIN and COMMIT around it.
        Connections are not pinged before use (see :func:`make_engine`), so a connection that died
        (the database restarted) fails here once; the pool is then invalidated and ``work`` runs once
        more on a fresh connection. ``work`` must therefore be safe to run twice.
        """
        for attempt in (1, 2):
            try:
                with self.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                    return work(connection)
            except DBAPIError as error:
                if attempt == 2 or not error.connection_invalidated:
                    raise
                log.warning("database connection lost (%s); retrying on a new connection", error.orig)
        raise AssertionError("unreachable")

    def driver_autocommit(self, work: Callable[[Any], T], statement: str) -> T:
        """Run ``work`` on a psycopg connection of the driver's own, in autocommit mode (PostgreSQL only).

        For the webhooks' hot path, where SQLAlchemy's statement execution (the execution context, its bind and
        result processing, the pool's checkout and the autocommit toggle around it) cost more CPU than the INSERT
        itself (bench/RESULTS.md). The connections are opened with the engine's own connect arguments, outside
        its pool, and kept in a small stack of their own (:data:`DRIVER_IDLE` idle at most): one per thread that
        uses them at once, whether a server keeps its threads (gunicorn) or starts one per request (``sambat up``).
        Errors come out as SQLAlchemy's (``DBAPIError.instance``, with ``statement`` named), so callers tell an
        outage from a bug as for any other statement; a connection that was lost (the database restarted) is
        dropped, the engine's pool renewed, and ``work`` runs once more on a new connection, as in
        :meth:`autocommit`: ``work`` must be safe to run twice.
        """
        if self.driver != "psycopg":
            raise RuntimeError(f"driver_autocommit needs PostgreSQL through psycopg, not {self.engine.dialect.name}")
        dbapi = self.engine.dialect.loaded_dbapi
        for attempt in (1, 2):
            connection = None
            try:
                connection, owner = self._take_driver_connection()
                outcome = work(connection)
            except dbapi.Error as error:
                lost = connection is None or connection.broken or connection.closed
                if connection is not None:
                    if lost:
                        _close(connection)
                        # The database restarted: the pool's connections are dead too. A new pool, as SQLAlchemy
                        # does when it meets a lost connection (the old one's are dropped as they come back).
                        self.engine.dispose(close=False)
                    else:
                        self._give_back(connection, owner)
                if attempt == 1 and connection is not None and lost:
                    log.warning("database connection lost (%s); retrying on a new connection", error)
                    continue
                raise DBAPIError.instance(statement, None, error, dbapi.Error, connection_invalidated=lost,
                                          dialect=self.engine.dialect) from error
            except BaseException:
                if connection is not None:
                    _close(connection)  # in an unknown state (an error in Python, a timeout): not reused
                raise
            self._give_back(connection, owner)
            return outcome
        raise AssertionError("unreachable")

    def _driver_owner(self) -> tuple[int, Engine, int]:
        """Whose idle connections are good: this process, this engine, since the last dispose()."""
        return os.getpid(), self.engine, self._driver_generation

    def _take_driver_connection(self) -> tuple[Any, tuple[int, Engine, int]]:
        owner = self._driver_owner()
        with self._driver_lock:
            while self._driver_idle:
                connection, idle_owner = self._driver_idle.pop()
                if idle_owner == owner:
                    return connection, owner
                if idle_owner[0] == owner[0]:  # another engine of this process: close it (a parent's: leave it)
                    _close(connection)
        arguments, options = self.engine.dialect.create_connect_args(self.engine.url)
        return self.engine.dialect.loaded_dbapi.connect(*arguments, **options, autocommit=True), owner

    def _give_back(self, connection: Any, owner: tuple[int, Engine, int]) -> None:
        with self._driver_lock:
            if owner == self._driver_owner() and len(self._driver_idle) < DRIVER_IDLE:
                self._driver_idle.append((connection, owner))
                return
        _close(connection)

    def dispose(self) -> None:
        """Close the connections: the engine's pool and the driver's idle ones (those in use close as they are
        given back)."""
        with self._driver_lock:
            idle, self._driver_idle = self._driver_idle, []
            self._driver_generation += 1
        for connection, owner in idle:
            if owner[0] == os.getpid():
                _close(connection)
        self.engine.dispose()


def _close(connection: Any) -> None:
    try:
        connection.close()
    except Exception:  # noqa: BLE001 - closing what may be broken already
        pass


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and foreign keys so threads can share it."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    # No pre-ping: it costs a round trip on every checkout, a fifth of a webhook's database time
    # (bench/RESULTS.md). A connection that died is found on first use instead; SQLAlchemy then
    # invalidates the whole pool, so each process sees one error per database restart: the webhook
    # retries it (Database.autocommit), jobs are retried by the scheduler's sweep, and the web app
    # answers 503 (gateway/app.py). Idle connections are recycled before servers or firewalls drop them.
    return create_engine(url, pool_size=5, max_overflow=10, pool_recycle=1800)
