"""Outages for tests: a runtime whose database is away, and private servers a test may stop and restart.

The shared PostgreSQL and Redis are never stopped (RULES.md): a test that restarts a server starts its own
redis-server or PostgreSQL (initdb into a temporary directory) on a free port.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from redis import Redis
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from gateway.jobs.reconnect import DATABASE, REDIS

PG_BIN = Path("/usr/lib/postgresql/15/bin")
NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"  # nothing listens on port 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def reset_outages() -> None:
    """Forget what this process saw of outages (each test starts with every service up)."""
    for outage in (DATABASE, REDIS):
        outage.since, outage.failures = None, 0


@contextmanager
def database_down(runtime: Any) -> Iterator[None]:
    """The runtime's database unreachable (connection refused) for the block, as when PostgreSQL is down."""
    db = runtime.db
    engine, sessions = db.engine, db.sessions
    db.engine = create_engine(NOWHERE)
    db.sessions = sessionmaker(db.engine, expire_on_commit=False)
    try:
        yield
    finally:
        db.engine.dispose()
        db.engine, db.sessions = engine, sessions


def _wait(check: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.1)
    raise TimeoutError(f"{what} did not come up in {timeout} s")


class PrivateRedis:
    """A redis-server of the test's own, with the AOF on (fsync every second), as production runs it."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.port = directory, free_port()
        self.process: subprocess.Popen[bytes] | None = None
        directory.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _wait(lambda: Redis(port=self.port, socket_connect_timeout=0.5).ping(), f"redis-server on {self.port}")
        return self

    def stop(self) -> None:
        """SIGTERM: Redis writes out its AOF and exits, as on a restart."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)
        self.process = None

    def kill(self) -> None:
        """SIGKILL: a crash; what was fsynced to the AOF survives."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=30)
        self.process = None


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (initdb in a temporary directory), run as the postgres user."""

    def __init__(self, directory: Path) -> None:
        self.directory, self.port = directory, free_port()
        self.data = directory / "data"

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _as_postgres(self, *command: str) -> list[str]:
        return list(command) if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--", *command]

    def init(self) -> PrivatePostgres:
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
            self.directory.parent.chmod(0o755)
        subprocess.run(self._as_postgres(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                                         "--auth=trust", "--no-sync", "-E", "UTF8"),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return self

    def start(self) -> PrivatePostgres:
        subprocess.run(self._as_postgres(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "log"), "-w", "-o",
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off", "start"),
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        engine = create_engine(self.url)
        try:
            _wait(lambda: engine.connect().close() is None, f"PostgreSQL on {self.port}")
        finally:
            engine.dispose()
        return self

    def stop(self) -> None:
        subprocess.run(self._as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop"),
                       check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextmanager
def private_redis(directory: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(directory).start()
    try:
        yield server
    finally:
        server.kill()


@contextmanager
def private_postgres(started: bool = True) -> Iterator[PrivatePostgres]:
    """A fresh cluster in its own directory under /tmp (pytest's tmp_path is private to root, and the server
    runs as the postgres user)."""
    directory = Path(tempfile.mkdtemp(prefix="sambat-pg-"))
    server = PrivatePostgres(directory / "cluster").init()
    if started:
        server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
