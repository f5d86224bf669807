"""Closed-loop throughput with wrk: requests/s, latency percentiles, errors and where the CPU went."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from redis import Redis

from bench.webhook.services import CpuMeter

HERE = Path(__file__).resolve().parent


@dataclass
class Measurement:
    """One wrk run against one target."""

    target: str
    connections: int
    seconds: float
    wrk: dict
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return self.wrk["requests"]

    @property
    def rps(self) -> float:
        return self.wrk["requests"] / (self.wrk["duration_us"] / 1e6)

    @property
    def ok(self) -> int:
        """Answered 2xx/3xx (wrk counts any status >= 400 as an error)."""
        return self.wrk["requests"] - self.wrk["status_errors"]

    @property
    def errors(self) -> int:
        """Non-2xx answers, timeouts and socket errors."""
        return sum(self.wrk[key] for key in ("status_errors", "timeouts", "connect_errors", "read_errors",
                                             "write_errors"))

    def cpu_ms_per_request(self, part: str) -> float:
        return 1000 * self.cpu.get(part, 0.0) / max(self.requests, 1)


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk")
    return path


def run_wrk(port: int, bodies: Path, threads: int, connections: int, seconds: float,
            server_pids: list[int] | None = None, target: str = "") -> Measurement:
    """POST the signed bodies of ``bodies`` for ``seconds`` over ``connections`` connections.

    With ``server_pids``, also accounts the CPU seconds used meanwhile by the server, PostgreSQL, Redis
    and wrk itself (the machine is shared by all of them).
    """
    command = [require_wrk(), "-t", str(threads), "-c", str(connections), "-d", f"{seconds:g}s", "--timeout", "10s",
               "-s", str(HERE / "signed.lua"), f"http://127.0.0.1:{port}", "--", str(bodies), str(threads)]
    meter = CpuMeter({"server": server_pids or []}).start()
    finished = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    cpu = meter.stop()
    cpu["wrk"] = cpu.pop("children")
    line = next((line for line in finished.stdout.splitlines() if line.startswith("WRK_JSON ")), None)
    if finished.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({finished.returncode}):\n{finished.stdout}\n{finished.stderr}")
    return Measurement(target=target, connections=connections, seconds=seconds,
                       wrk=json.loads(line.removeprefix("WRK_JSON ")), cpu=cpu)


def sent_numbers(sent_by_thread: list[int]) -> set[int]:
    """Message numbers wrk sent: thread k of T sends lines k, k+T, k+2T ... of the bodies file."""
    threads = len(sent_by_thread)
    return {index * threads + thread for thread, sent in enumerate(sent_by_thread) for index in range(sent)}


def count_stored(dsn: str, phase: int, sent_by_thread: list[int]) -> tuple[int, int]:
    """inbound_messages rows of one phase: (all, those whose message number wrk sent)."""
    with psycopg.connect(dsn) as connection:
        sids = [sid for (sid,) in connection.execute(
            "SELECT provider_message_id FROM inbound_messages WHERE channel = 'twilio' "
            "AND provider_message_id LIKE %s", (f"SM{phase:02x}%",))]
    sent = sent_numbers(sent_by_thread)
    return len(sids), sum(1 for sid in sids if int(sid[4:], 16) in sent)


def count_unprocessed(dsn: str) -> int:
    """inbound_messages rows no worker has processed yet (each must have a job waiting)."""
    with psycopg.connect(dsn) as connection:
        return connection.execute("SELECT count(*) FROM inbound_messages WHERE processed_at IS NULL").fetchone()[0]


def queue_length(redis_url: str, queue: str = "sambat-high") -> int:
    return Redis.from_url(redis_url).llen(f"rq:queue:{queue}")


def settle(dsn: str, phase: int, timeout: float = 10.0) -> None:
    """Give requests still in flight when wrk stopped time to commit: wait until the row count holds for 1 s."""
    deadline, last = time.monotonic() + timeout, -1
    while time.monotonic() < deadline:
        rows = count_stored(dsn, phase, [])[0]
        if rows == last:
            return
        last = rows
        time.sleep(1.0)
