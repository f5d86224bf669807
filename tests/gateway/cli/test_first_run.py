"""A first run that guides: every mistake with DATABASE_URL, REDIS_URL, SECRET_KEY or the port is one line
naming what to fix, never a traceback; `sambat up` says it is up only once it answers, with the URLs, and the
command for the first super-admin until one exists."""

from __future__ import annotations

import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.request import urlopen

import pytest
from sqlalchemy.engine import make_url

from tests.conftest import PG_URL, ROOT
from tests.support.live import SAMBAT, Up, clean_env, free_port

PG = make_url(PG_URL)
PG_SERVER = f"postgresql+psycopg://{PG.username}@{PG.host}:{PG.port or 5432}"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "config.yaml", tmp_path / "config.yaml")
    return tmp_path


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port some other program listens on."""
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen(1)
        yield other.getsockname()[1]


def up_once(workdir: Path, port: int, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SAMBAT, "up", "--port", str(port)], cwd=workdir, env=clean_env(**env),
                          capture_output=True, text=True, timeout=60)


CLOSED = free_port()  # nothing listens here (a PostgreSQL or Redis that is not running)

# (environment, the words the one line must hold)
FIRST_RUN_MESSAGES = [
    ({"DATABASE_URL": f"postgres://{PG.username}@{PG.host}:{PG.port or 5432}/sambat"},
     ["DATABASE_URL", "postgres:// is not a scheme SQLAlchemy knows",
      f"write postgresql+psycopg://{PG.username}@{PG.host}:{PG.port or 5432}/sambat"]),
    ({"DATABASE_URL": "postgres://sambat:hunter2secret@db.example/sambat"},
     ["DATABASE_URL", "postgresql+psycopg://sambat:****@db.example/sambat"]),
    ({"DATABASE_URL": "mysql://root@127.0.0.1/sambat"},
     ["DATABASE_URL", "mysql:// is not a database Sambat runs on", "postgresql+psycopg://", "sqlite:///"]),
    ({"DATABASE_URL": "127.0.0.1:5432/sambat"}, ["DATABASE_URL", "is not a database URL"]),
    ({"DATABASE_URL": "postgresql+psycopg2://127.0.0.1/sambat"}, ["DATABASE_URL", "driver is not installed"]),
    ({"DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:{CLOSED}/sambat"},
     ["DATABASE_URL", f"nothing answers at 127.0.0.1:{CLOSED}", "is PostgreSQL running there?"]),
    ({"DATABASE_URL": "postgresql+psycopg://postgres@no-such-host.invalid/sambat"},
     ["DATABASE_URL", "the host 'no-such-host.invalid' is unknown"]),
    ({"DATABASE_URL": f"{PG_SERVER}/sambat_no_such_database"},
     ["DATABASE_URL", "there is no database 'sambat_no_such_database'", "createdb sambat_no_such_database"]),
    ({"DATABASE_URL": "sqlite:////nowhere/at/all/sambat.sqlite3"},
     ["DATABASE_URL", "the directory /nowhere/at/all does not exist"]),
    ({"REDIS_URL": f"redis://127.0.0.1:{CLOSED}/8"},
     ["REDIS_URL", f"redis://127.0.0.1:{CLOSED}/8", "connection refused", "is Redis running?"]),
    ({"REDIS_URL": "127.0.0.1:6379"}, ["REDIS_URL", "is not a Redis URL", "redis://"]),
    ({"REDIS_URL": "redis://127.0.0.1:port/0"}, ["REDIS_URL", "the port must be a number"]),
    ({"REDIS_URL": "redis://127.0.0.1:6379/eight"}, ["REDIS_URL", "the database after the last / must be a number"]),
    ({"SECRET_KEY": "rahasia"}, ["SECRET_KEY", "too short (7 characters)", "at least 32"]),
    ({"SECRET_KEY": "x" * 31}, ["SECRET_KEY", "too short (31 characters)"]),
]
IDS = ["postgres://", "postgres:// password masked", "unknown scheme", "not a URL", "driver not installed",
       "unreachable PostgreSQL", "unknown host", "wrong database name", "no such directory",
       "unreachable Redis", "Redis without scheme", "Redis port not a number", "Redis database not a number",
       "short SECRET_KEY", "SECRET_KEY one short"]


@pytest.mark.slow
@pytest.mark.parametrize(("env", "words"), FIRST_RUN_MESSAGES, ids=IDS)
def test_a_bad_setting_is_one_line_naming_it(workdir: Path, env: dict[str, str], words: list[str]) -> None:
    result = up_once(workdir, free_port(), **env)
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    for word in words:
        assert word in line, line
    assert "Traceback" not in result.stdout + result.stderr
    assert "hunter2secret" not in result.stdout + result.stderr
    assert "Sambat is up" not in result.stdout


@pytest.mark.slow
def test_a_busy_port_is_one_line(workdir: Path, busy_port: int) -> None:
    result = up_once(workdir, busy_port)
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert f"--port {busy_port}: 127.0.0.1:{busy_port} is already in use" in line
    assert f"sambat up --port {busy_port + 1}" in line
    assert "Traceback" not in result.stdout + result.stderr and "Sambat is up" not in result.stdout


@pytest.mark.parametrize("command", [("config", "check"), ("web",), ("db", "upgrade")])
def test_a_short_secret_key_is_refused_by_every_command(workdir: Path, command: tuple[str, ...]) -> None:
    result = subprocess.run([SAMBAT, *command], cwd=workdir, capture_output=True, text=True, timeout=60,
                            env=clean_env(SECRET_KEY="too-short", DATABASE_URL=f"sqlite:///{workdir}/x.db"))
    assert result.returncode != 0 and "SECRET_KEY" in result.stderr and "too short" in result.stderr
    assert "too-short" not in result.stderr + result.stdout  # the secret itself is never printed


def test_a_long_secret_key_is_taken(workdir: Path) -> None:
    result = subprocess.run([SAMBAT, "config", "check"], cwd=workdir, capture_output=True, text=True, timeout=60,
                            env=clean_env(SECRET_KEY="k" * 32))
    assert result.returncode == 0, result.stderr


URLS = ["complaint form:  http://127.0.0.1:{port}/aduan", "ticket lookup:   http://127.0.0.1:{port}/tiket",
        "console:         http://127.0.0.1:{port}/admin", "transparency:    http://127.0.0.1:{port}/transparansi"]
FIRST_ADMIN = "users add you@example.go.id --role super-admin"


@pytest.mark.slow
def test_up_prints_the_urls_and_the_first_super_admin_command_until_one_exists(workdir: Path) -> None:
    port = free_port()
    first = Up(workdir, port, {})
    try:
        output = first.wait_for_output("Sambat is up", timeout=60)
        # It said so only after its own /healthz answered (the access log line comes first).
        assert output.index('"GET /healthz HTTP/1.1" 200') < output.index("Sambat is up")
        with urlopen(first.url("/healthz"), timeout=5) as response:
            assert response.status == 200
        output = first.wait_for_output(FIRST_ADMIN)
        for url in URLS:
            assert url.format(port=port) in output
        assert f"{SAMBAT} {FIRST_ADMIN}" in output or f"sambat {FIRST_ADMIN}" in output
        with urlopen(first.url("/"), timeout=5) as response:  # the home page, not a 404
            assert response.status == 200 and "/transparansi" in response.read().decode()
    finally:
        first.stop()

    added = subprocess.run([SAMBAT, "users", "add", "kominfo@malangkota.go.id", "--role", "super-admin"],
                           cwd=workdir, env=clean_env(SAMBAT_NEW_PASSWORD="kata-sandi-rahasia-42"),
                           capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr

    port = free_port()
    second = Up(workdir, port, {})
    try:
        output = second.wait_for_output(URLS[-1].format(port=port), timeout=60)
        second.wait_for_output("Sambat is up")
        assert "super-admin" not in output
    finally:
        second.stop()
    assert "super-admin" not in second.output()


@pytest.mark.parametrize("command", [("db", "upgrade"), ("users", "add", "a@malangkota.go.id", "--role", "viewer"),
                                     ("sms", "081234567890", "jalan rusak")], ids=["db upgrade", "users add", "sms"])
def test_other_commands_name_an_unreachable_database_too(workdir: Path, command: tuple[str, ...]) -> None:
    result = subprocess.run([SAMBAT, *command], cwd=workdir, capture_output=True, text=True, timeout=60,
                            env=clean_env(DATABASE_URL=f"{PG_SERVER}/sambat_no_such_database",
                                          SAMBAT_NEW_PASSWORD="kata-sandi-rahasia-42"))
    assert result.returncode != 0
    [line] = result.stderr.strip().splitlines()
    assert "DATABASE_URL" in line and "there is no database 'sambat_no_such_database'" in line
    assert "Traceback" not in result.stdout + result.stderr
