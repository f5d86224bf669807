"""Shared fixtures: the real PostgreSQL and Redis, two stacks, the app, signed Twilio requests.

The pipeline runs for real: on PostgreSQL with rq on Redis (jobs worked by rq's SimpleWorker in burst
mode), and on SQLite with the embedded queue. An unreachable PostgreSQL or Redis fails the run, in CI
and everywhere else; `scripts/test` says how to start them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from argon2 import PasswordHasher
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from sqlalchemy import create_engine, make_url, text
from twilio.request_validator import RequestValidator

from gateway.app import create_app
from gateway.jobs.queue import EmbeddedQueue, RQQueue
from gateway.runtime import Runtime
from gateway.settings import Settings, load_settings
from gateway.web import auth
from models import Base
from models.migrate import upgrade
from tests.support.live import browser_page, chromium, live_app  # noqa: F401 - fixtures
from tests.support.twilio_standin import TwilioStandIn, twilio_standin  # noqa: F401 - a fixture

ROOT = Path(__file__).resolve().parent.parent
# The suite runs on several processes (pytest-xdist, scripts/test): each worker (gw0, gw1 ...) has its own
# database beside the named one ("test_gw1") and its own Redis database (the named number plus the worker's).
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
PG_BASE_URL = os.environ.get("SAMBAT_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REDIS_BASE_URL = os.environ.get("SAMBAT_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def _redis_database(redis_url: str) -> tuple[str, int | None]:
    """The Redis URL without its database number, and the number (None when it names none)."""
    base, _, number = redis_url.rstrip("/").rpartition("/")
    return base, int(number) if number.isdigit() else None


def _per_worker(pg_url: str, redis_url: str, worker: str) -> tuple[str, str]:
    """This worker's PostgreSQL and Redis URLs: the named ones for a run on one process. That every worker has a
    Redis database is checked before any starts (:func:`pytest_configure`)."""
    if not worker:
        return pg_url, redis_url
    number = int(worker.removeprefix("gw"))
    database = make_url(pg_url)
    redis_base, first = _redis_database(redis_url)  # no number: one process only (pytest_configure), as named
    return (database.set(database=f"{database.database}_{worker}").render_as_string(hide_password=False),
            redis_url if first is None else f"{redis_base}/{first + number}")


PG_URL, REDIS_URL = _per_worker(PG_BASE_URL, REDIS_BASE_URL, WORKER)
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "f0e1d2c3b4a5968778695a4b3c2d1e0f"
PUBLIC_URL = "https://sambat.example.go.id"
CITY_NUMBER = "+15005550006"

# Test-only: console passwords are hashed in this process with argon2id at its smallest cost. Production's hasher
# (argon2-cffi's defaults: 64 MiB, 3 passes, 4 lanes) takes about 0.16 s a hash or a check on this machine, and
# the console fixtures hash four users and log in again for every test on both stacks. The algorithm, the salts
# and every check of a password are the same; `sambat` processes started by tests keep production's cost, and
# tests/gateway/web/admin/test_auth.py::test_sambat_users_add checks that their hashes carry it.
auth.hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def _check_services() -> list[str]:
    problems = []
    try:
        with create_engine(PG_URL).connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - report any failure to connect
        problems.append(f"PostgreSQL at {PG_URL}: {type(exc).__name__}: {str(exc).splitlines()[0]}")
    try:
        Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        problems.append(f"Redis at {REDIS_URL}: {type(exc).__name__}: {exc}")
    return problems


def pytest_configure(config: pytest.Config) -> None:
    """More processes than Redis databases above SAMBAT_TEST_REDIS_URL's: one line naming the variable, at once."""
    workers = len(getattr(config.option, "tx", None) or ())  # xdist's processes, "-n auto" already counted
    _, first = _redis_database(REDIS_BASE_URL)
    if workers > 1 and (first is None or first + workers - 1 > 15):
        raise pytest.UsageError(f"SAMBAT_TEST_REDIS_URL ({REDIS_BASE_URL}) must end in a database number that "
                                f"leaves one for each of the {workers} processes below 16 (Redis has 0-15): name a "
                                f"lower one, e.g. redis://127.0.0.1:6379/{16 - workers}, or run fewer processes")


def _create_worker_database() -> None:
    """A worker's own database, created beside the named one the first time (the server's own ``postgres``
    database is where CREATE DATABASE is sent from)."""
    url = make_url(PG_URL)
    try:
        engine = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            if connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}) \
                    is None:
                connection.execute(text(f'CREATE DATABASE "{url.database}"'))
        engine.dispose()
    except Exception:  # noqa: BLE001 - the services check below says what is unreachable
        pass


def pytest_sessionstart(session: pytest.Session) -> None:
    """Fail at once (never skip) when the real services are not there."""
    if WORKER:
        _create_worker_database()
    problems = _check_services()
    if problems:
        hint = ("Start them: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start; "
                "redis-server --daemonize yes --port 6379 --save '' --appendonly no  (or run scripts/test, "
                "which starts throwaway ones from the binaries on PATH)")
        where = "CI" if os.environ.get("CI") else "this machine"
        pytest.exit(f"required services unreachable on {where}:\n  " + "\n  ".join(problems) + f"\n{hint}",
                    returncode=3)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ANN201
    """Keep each phase's report on the test item, so fixtures can tell a failed test (screenshots)."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


# --- databases --------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The test PostgreSQL database, emptied and migrated to head once per session."""
    engine = create_engine(PG_URL)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(PG_URL)
    return PG_URL


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file migrated to head once per session."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'sambat.sqlite3'}"
    upgrade(url)
    return url


def _empty_tables(url: str) -> None:
    """Delete every row, children first, and start the ids at 1 again.

    On PostgreSQL, DELETE and ALTER SEQUENCE ... RESTART rather than TRUNCATE: the tables of a test hold a few
    rows, and TRUNCATE of the 19 tables takes about 0.06 s (0.2 s on a busy machine; it makes new files for each
    table and waits for an exclusive lock on all of them) against 0.003 s, after each of the suite's several
    hundred tests on PostgreSQL.
    """
    engine = create_engine(url)
    tables = [table.name for table in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as connection:
        if url.startswith("postgresql"):
            sequences = connection.scalars(text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public'"))
            # One statement, so that the foreign keys are checked once every table is empty (inbound_messages and
            # complaints name each other).
            *first, last = tables
            deletes = ", ".join(f"d{number} AS (DELETE FROM {table})" for number, table in enumerate(first))
            connection.execute(text(f"WITH {deletes} DELETE FROM {last}; "
                                    + "; ".join(f"ALTER SEQUENCE {name} RESTART" for name in sequences)))
        else:
            connection.execute(text("PRAGMA foreign_keys=OFF"))
            for table in tables:
                connection.execute(text(f"DELETE FROM {table}"))
    engine.dispose()


# --- settings and the app ---------------------------------------------------------------------------


def make_settings(database_url: str, twilio_base_url: str | None = None, **overrides: Any) -> Settings:
    """Settings from the shipped config.yaml, with test credentials and the given database."""
    environ = {
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-of-at-least-32-characters",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "SAMBAT_PUBLIC_URL": PUBLIC_URL,
        "SAMBAT_TWILIO_FROM": CITY_NUMBER,
        "SAMBAT_SEND_TIMEOUT": "2",
        # Most tests file complaints with no console users: let the router assign as before. The hold (an agency
        # with no active user gets nothing) is tested with hold_without_users=True in tests/gateway/web/admin.
        "SAMBAT_HOLD_WITHOUT_USERS": "false",
    }
    settings = load_settings(environ=environ, config_path=str(ROOT / "config.yaml"))
    # Tests text from and to numbers of many countries (Twilio's own examples are American), and send more
    # than a day's worth to one number: the SMS-pumping limits are tested where they are set on purpose.
    # The stand-in's URL (a new port for each test) is an override, not SAMBAT_TWILIO_API_BASE_URL in the
    # environment: load_settings then finds the file and environment it read for the previous test in its cache
    # (0.04 s a test instead of parsing config.yaml again). Jobs look at once: a woken job's wait for more
    # messages (jobs.batch_wait) is tested where it is set.
    overrides = {"sms__allowed_regions": ("*",), "sms__per_number_daily": 10_000, "sms__daily_budget": 1_000_000,
                 "jobs__batch_wait": 0,
                 **({"sms__twilio_api_base_url": twilio_base_url} if twilio_base_url else {}), **overrides}
    return settings.with_overrides(**overrides)


@dataclass
class Stack:
    """An app with its runtime and a way to work every queued job, on one of the two stacks."""

    name: str
    app: Flask
    runtime: Runtime

    @property
    def client(self) -> FlaskClient:
        return self.app.test_client()

    def work(self) -> None:
        """Run queued jobs until none are left (jobs enqueue further jobs: sends after processing)."""
        queue = self.runtime.queue
        with self.app.app_context():
            if isinstance(queue, RQQueue):
                from rq import SimpleWorker

                SimpleWorker(queue.ordered, connection=queue.connection).work(burst=True, logging_level="WARNING")
                failed = [q.fetch_job(job_id) for q in queue.ordered for job_id in q.failed_job_registry.get_job_ids()]
                assert not failed, "rq jobs failed:\n" + "\n".join(
                    f"{job.id if job else '?'} {job.func_name if job else ''}: {job.exc_info if job else ''}"
                    for job in failed)
            else:
                while queue.run_pending():
                    pass


def _stack(name: str, url: str, standin: TwilioStandIn, **overrides: Any) -> Stack:
    """An app on ``url`` with its queue, both empty: whatever a test before left (its rows, its jobs) is gone, so
    no test's outcome depends on which ran before it (the order differs from run to run on several processes)."""
    _empty_tables(url)
    settings = make_settings(url, standin.base_url, **overrides)
    if name == "postgres":
        queue = RQQueue(REDIS_URL, name="sambat-test")
        queue.connection.flushdb()
    else:
        queue = EmbeddedQueue()
    app = create_app(settings, queue=queue, start_embedded=False)
    app.config["TESTING"] = True
    return Stack(name=name, app=app, runtime=app.extensions["sambat"])


@pytest.fixture(params=["postgres", "sqlite"])
def stack(request: pytest.FixtureRequest, twilio_standin: TwilioStandIn) -> Iterator[Stack]:  # noqa: F811
    """The whole pipeline: PostgreSQL + rq on Redis, then SQLite + the embedded queue."""
    url = request.getfixturevalue(f"{request.param}_url")
    built = _stack(request.param, url, twilio_standin)  # emptied first: a job would file what another test left
    yield built
    built.runtime.db.dispose()
    if isinstance(built.runtime.queue, RQQueue):
        built.runtime.queue.connection.flushdb()
    _empty_tables(url)


# --- signed Twilio requests -------------------------------------------------------------------------


def twilio_signature(url: str, params: dict[str, Any], token: str = AUTH_TOKEN) -> str:
    """X-Twilio-Signature as Twilio computes it (twilio's own RequestValidator)."""
    return RequestValidator(token).compute_signature(url, params)


def post_twilio(client: FlaskClient, path: str, params: dict[str, Any], *, signature: str | None = None,
                sign_url: str | None = None, token: str = AUTH_TOKEN) -> Any:
    """POST a form to a webhook the way Twilio does, signed over the public URL unless told otherwise."""
    url = sign_url or PUBLIC_URL + path
    headers = {"X-Twilio-Signature": signature if signature is not None else twilio_signature(url, params, token)}
    if signature == "":
        headers = {}
    return client.post(path, data=urlencode(params, doseq=True), headers=headers,
                       content_type="application/x-www-form-urlencoded")
