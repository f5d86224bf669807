"""The outside services' addresses: DATABASE_URL, REDIS_URL and SECRET_KEY, checked as text (no connection).

Each check returns the value or raises ``ValueError`` with one sentence saying what is wrong and how it should
look; the settings model prefixes it with the variable's name. Whether the services answer is checked when a
command starts them (``sambat up``), in :mod:`gateway.cli.common`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

DATABASE_EXAMPLES = "postgresql+psycopg://user:password@host:5432/sambat or sqlite:///path/to/sambat.sqlite3"
REDIS_EXAMPLE = "redis://host:6379/0"
MIN_SECRET_KEY = 32


def mask_url(url: str) -> str:
    """The URL with any password replaced by ****."""
    return re.sub(r"(//[^:/@]+:)[^@]+@", r"\1****@", url)


def check_database_url(value: str) -> str:
    """A SQLAlchemy URL of PostgreSQL (with an installed driver) or SQLite."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    shown = mask_url(value)
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme == "postgres":
        fixed = mask_url("postgresql+psycopg://" + value.split("://", 1)[1])
        raise ValueError(f"postgres:// is not a scheme SQLAlchemy knows; write {fixed}")
    try:
        url = make_url(value)
    except ArgumentError:
        raise ValueError(f"{shown!r} is not a database URL; use {DATABASE_EXAMPLES}") from None
    backend = url.get_backend_name()
    if backend not in ("postgresql", "sqlite"):
        raise ValueError(f"{scheme or backend}:// is not a database Sambat runs on; use {DATABASE_EXAMPLES}")
    try:
        url.get_dialect().import_dbapi()
    except NoSuchModuleError:
        raise ValueError(f"{url.drivername}: unknown driver; use {DATABASE_EXAMPLES}") from None
    except ImportError as exc:
        raise ValueError(f"{url.drivername}: its driver is not installed ({exc}); use postgresql+psycopg://") \
            from None
    if backend == "postgresql" and not url.database:
        raise ValueError(f"{shown!r} names no database; add it after the host, e.g. .../sambat")
    return value


def check_redis_url(value: str) -> str:
    """redis://, rediss:// or unix:// with a numeric port and database, as redis-py reads it."""
    shown = mask_url(value)
    parts = urlsplit(value)
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValueError(f"{shown!r} is not a Redis URL (it must start with redis://, rediss:// or unix://); "
                         f"e.g. {REDIS_EXAMPLE}")
    if parts.scheme != "unix":
        if not parts.hostname:
            raise ValueError(f"{shown!r} names no host; e.g. {REDIS_EXAMPLE}")
        try:
            parts.port  # noqa: B018 - urlsplit checks the port when it is read
        except ValueError:
            raise ValueError(f"{shown!r}: the port must be a number from 1 to 65535; e.g. {REDIS_EXAMPLE}") \
                from None
        database = parts.path.strip("/")
        if database and not database.isdigit():
            raise ValueError(f"{shown!r}: the database after the last / must be a number, got {database!r}; "
                             f"e.g. {REDIS_EXAMPLE}")
    from redis import Redis

    try:
        Redis.from_url(value)
    except ValueError as exc:
        raise ValueError(f"{shown!r}: {exc}; e.g. {REDIS_EXAMPLE}") from None
    return value


def check_secret_key(value: str) -> str:
    """At least 32 characters (the value itself is never repeated in the message)."""
    if len(value) < MIN_SECRET_KEY:
        raise ValueError(f"too short ({len(value)} characters); it signs the console's sessions, so use at least "
                         f"{MIN_SECRET_KEY} random characters, e.g. the output of "
                         f"python3 -c 'import secrets; print(secrets.token_urlsafe(48))'")
    return value
