"""The parts the benchmark starts and stops: its own database, gunicorn servers, rq workers.

Everything runs on 127.0.0.1; every process started here is stopped by its own pid in :meth:`Services.stop`.
"""

from __future__ import annotations

import os
import resource
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from redis import Redis

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
ACCOUNT_SID = "AC" + "5a3b" * 8
AUTH_TOKEN = "b3nchb3nchb3nchb3nchb3nchb3nch00"
CITY_NUMBER = "+15005550006"


APP_PATHS = ("gateway", "channels", "models", "router", "config.yaml")


def export_app(revision: str, destination: Path) -> Path:
    """The app's code at a git revision, exported (``git archive``, read-only on the repository).

    Others edit the working tree while this runs; a snapshot keeps the measured code fixed and named.
    """
    destination.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, *APP_PATHS], capture_output=True,
                             check=True)
    subprocess.run(["tar", "-x", "-C", str(destination)], input=archive.stdout, check=True)
    return destination


@dataclass
class Services:
    """Processes and names of one benchmark run."""

    database: str
    redis_url: str
    log_dir: Path
    app_dir: Path = ROOT  # where gateway/, channels/ ... and config.yaml are imported and read from
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def database_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.database}"

    def environment(self, public_url: str, twilio_api_base_url: str) -> dict[str, str]:
        """The environment of the app's processes (web and workers)."""
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "SECRET_KEY": "bench-secret-of-at-least-32-characters",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "SAMBAT_PUBLIC_URL": public_url,
            "SAMBAT_TWILIO_FROM": CITY_NUMBER,
            "SAMBAT_TWILIO_API_BASE_URL": twilio_api_base_url,
            "SAMBAT_CONFIG": str(self.app_dir / "config.yaml"),
            "PYTHONPATH": str(self.app_dir),
        }

    def create_database(self) -> None:
        """Drop and create the benchmark's own database, then migrate it with ``sambat db upgrade``."""
        if self.database in ("test", "postgres") or not self.database.startswith("sambat_bench"):
            raise SystemExit(f"refusing to use database {self.database!r}: its name must start with sambat_bench")
        with psycopg.connect(ADMIN_DSN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{self.database}"')
        subprocess.run([str(VENV_BIN / "sambat"), "db", "upgrade"], cwd=self.app_dir, check=True,
                       capture_output=True,
                       env={**os.environ, "DATABASE_URL": self.database_url, "PYTHONPATH": str(self.app_dir)})

    def drop_database(self) -> None:
        with psycopg.connect(ADMIN_DSN, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def flush_redis(self) -> None:
        Redis.from_url(self.redis_url).flushdb()

    def start(self, name: str, command: list[str], env: dict[str, str], cwd: Path | None = None
              ) -> subprocess.Popen[bytes]:
        """Start a process in its own process group (in ``cwd``, default the app's directory), output to
        ``<log_dir>/<name>.log``."""
        log = (self.log_dir / f"{name}.log").open("wb")
        process = subprocess.Popen(command, cwd=cwd or self.app_dir, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        self.processes[name] = process
        return process

    def start_gunicorn(self, name: str, app: str, port: int, env: dict[str, str], workers: int = 2,
                       pythonpath: Path | None = None, cwd: Path | None = None, threads: int = 1) -> None:
        """gunicorn, ``workers`` processes of ``threads`` threads each (1: sync workers, gunicorn's default; more:
        gthread), no control socket, no access log."""
        extra = ["--pythonpath", str(pythonpath)] if pythonpath else []
        extra += ["--threads", str(threads)] if threads > 1 else []
        self.start(name, [str(VENV_BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
                          "--no-control-socket", *extra, app], env, cwd=cwd)
        wait_for_http(port, self.log_dir / f"{name}.log", timeout=180)  # a loaded machine loads the app slowly

    def start_workers(self, count: int, env: dict[str, str]) -> None:
        for number in range(count):
            self.start(f"worker{number}", [str(VENV_BIN / "sambat"), "worker"], env)

    def stop(self, name: str) -> None:
        """SIGTERM the process group this run started, then SIGKILL it after 10 s."""
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def stop_all(self) -> None:
        for name in list(self.processes):
            self.stop(name)

    def pids(self, name: str) -> list[int]:
        """The pid of a started process and of its children (gunicorn's workers)."""
        process = self.processes[name]
        return [process.pid, *children(process.pid)]


def wait_for_http(port: int, log: Path, timeout: float = 30.0) -> None:
    """Wait until something answers HTTP on ``port``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
                connection.sendall(b"GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                if connection.recv(16).startswith(b"HTTP/"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"nothing answered on 127.0.0.1:{port} within {timeout:.0f} s; see {log}")


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat[stat.rindex(")") + 2:].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by these processes (those still alive)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def machine_busy_seconds() -> float:
    """CPU seconds all cores spent busy since boot (everything but idle and iowait, from /proc/stat)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds used by groups of processes between :meth:`start` and :meth:`stop`.

    Besides the named groups: ``driver`` (this process: the Twilio stand-in and the end-to-end sender),
    ``children`` (processes this one reaped meanwhile: wrk) and ``other`` (the rest of the machine's busy time:
    other users of the machine, kernel threads).
    """

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = {**groups, "postgres": pids_named("postgres"), "redis": pids_named("redis-server")}

    def start(self) -> CpuMeter:
        self.before = {name: cpu_seconds(pids) for name, pids in self.groups.items()}
        self.self_before = resource.getrusage(resource.RUSAGE_SELF)
        self.children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.busy_before = machine_busy_seconds()
        return self

    def stop(self) -> dict[str, float]:
        busy = machine_busy_seconds() - self.busy_before
        used = {name: cpu_seconds(pids) - self.before[name] for name, pids in self.groups.items()}
        used["driver"] = _rusage_seconds(resource.RUSAGE_SELF) - _seconds(self.self_before)
        used["children"] = _rusage_seconds(resource.RUSAGE_CHILDREN) - _seconds(self.children_before)
        used["other"] = max(0.0, busy - sum(used.values()))
        return used


def _seconds(usage: resource.struct_rusage) -> float:
    return usage.ru_utime + usage.ru_stime


def _rusage_seconds(who: int) -> float:
    return _seconds(resource.getrusage(who))


def pids_named(name: str) -> list[int]:
    """Pids whose command name is ``name`` (postgres backends, redis-server), to account their CPU."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found
