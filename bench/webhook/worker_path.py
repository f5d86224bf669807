"""The worker's path for one complaint, counted: CPU, Redis commands and round trips, SQL statements.

    .venv/bin/python bench/webhook/worker_path.py [--count 300] [--profile out.prof]

Stores ``--count`` complaints (as the webhook does: ``store_and_enqueue``), then works the queues with rq's
``SimpleWorker`` in burst mode in this process, exactly what ``sambat worker`` runs: process_inbound ->
file_complaint -> outbox send, to the Twilio stand-in running in a child process (so its CPU is not counted
here). Counted for the worker part only, per complaint: CPU seconds of this process, Redis commands and
round trips (counted in the redis client: a pipeline is one round trip), SQL statements (SQLAlchemy's
``before_cursor_execute``, BEGIN/COMMIT not included; psycopg sends those as statements too, so they are
counted separately from the session's commits). Creates and drops its own database ``sambat_bench_worker``
on 127.0.0.1:5432 and uses Redis db ``--redis-db`` (flushed before and after).
"""

from __future__ import annotations

import argparse
import cProfile
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
if os.environ.get("SAMBAT_BENCH_APP_DIR"):  # measuring an exported revision (--baseline): its code comes first
    sys.path.insert(0, os.environ["SAMBAT_BENCH_APP_DIR"])

from bench.webhook.payloads import complaint_texts, sender_phone  # noqa: E402
from bench.webhook.services import ACCOUNT_SID, AUTH_TOKEN, CITY_NUMBER, Services, export_app  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

STANDIN = """
import sys, time
from tests.support.twilio_standin import TwilioStandIn
standin = TwilioStandIn(auth_token=sys.argv[1]).start()
print(standin.base_url, flush=True)
sys.stdin.read()
print(len(standin.messages_sent()), len(standin.violations), flush=True)
"""


class Counts:
    """Redis commands and round trips, SQL statements and transactions, counted in this process."""

    def __init__(self) -> None:
        self.redis_commands = self.redis_trips = self.sql = self.commits = 0

    def install(self, engine, show_sql: bool = False) -> None:  # noqa: ANN001
        import redis.connection
        from sqlalchemy import event

        counts = self
        pack_command, pack_commands = redis.connection.Connection.pack_command, \
            redis.connection.Connection.pack_commands
        send_packed = redis.connection.Connection.send_packed_command

        def counted_pack(connection, *args):  # noqa: ANN001, ANN202
            counts.redis_commands += 1
            return pack_command(connection, *args)

        def counted_packs(connection, commands):  # noqa: ANN001, ANN202
            commands = list(commands)
            counts.redis_commands += len(commands)
            return pack_commands(connection, commands)

        def counted_send(connection, command, *args, **kwargs):  # noqa: ANN001, ANN202
            counts.redis_trips += 1
            return send_packed(connection, command, *args, **kwargs)

        redis.connection.Connection.pack_command = counted_pack
        redis.connection.Connection.pack_commands = counted_packs
        redis.connection.Connection.send_packed_command = counted_send
        event.listen(engine, "before_cursor_execute", lambda *a: setattr(counts, "sql", counts.sql + 1))
        event.listen(engine, "commit", lambda *a: setattr(counts, "commits", counts.commits + 1))
        if show_sql:  # each statement's first line, and each commit, as the worker sends them
            event.listen(engine, "before_cursor_execute", lambda *a: print("SQL", " ".join(a[2].split())[:160]))
            event.listen(engine, "commit", lambda *a: print("COMMIT"))

    def snapshot(self) -> tuple[int, int, int, int]:
        return self.redis_commands, self.redis_trips, self.sql, self.commits


def main() -> int:
    args = parse_args()
    if args.baseline and not os.environ.get("SAMBAT_BENCH_APP_DIR"):
        # Baseline and this tree take turns (--repeat times), so a load that comes and goes falls on both; the
        # ratio is of the medians.
        baselines, mine = [], []
        with tempfile.TemporaryDirectory(prefix="sambat-worker-path-") as exported:
            export_app(args.baseline, Path(exported))
            for turn in range(args.repeat):
                print(f"baseline: {args.baseline} ({describe(args.baseline)}), turn {turn + 1}", flush=True)
                done = subprocess.run([sys.executable, __file__, *sys.argv[1:]], capture_output=True, text=True,
                                      env={**os.environ, "SAMBAT_BENCH_APP_DIR": exported})
                if done.returncode:
                    raise SystemExit(done.stderr[-3000:])
                baselines.append(done.stdout.strip().splitlines()[-1])
                print(baselines[-1])
                print(f"this tree: working tree at {describe('HEAD')}, turn {turn + 1}", flush=True)
                mine.append(measure(args))
                print(mine[-1])
        print("ratio this tree / baseline (medians): " + ratios(median_of(mine), median_of(baselines)))
        return 0
    print(measure(args))
    return 0


def median_of(lines: list[str]) -> str:
    """The run whose CPU per complaint is the median of ``lines`` (the counts hardly differ between runs)."""
    ordered = sorted(lines, key=lambda line: float(NUMBERS.search(line).group(1)))
    return ordered[len(ordered) // 2]


def describe(revision: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", revision], capture_output=True,
                          text=True).stdout.strip()


NUMBERS = re.compile(r"cpu ([\d.]+) ms.*?Redis ([\d.]+) commands in ([\d.]+) round trips; SQL ([\d.]+) statements, "
                     r"([\d.]+) commits")


def ratios(mine: str, baseline: str) -> str:
    names = ("cpu", "Redis commands", "Redis round trips", "SQL statements", "commits")
    ours, theirs = NUMBERS.search(mine), NUMBERS.search(baseline)
    if not ours or not theirs:
        return "n/a"
    return ", ".join(f"{name} {float(a) / float(b):.2f}" for name, a, b in zip(names, ours.groups(), theirs.groups(),
                                                                                strict=True))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--redis-db", type=int, default=3)
    parser.add_argument("--database", default="sambat_bench_worker")
    parser.add_argument("--profile", help="write a cProfile of the worker part here")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--repeat", type=int, default=1, help="turns of baseline and tree (the medians compared)")
    parser.add_argument("--show-sql", action="store_true", help="print every statement (use a small --count)")
    parser.add_argument("--baseline", default="main",
                        help="git revision measured first, in the same run, for the ratio ('' to skip)")
    parser.add_argument("--trickle", action="store_true",
                        help="one complaint at a time: each stored, then worked alone (a batch of one, as at a low "
                             "rate); without it all are stored first and the worker files them in batches")
    parser.add_argument("--rq-worker", action="store_true",
                        help="rq's own SimpleWorker instead of `sambat worker`'s (gateway.jobs.queue.worker_class)")
    return parser.parse_args()


def measure(args: argparse.Namespace) -> str:

    services = Services(database=args.database, redis_url=f"redis://127.0.0.1:6379/{args.redis_db}",
                        log_dir=Path("/tmp"))
    services.create_database()
    services.flush_redis()
    standin = subprocess.Popen([sys.executable, "-c", STANDIN, AUTH_TOKEN], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    base_url = standin.stdout.readline().strip()
    try:
        figures = run(args, services, base_url)
    finally:
        standin.stdin.close()
        sent, violations = standin.stdout.readline().split()
        standin.wait(timeout=10)
        if not args.keep:
            services.flush_redis()
            services.drop_database()
    return f"replies accepted by the stand-in {sent}/{args.count}, contract violations {violations}; {figures}"


def run(args: argparse.Namespace, services: Services, base_url: str) -> str:
    from rq import SimpleWorker

    from channels.base import InboundMessage
    from gateway.jobs import build_runtime
    from gateway.jobs.inbound import store_and_enqueue
    try:
        from gateway.jobs.queue import worker_class
    except ImportError:  # a revision before it: rq's SimpleWorker, as `sambat worker` ran then
        worker_class = None  # type: ignore[assignment]
    from gateway.runtime import install, sync_agencies
    from gateway.settings import load_settings

    environ = {**os.environ, "DATABASE_URL": services.database_url, "REDIS_URL": services.redis_url,
               "SECRET_KEY": "bench-secret-key-at-least-32-characters",
               "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
               "SAMBAT_PUBLIC_URL": "http://127.0.0.1:1", "SAMBAT_TWILIO_FROM": CITY_NUMBER,
               "SAMBAT_TWILIO_API_BASE_URL": base_url}
    app_dir = Path(os.environ.get("SAMBAT_BENCH_APP_DIR") or ROOT)  # the measured revision's own config.yaml
    settings = load_settings(environ=environ, config_path=str(app_dir / "config.yaml"))
    settings = settings.with_overrides(send_rates={"twilio": "1000/s"})
    runtime = build_runtime(settings)
    sync_agencies(runtime)
    install(runtime)
    texts = complaint_texts()

    def store(number: int) -> None:
        store_and_enqueue(runtime, InboundMessage(
            channel="twilio", medium="sms", provider_message_id=f"SM{number:032x}", sender=sender_phone(7, number),
            recipient=CITY_NUMBER, text=texts[number % len(texts)], raw={"Body": texts[number % len(texts)]}))

    # Warm up one complaint (imports, the router's tables, connections), not counted.
    store(0)
    SimpleWorker(runtime.queue.ordered, connection=runtime.queue.connection).work(burst=True, logging_level="WARNING")
    if not args.trickle:
        for number in range(1, args.count + 1):
            store(number)
    counts = Counts()
    counts.install(runtime.db.engine, show_sql=args.show_sql)
    chosen = SimpleWorker if args.rq_worker or worker_class is None else worker_class()
    worker = chosen(runtime.queue.ordered, connection=runtime.queue.connection)
    profiler = cProfile.Profile(time.process_time) if args.profile else None  # CPU, not waiting
    before, cpu, wall = counts.snapshot(), 0.0, 0.0
    for number in range(1, args.count + 1) if args.trickle else [None]:
        if number is not None:  # stored outside the measured part, as the webhook does in another process
            mark = counts.snapshot()
            store(number)
            before = tuple(b + (a - m) for b, a, m in zip(before, counts.snapshot(), mark, strict=True))
        started, wall_started = time.process_time(), time.monotonic()
        if profiler:
            profiler.enable()
        worker.work(burst=True, logging_level="WARNING")
        if profiler:
            profiler.disable()
        cpu, wall = cpu + time.process_time() - started, wall + time.monotonic() - wall_started
    if profiler:
        profiler.dump_stats(args.profile)

    after = counts.snapshot()
    n = args.count
    if args.trickle:
        # A burst worker started and stopped per complaint registers and retires itself each time, which a
        # running `sambat worker` does not: that cost, measured on an empty queue, is taken out.
        idle, idle_cpu = counts.snapshot(), time.process_time()
        for _ in range(n):
            worker.work(burst=True, logging_level="WARNING")
        idle_cpu = time.process_time() - idle_cpu
        cpu -= idle_cpu
        after = tuple(a - (i2 - i1) for a, i1, i2 in zip(after, idle, counts.snapshot(), strict=True))
    redis_commands, redis_trips, sql, commits = ((a - b) / n for a, b in zip(after, before, strict=True))
    mode = "one at a time" if args.trickle else "all stored first"
    return (f"per complaint ({n}, {mode}, one worker): cpu {1000 * cpu / n:.2f} ms, wall {1000 * wall / n:.2f} ms; "
            f"Redis {redis_commands:.1f} commands in {redis_trips:.1f} round trips; "
            f"SQL {sql:.1f} statements, {commits:.1f} commits")


if __name__ == "__main__":
    raise SystemExit(main())
