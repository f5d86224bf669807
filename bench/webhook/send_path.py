"""One Twilio send, counted: the CPU of ``channels.twilio.TwilioSender.send`` per message.

    .venv/bin/python bench/webhook/send_path.py [--count 1000] [--baseline main] [--repeat 3]

Sends ``--count`` SMS (with a status callback, as the outbox does) through one ``TwilioSender`` to the Twilio
stand-in running in a child process (so its CPU, the OpenAPI check of every request included, is not counted
here), after ``--warmup`` sends that are not counted (imports, the first connection). Counted: this process's CPU
seconds (``time.process_time``) and wall time per send. No database, no Redis.

With ``--baseline REV`` (default main) the revision is exported (``git archive``) and measured in its own process,
then the working tree in another, ``--repeat`` times in turn, so a load that comes and goes falls on both; the
ratio is of the medians.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
if os.environ.get("SAMBAT_BENCH_APP_DIR"):  # a measuring process: the measured revision's code comes first
    sys.path.insert(0, os.environ["SAMBAT_BENCH_APP_DIR"])

from bench.webhook.services import ACCOUNT_SID, AUTH_TOKEN, CITY_NUMBER, export_app  # noqa: E402
from bench.webhook.worker_path import STANDIN, describe  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
CPU = re.compile(r"cpu ([\d.]+) ms")


def main() -> int:
    args = parse_args()
    if os.environ.get("SAMBAT_BENCH_APP_DIR") or not args.baseline:
        print(measure(args), flush=True)
        return 0
    baselines, mine = [], []
    with tempfile.TemporaryDirectory(prefix="sambat-send-path-") as exported:
        export_app(args.baseline, Path(exported))
        for turn in range(args.repeat):
            for label, app_dir, runs in ((f"baseline: {args.baseline} ({describe(args.baseline)})", exported,
                                          baselines),
                                         (f"this tree: working tree at {describe('HEAD')}", str(ROOT), mine)):
                print(f"{label}, turn {turn + 1}", flush=True)
                done = subprocess.run([sys.executable, __file__, *sys.argv[1:]], capture_output=True, text=True,
                                      env={**os.environ, "SAMBAT_BENCH_APP_DIR": app_dir})
                if done.returncode:
                    raise SystemExit(done.stderr[-3000:])
                runs.append(done.stdout.strip().splitlines()[-1])
                print(runs[-1], flush=True)
    base, ours = median_cpu(baselines), median_cpu(mine)
    print(f"median cpu per send: baseline {base:.3f} ms, this tree {ours:.3f} ms; "
          f"ratio this tree / baseline {ours / base:.2f}")
    return 0


def median_cpu(lines: list[str]) -> float:
    values = sorted(float(CPU.search(line).group(1)) for line in lines)
    return values[len(values) // 2]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000, help="sends counted")
    parser.add_argument("--warmup", type=int, default=20, help="sends before counting")
    parser.add_argument("--repeat", type=int, default=3, help="turns of baseline and tree (the medians compared)")
    parser.add_argument("--baseline", default="main",
                        help="git revision measured in the same run, for the ratio ('' to skip)")
    args = parser.parse_args()
    if args.count < 1 or args.warmup < 0 or args.repeat < 1:
        parser.error("--count and --repeat must be at least 1, --warmup at least 0")
    return args


def measure(args: argparse.Namespace) -> str:
    """Start the stand-in in a child process, send through one TwilioSender, and count this process's CPU."""
    standin = subprocess.Popen([sys.executable, "-c", STANDIN, AUTH_TOKEN], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
    base_url = standin.stdout.readline().strip()
    try:
        figures = run(args, base_url)
    finally:
        standin.stdin.close()
        sent, violations = standin.stdout.readline().split()
        standin.wait(timeout=10)
    total = args.count + args.warmup
    return f"accepted by the stand-in {sent}/{total}, contract violations {violations}; {figures}"


def run(args: argparse.Namespace, base_url: str) -> str:
    from channels.base import OutboundMessage
    from channels.twilio import TwilioSender

    sender = TwilioSender(ACCOUNT_SID, AUTH_TOKEN, from_number=CITY_NUMBER, api_base_url=base_url, timeout=10)
    messages = [OutboundMessage(outbox_id=number, medium="sms", recipient=f"+62812{number:07d}",
                                body=f"Tiket {number:04d} 5678: laporan Anda sudah diteruskan ke DPUPR.",
                                status_callback=f"https://sambat.example.go.id/webhooks/twilio/status?outbox={number}")
                for number in range(args.warmup + args.count)]
    for message in messages[:args.warmup]:
        sender.send(message)
    cpu, wall = time.process_time(), time.monotonic()
    for message in messages[args.warmup:]:
        sender.send(message)
    cpu, wall = time.process_time() - cpu, time.monotonic() - wall
    n = args.count
    return f"per send ({n}): cpu {1000 * cpu / n:.3f} ms, wall {1000 * wall / n:.3f} ms"


if __name__ == "__main__":
    raise SystemExit(main())
