"""Benchmark the signed Twilio SMS webhook under gunicorn against a bare Flask endpoint, and end to end.

One command, from the repository root:

    .venv/bin/python bench/webhook/run.py

It creates its own PostgreSQL database (sambat_bench), uses Redis db 12, starts the Twilio stand-in in this
process, two gunicorn servers (the app and bench/webhook/bare_app.py, 2 sync workers each) and, for the
end-to-end part, two ``sambat worker`` processes; stops all of them at the end. Traffic goes to 127.0.0.1 only.

Part 1, end to end (2 workers running): signed webhooks at a fixed rate (default 50/s for 30 s), each from
its own sender; seconds from sending the webhook to the stand-in receiving the ticket reply to that sender.
Part 2, throughput (workers stopped, so jobs pile up in Redis): wrk, closed loop, a fixed number of
connections, warm-up then a timed run, bare endpoint then the real webhook, repeated --rounds times. After
each real run the inbound_messages rows are counted against the 200 answers and the rq queue length.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.webhook import latency, throughput  # noqa: E402
from bench.webhook.payloads import PHASE_LATENCY, PHASE_WARMUP, signed_webhooks, write_wrk_file  # noqa: E402
from bench.webhook.services import APP_PATHS, AUTH_TOKEN, CpuMeter, Services, export_app  # noqa: E402
from tests.support.twilio_standin import TwilioStandIn  # noqa: E402

HERE = Path(__file__).resolve().parent
REAL_APP, BARE_APP, FLOOR_APP = "gateway.wsgi:app", "bare_app:app", "floor_app:app"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help="timed wrk run per target")
    parser.add_argument("--warmup", type=float, default=5, help="wrk warm-up per target, not counted")
    parser.add_argument("--connections", default="8", help="wrk connections; a comma list runs each")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=2, help="bare + real pairs per connection count")
    parser.add_argument("--bodies", type=int, default=40000, help="signed bodies per timed run (each sent once)")
    parser.add_argument("--rate", type=float, default=50, help="end-to-end part: webhooks per second")
    parser.add_argument("--e2e-workers", type=int, default=2, help="end-to-end part: rq worker processes")
    parser.add_argument("--web-threads", type=int, default=1,
                        help="threads per gunicorn worker, for every server of the run (as `sambat web --threads`; "
                             "1, its default: sync workers)")
    parser.add_argument("--e2e-seconds", type=float, default=30, help="end-to-end part: how long to send")
    parser.add_argument("--real-port", type=int, default=18601)
    parser.add_argument("--bare-port", type=int, default=18602)
    parser.add_argument("--database", default="sambat_bench")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--app", default="HEAD",
                        help="git revision of the app to measure (exported to a temporary directory), "
                             "or 'tree' for the working tree as it is")
    parser.add_argument("--baseline", default=None,
                        help="throughput part: also measure this git revision of the app (exported, its own gunicorn "
                             "with the same settings) in every round, between the bare endpoint and --app")
    parser.add_argument("--baseline-port", type=int, default=18603)
    parser.add_argument("--floor", action="store_true",
                        help="throughput part: also measure bench/webhook/floor_app.py (one INSERT and one SET NX, no "
                             "framework, no checks: the upper bound of a webhook that stores before it answers)")
    parser.add_argument("--floor-port", type=int, default=18604)
    parser.add_argument("--keep", action="store_true", help="keep the database and Redis db afterwards")
    parser.add_argument("--twilio-rate", default="100/s",
                        help="send_rates.twilio for the run (config.yaml ships 10/s); above --rate, so the end-to-end "
                             "figures measure the pipeline, not the configured limit")
    parser.add_argument("--skip-e2e", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    throughput.require_wrk()
    log_dir = Path(tempfile.mkdtemp(prefix="sambat-bench-webhook-"))
    services = Services(database=args.database, redis_url=args.redis_url, log_dir=log_dir)
    print_machine(args, log_dir)
    if args.app != "tree":
        services.app_dir = export_app(args.app, log_dir / "app")
    print(f"app code: {describe_app(args.app)}")
    baseline_dir = export_app(args.baseline, log_dir / "baseline") if args.baseline else None
    if baseline_dir is not None:
        print(f"baseline code: {describe_app(args.baseline)}")
    services.create_database()
    services.flush_redis()
    standin = TwilioStandIn(auth_token=AUTH_TOKEN).start()
    public_url = f"http://127.0.0.1:{args.real_port}"
    env = services.environment(public_url, standin.base_url)
    env["SAMBAT_CONFIG"] = str(bench_config(services.app_dir / "config.yaml", log_dir, args.twilio_rate))
    print(f"send_rates.twilio {args.twilio_rate} for this run (config.yaml: {shipped_rate(services.app_dir)})")
    try:
        services.start_gunicorn("real", REAL_APP, args.real_port, env, threads=args.web_threads)
        services.start_gunicorn("bare", BARE_APP, args.bare_port, env, pythonpath=HERE, threads=args.web_threads)
        if baseline_dir is not None and not args.skip_throughput:
            # The baseline reads its own config.yaml (a key the tree added would be unknown to it).
            baseline_config = bench_config(baseline_dir / "config.yaml", log_dir / "baseline", args.twilio_rate)
            services.start_gunicorn("baseline", REAL_APP, args.baseline_port,
                                    {**env, "PYTHONPATH": str(baseline_dir), "SAMBAT_CONFIG": str(baseline_config)},
                                    cwd=baseline_dir, threads=args.web_threads)
        if args.floor and not args.skip_throughput:
            services.start_gunicorn("floor", FLOOR_APP, args.floor_port, env, pythonpath=HERE,
                                    threads=args.web_threads)
        if not args.skip_e2e:
            end_to_end(args, services, env, standin, public_url)
        if not args.skip_throughput:
            compare_throughput(args, services, public_url, log_dir)
    finally:
        services.stop_all()
        standin.stop()
        if not args.keep:
            services.flush_redis()
            services.drop_database()
    return 0


def bench_config(shipped: Path, log_dir: Path, twilio_rate: str) -> Path:
    """The shipped config.yaml with the Twilio send rate set for the run (the one line changed)."""
    text, changed = re.subn(r"(?m)^(send_rates:\n(?:  .*\n)*?  twilio: )\S+", rf"\g<1>{twilio_rate}",
                            shipped.read_text())
    if changed != 1:
        raise SystemExit(f"{shipped}: no send_rates.twilio line to set")
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "config.yaml"
    path.write_text(text)
    return path


def shipped_rate(app_dir: Path) -> str:
    found = re.search(r"(?m)^send_rates:\n(?:  .*\n)*?  twilio: (\S+)", (app_dir / "config.yaml").read_text())
    return found.group(1) if found else "not set"


def print_machine(args: argparse.Namespace, log_dir: Path) -> None:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    print(f"date {date.today()}; {os.cpu_count()} cores, {memory:.0f} GiB; Python {platform.python_version()}; "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"server, PostgreSQL, Redis and the load generator share this machine; logs in {log_dir}")


def describe_app(revision: str) -> str:
    git = ["git", "-C", str(HERE.parents[1])]
    if revision != "tree":
        commit = subprocess.run([*git, "rev-parse", "--short", revision], capture_output=True, text=True)
        return f"commit {commit.stdout.strip()} ({revision}), exported"
    commit = subprocess.run([*git, "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run([*git, "status", "--porcelain", "--", *APP_PATHS], capture_output=True,
                           text=True).stdout.splitlines()
    return f"working tree at {commit}" + (f" plus {len(dirty)} uncommitted changes" if dirty else "")


def end_to_end(args: argparse.Namespace, services: Services, env: dict[str, str], standin: TwilioStandIn,
               public_url: str) -> None:
    count = int(args.rate * args.e2e_seconds)
    webhooks = list(signed_webhooks(public_url, AUTH_TOKEN, PHASE_LATENCY, count))
    services.start_workers(args.e2e_workers, env)
    wait_for_workers(services, args.e2e_workers)
    print(f"\n== end to end: {count} webhooks at {args.rate:g}/s, {args.e2e_workers} rq workers, replies to the "
          "Twilio stand-in")
    workers = [pid for number in range(args.e2e_workers) for pid in services.pids(f"worker{number}")]
    meter = CpuMeter({"server": services.pids("real"), "workers": workers}).start()
    started = time.monotonic()
    result = latency.run_open_loop(args.real_port, webhooks, args.rate, standin)
    cpu, elapsed = meter.stop(), time.monotonic() - started
    for number in range(args.e2e_workers):
        services.stop(f"worker{number}")
    hook = [1000 * s for s in result.webhook_latencies]
    print(f"webhooks answered 200: {result.accepted}/{count}; errors {count - result.accepted}; "
          f"largest send lag behind schedule {1000 * result.max_send_lag:.1f} ms")
    print(f"webhook answer: p50 {latency.median(hook):.1f} ms, p99 {latency.percentile(hook, 0.99):.1f} ms")
    seconds = result.seconds_to_reply
    print(f"webhook -> ticket reply at the stand-in: median {latency.median(seconds):.3f} s, "
          f"p95 {latency.percentile(seconds, 0.95):.3f} s, max {max(seconds, default=float('nan')):.3f} s; "
          f"replies {len(seconds)}/{result.accepted}, missing {result.missing}, "
          f"contract violations {result.violations}")
    tenth = max(1, len(seconds) // 10)
    print(f"median of the first tenth of messages {latency.median(seconds[:tenth]):.3f} s, "
          f"of the last tenth {latency.median(seconds[-tenth:]):.3f} s")
    if len(result.replies) > 1:
        first, last = min(result.replies.values()), max(result.replies.values())
        print(f"replies reached the stand-in at {(len(result.replies) - 1) / (last - first):.1f}/s "
              f"(webhooks sent at {args.rate:g}/s)")
    per_message = ", ".join(f"{name} {1000 * cpu[name] / count:.1f}"
                            for name in ("server", "workers", "postgres", "redis", "driver"))
    print(f"cpu ms per message: {per_message} (driver = Twilio stand-in + sender); over {elapsed:.0f} s the "
          f"machine was {sum(cpu.values()) / elapsed:.2f} of {os.cpu_count()} cores busy, "
          f"{cpu['other'] / elapsed:.2f} of them on other work")


def wait_for_workers(services: Services, count: int, timeout: float = 30.0) -> None:
    from redis import Redis
    from rq import Worker

    connection = Redis.from_url(services.redis_url)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(Worker.all(connection=connection)) >= count:
            return
        time.sleep(0.2)
    raise SystemExit(f"{count} rq workers did not start within {timeout:.0f} s; see {services.log_dir}")


def compare_throughput(args: argparse.Namespace, services: Services, public_url: str, log_dir: Path) -> None:
    dsn = services.database_url.replace("+psycopg", "")
    warm_file, warm_count, warm_start = log_dir / "warmup.txt", 10000, 0
    print(f"\n== throughput: wrk -t{args.threads}, {args.warmup:g} s warm-up + {args.seconds:g} s timed per target; "
          "rq workers stopped (jobs pile up in Redis)")
    print("target  conns  req/s   p50 ms  p99 ms  max ms  errors | cpu ms/req: server postgres redis  wrk "
          "| other load, cores")
    phase = 0x10
    summary = []
    targets = [("bare", args.bare_port), ("real", args.real_port)]
    if args.baseline:
        targets.insert(1, ("baseline", args.baseline_port))
    if args.floor:
        targets.append(("floor", args.floor_port))
    for connections in [int(c) for c in args.connections.split(",")]:
        for _ in range(args.rounds):
            pair = {}
            for target, port in targets:
                # Each app target gets its own timed bodies (a phase of its own: the baseline's is phase + 0x40,
                # the floor's + 0x80), so none sends a MessageSid another stored. Fresh warm-up bodies for each
                # target and round: a repeated MessageSid of a message not yet processed is enqueued again (by
                # design, jobs are idempotent), which would blur the jobs-vs-rows count.
                target_phase = phase + {"baseline": 0x40, "floor": 0x80}.get(target, 0)
                bodies = log_dir / f"timed-{target_phase:02x}.txt"
                write_wrk_file(bodies, signed_webhooks(public_url, AUTH_TOKEN, target_phase, args.bodies))
                write_wrk_file(warm_file, signed_webhooks(public_url, AUTH_TOKEN, PHASE_WARMUP, warm_count,
                                                          warm_start))
                warm_start += warm_count
                throughput.run_wrk(port, warm_file, args.threads, connections, args.warmup)
                time.sleep(1.0)  # warm-up requests still in flight commit and enqueue before the count
                queued_before = throughput.queue_length(services.redis_url)
                measured = throughput.run_wrk(port, bodies, args.threads, connections, args.seconds,
                                              server_pids=services.pids(target), target=target)
                pair[target] = measured
                print_measurement(measured)
                if target not in ("bare", "floor"):  # the floor queues no job: its rows are not checked
                    check_stored(measured, dsn, target_phase, services, queued_before)
                bodies.unlink()
            ratio = pair["real"].rps / pair["bare"].rps
            summary.append((connections, ratio, pair["real"]))
            print(f"        real/bare throughput {ratio:.3f}")
            if "floor" in pair:
                print(f"        floor/bare throughput {pair['floor'].rps / pair['bare'].rps:.3f}; "
                      f"real/floor {pair['real'].rps / pair['floor'].rps:.3f}")
            if "baseline" in pair:
                real, baseline = pair["real"], pair["baseline"]
                cpu = real.cpu_ms_per_request("server") / baseline.cpu_ms_per_request("server")
                print(f"        baseline/bare throughput {baseline.rps / pair['bare'].rps:.3f}; "
                      f"real/baseline {real.rps / baseline.rps:.3f}; server cpu ms/req real/baseline {cpu:.3f}")
            phase += 1
    unprocessed, queued = throughput.count_unprocessed(dsn), throughput.queue_length(services.redis_url)
    print(f"\nafter all runs: unprocessed inbound_messages rows {unprocessed}, jobs waiting in sambat-high {queued}")
    print("\n== goals (issue 13: real >= 0.3 x bare; real p99 < 50 ms; no message lost)")
    for connections, ratio, real in summary:
        p99 = real.wrk["p99_us"] / 1000
        print(f"{connections} connections: ratio {ratio:.3f} {'met' if ratio >= 0.3 else 'MISSED'}; "
              f"p99 {p99:.1f} ms {'met' if p99 < 50 else 'MISSED'}")


def print_measurement(measured: throughput.Measurement) -> None:
    wrk = measured.wrk
    cpu = " ".join(f"{measured.cpu_ms_per_request(part):6.2f}" for part in ("server", "postgres", "redis", "wrk"))
    other = measured.cpu["other"] / (wrk["duration_us"] / 1e6)
    print(f"{measured.target:8s}{measured.connections:5d}  {measured.rps:6.0f}  {wrk['p50_us'] / 1000:6.1f}  "
          f"{wrk['p99_us'] / 1000:6.1f}  {wrk['max_us'] / 1000:6.1f}  {measured.errors:6d} |"
          f"            {cpu} | {other:.2f}")


def check_stored(measured: throughput.Measurement, dsn: str, phase: int, services: Services,
                 queued_before: int) -> None:
    throughput.settle(dsn, phase)
    rows, rows_of_sent = throughput.count_stored(dsn, phase, measured.wrk["sent_by_thread"])
    queued = throughput.queue_length(services.redis_url) - queued_before
    lost = max(0, measured.ok - rows_of_sent)
    print(f"        stored: sent {measured.wrk['sent']}, answered 200 {measured.ok}, rows {rows} "
          f"(of sent {rows_of_sent}), jobs queued {queued}, lost {lost}"
          + (f"; WARNING: bodies wrapped {measured.wrk['wrapped']} times, raise --bodies"
             if measured.wrk["wrapped"] else ""))


if __name__ == "__main__":
    sys.exit(main())
