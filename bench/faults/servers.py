"""Private PostgreSQL and Redis servers for one fault-injection run: own data directories, free ports, 127.0.0.1.

Never the machine's shared servers: these are started from the binaries (PostgreSQL 15 under
/usr/lib/postgresql/15/bin, redis-server on PATH), restarted by the run, and removed at its end.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("SAMBAT_PG_BIN", "/usr/lib/postgresql/15/bin"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_port(port: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.1)
    return False


class PrivatePostgres:
    """initdb into ``directory`` and serve on a free port; ``restart`` stops (fast or immediate) and starts it."""

    def __init__(self, directory: Path, log: Path) -> None:
        self.directory, self.log, self.port = directory, log, free_port()
        self.data, self.sockets = directory / "data", directory / "sockets"
        # initdb and postgres refuse to run as root: as root, run them as the postgres user.
        self.user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/sambat"

    def init(self) -> PrivatePostgres:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.sockets.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            for path in (self.directory, self.sockets):
                os.chown(path, account.pw_uid, account.pw_gid)
            self.log.touch()
            os.chown(self.log, account.pw_uid, account.pw_gid)
        subprocess.run([*self.user, str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                        "--auth=trust", "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
        self.start()
        subprocess.run([*self.user, str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U",
                        "postgres", "sambat"], check=True, capture_output=True)
        return self

    def start(self) -> None:
        options = f"-p {self.port} -k {self.sockets} -c listen_addresses=127.0.0.1 -c max_connections=200"
        subprocess.run([*self.user, str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", options, "-l",
                        str(self.log), "-w", "-t", "60", "start"], check=True, capture_output=True)

    def stop(self, mode: str = "fast") -> None:
        subprocess.run([*self.user, str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60",
                        "stop"], capture_output=True)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


class PrivateRedis:
    """redis-server with an append-only file (fsync every second), as production runs it."""

    def __init__(self, directory: Path, log: Path) -> None:
        self.directory, self.log, self.port = directory, log, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> PrivateRedis:
        self.directory.mkdir(parents=True, exist_ok=True)
        log = self.log.open("ab")
        self.process = subprocess.Popen(
            ["redis-server", "--bind", "127.0.0.1", "--port", str(self.port), "--dir", str(self.directory),
             "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--protected-mode", "no"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        if not wait_port(self.port):
            raise SystemExit(f"private redis-server did not start; see {self.log}")
        return self

    def stop(self, kill: bool = False) -> None:
        """SHUTDOWN (the append-only file is flushed), or with ``kill`` a SIGKILL (up to a second of writes lost)."""
        if self.process is None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()  # redis-server's SIGTERM handler is a clean SHUTDOWN
        self.process.wait(timeout=30)
        self.process = None

    def remove(self) -> None:
        self.stop(kill=True)
        shutil.rmtree(self.directory, ignore_errors=True)
