"""Declarative base, column types shared by every table, and the database handle."""

from __future__ import annotations

import logging
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

        For the webhooks' hot path: one INSERT is one round trip, with no BEGIN and COMMIT around it.
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

    def dispose(self) -> None:
        self.engine.dispose()


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
