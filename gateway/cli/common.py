"""What every ``sambat`` command shares: the settings, checked once, and the embedded defaults of ``sambat up``."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import click

from gateway.observability import configure_logging, use_directory
from gateway.settings import ConfigError, Settings, load_settings

DEFAULT_SQLITE = "instance/sambat.sqlite3"


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as error:
        raise click.ClickException(f"configuration error: {error}") from None

def _configure_logging(level: str = "INFO") -> None:
    """Logging as ``observability.log_format`` says (SAMBAT_LOG_FORMAT=json: one JSON object per line)."""
    configure_logging(_settings().observability.log_format, level)


def _count_into_shared_directory(settings: Settings) -> None:
    """Web, workers and scheduler of this host count into one directory, added up by ``GET /metrics``."""
    use_directory(settings.observability.metrics_dir)

def private_dir(path: Path, tighten: bool = True) -> Path:
    """A directory only its owner can enter (0700) when new; with ``tighten``, an existing one of this user's
    is made so too (instance/, left 0755 by an older version)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if tighten:
        _tighten(path, 0o700)
    return path


def private_file(path: Path, tighten_dir: bool = True) -> Path:
    """A file only its owner can read (0600), created empty that way when missing, so it is never world-readable,
    not even for a moment (the SQLite database, the instance secret); SQLite gives its journal files the
    database file's permissions."""
    private_dir(path.parent, tighten=tighten_dir)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    _tighten(path, 0o600)
    return path


def _tighten(path: Path, mode: int) -> None:
    """Take group and other permissions away from a path this user owns."""
    info = path.stat()
    if info.st_uid == os.getuid() and info.st_mode & 0o077:
        path.chmod(mode)


def _instance_secret() -> str:
    """A SECRET_KEY kept in instance/ so sessions survive a restart of ``sambat up``."""
    path = Path("instance/secret_key")
    if path.exists() and path.read_text().strip():
        private_file(path)
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    private_file(path).write_text(key)
    return key

def _with(settings: Settings, **overrides: object) -> Settings:
    try:
        return settings.with_overrides(**overrides)
    except ConfigError as error:
        raise click.ClickException(f"configuration error: {error}") from None

def _local_settings() -> Settings:
    """Settings with the embedded defaults filled in: a SQLite file and an instance secret."""
    settings = _settings()
    overrides: dict[str, str] = {}
    if not settings.database_url:
        private_file(Path(DEFAULT_SQLITE))  # SQLite then keeps these permissions for its journal files
        overrides["database_url"] = f"sqlite:///{Path(DEFAULT_SQLITE).resolve()}"
    if not settings.secret_key:
        overrides["secret_key"] = _instance_secret()
    return settings.with_overrides(**overrides) if overrides else settings

# --- first run: the services answer, the port is free (one line each, never a traceback) ---------------------


def database_problem(url: str, timeout: int = 5) -> str | None:
    """Why the database at ``url`` cannot be used (one line naming DATABASE_URL), or None when it answers."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from gateway.settings.services import mask_url

    parsed = make_url(url)
    shown = mask_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database
        if path and path != ":memory:" and not Path(path).resolve().parent.is_dir():
            return f"DATABASE_URL: {shown}: the directory {Path(path).resolve().parent} does not exist"
    connect_args = {"connect_timeout": timeout} if parsed.get_backend_name() == "postgresql" else {}
    engine = create_engine(url, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
    except SQLAlchemyError as exc:
        return f"DATABASE_URL: {shown}: {_database_reason(exc, parsed)}"
    finally:
        engine.dispose()
    return None


def _database_reason(exc: Exception, url) -> str:  # noqa: ANN001 - a sqlalchemy URL
    """The driver's complaint in a few words, with what to do about it."""
    text = " ".join(str(getattr(exc, "orig", None) or exc).split())
    lowered = text.lower()
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    if "does not exist" in lowered and "database" in lowered:
        return f"there is no database {url.database!r} on {where} (create it: createdb {url.database})"
    if "password authentication failed" in lowered or "authentication failed" in lowered:
        return f"the server at {where} refused user {url.username!r} (wrong user or password)"
    if "connection refused" in lowered:
        return f"nothing answers at {where} (connection refused: is PostgreSQL running there?)"
    if "could not translate host name" in lowered or "name or service not known" in lowered \
            or "failed to resolve host" in lowered or "nodename nor servname" in lowered:
        return f"the host {url.host!r} is unknown (name not resolved)"
    if "timeout" in lowered or "timed out" in lowered:
        return f"no answer from {where} (timed out)"
    if "unable to open database file" in lowered:
        return "the SQLite file cannot be opened (check the path and its permissions)"
    return text[:300]


def redis_problem(url: str, timeout: float = 3) -> str | None:
    """Why Redis at ``url`` cannot be used (one line naming REDIS_URL), or None when it answers."""
    from redis import Redis
    from redis.exceptions import AuthenticationError, RedisError, ResponseError

    from gateway.settings.services import mask_url

    shown = mask_url(url)
    client = Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
    try:
        client.ping()
    except AuthenticationError:
        return f"REDIS_URL: {shown}: the server refused the password (wrong user or password)"
    except ResponseError as exc:
        if "DB index" in str(exc):
            return f"REDIS_URL: {shown}: the server has no database with that number ({exc})"
        return f"REDIS_URL: {shown}: {exc}"
    except RedisError as exc:
        reason = " ".join(str(exc).split())
        if "refused" in reason.lower():
            reason = "nothing answers there (connection refused: is Redis running?)"
        elif "name or service not known" in reason.lower() or "nodename" in reason.lower():
            reason = "the host is unknown (name not resolved)"
        elif "timeout" in reason.lower() or "timed out" in reason.lower():
            reason = "no answer (timed out)"
        return f"REDIS_URL: {shown}: {reason}"
    finally:
        client.close()
    return None


def listen(host: str, port: int):  # noqa: ANN201 - a listening socket.socket
    """A socket listening on ``host:port``, or a ClickException naming --host/--port and what is wrong."""
    import errno
    import socket

    from werkzeug.serving import get_sockaddr, select_address_family

    try:
        family = select_address_family(host, port)
        address = get_sockaddr(host, port, family)
    except (OSError, UnicodeError) as exc:
        raise click.ClickException(f"--host {host}: not an address of this machine ({exc})") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise click.ClickException(f"--port {port}: {host}:{port} is already in use by another program; "
                                       f"stop it or choose another port (sambat up --port {port + 1})") from None
        if exc.errno == errno.EACCES:
            raise click.ClickException(f"--port {port}: not allowed to listen on {host}:{port} (ports below "
                                       f"1024 need root); choose another, e.g. --port 5000") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise click.ClickException(f"--host {host}: not an address of this machine; use 127.0.0.1 or "
                                       f"0.0.0.0") from None
        raise click.ClickException(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror})") from None
    return sock


def upgrade_database(url: str, revision: str = "heads") -> None:
    """Migrate the database after checking it answers: a bad or unreachable one is one line naming DATABASE_URL."""
    problem = database_problem(url)
    if problem:
        raise click.ClickException(problem)
    from models.migrate import upgrade

    upgrade(url, revision)
