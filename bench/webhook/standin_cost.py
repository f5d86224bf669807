"""The Twilio stand-in's own cost: its CPU per CreateMessage request, against a baseline revision.

    .venv/bin/python bench/webhook/standin_cost.py [--count 2000] [--baseline main] [--repeat 3] [--profile out.prof]

The stand-in (``tests/support/twilio_standin.py``, the OpenAPI and documented-rule checks of every request
included) runs in a child process; this process sends it ``--count`` CreateMessage POSTs over one kept-alive
connection (``http.client``), with the form the outbox sends (To, From, a complaint reply of about 100 characters
of Indonesian text, StatusCallback) and the headers ``channels.twilio.TwilioSender`` sends, after ``--warmup``
that are not counted. Counted: the child's CPU seconds (``time.process_time``, read by the child before and after)
per request, and this process's (the load generator's) for comparison. Every answer must be 201 and the stand-in
must record no violation, so a faster stand-in that stopped answering or checking shows up as a failed run.

With ``--baseline REV`` (default main) the baseline's ``tests/support`` is exported (``git archive``) and measured
in its own child, then the working tree's, ``--repeat`` times in turn so a load that comes and goes falls on both;
the ratio is of the medians. ``--profile FILE`` writes a cProfile of the working tree's stand-in (one more run).
No database, no Redis.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "bench-auth-token"
SENDER = "+15005550006"
CALLBACK = "https://sambat.example.org/webhooks/twilio/status"
REPLY = ("Terima kasih, laporan Anda tentang jalan berlubang di Jl. Merdeka sudah kami terima "
         "dengan nomor tiket {number:04d}.")

# The child: the stand-in from the directory in argv[1] (imported first), then one line per command on stdin:
# "cpu" answers the CPU seconds used so far, "end" the messages accepted and violations recorded, and stops.
# With argv[3] a cProfile of the connection (warm-up included) is written there.
CHILD = """
import sys, time
sys.path.insert(0, sys.argv[1])
from tests.support.twilio_standin import TwilioStandIn
standin = TwilioStandIn(auth_token=sys.argv[2])
if len(sys.argv) > 3:  # profile: the one connection is served in the server's thread, under cProfile
    import cProfile
    from tests.support.twilio_handler import StandInServer
    profile = cProfile.Profile(time.thread_time)  # CPU, not the wall time spent waiting for the client
    StandInServer.process_request = lambda server, *args: profile.runcall(server.process_request_thread, *args)
standin.start()
print(standin.base_url, flush=True)
for line in sys.stdin:
    if line.strip() == "cpu":
        print(repr(time.process_time()), flush=True)
    elif line.strip() == "end":
        break
if len(sys.argv) > 3:
    profile.dump_stats(sys.argv[3])
print(len(standin.messages_sent()), len(standin.violations), flush=True)
standin.stop()
"""


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="sambat-standin-cost-") as exported:
        runs: dict[str, list[tuple[float, float]]] = {"baseline": [], "tree": []}
        if args.baseline:
            export_support(args.baseline, Path(exported))
        for turn in range(args.repeat):
            sides = [("baseline", exported)] if args.baseline else []
            for side, directory in [*sides, ("tree", str(ROOT))]:
                standin_ms, client_ms = measure(directory, args.count, args.warmup)
                runs[side].append((standin_ms, client_ms))
                name = f"baseline {args.baseline}" if side == "baseline" else "this tree"
                print(f"turn {turn + 1} {name}: stand-in cpu {standin_ms:.3f} ms/request, "
                      f"client cpu {client_ms:.3f} ms/request", flush=True)
    ours = median([standin for standin, _ in runs["tree"]])
    if args.baseline:
        base = median([standin for standin, _ in runs["baseline"]])
        print(f"median stand-in cpu per CreateMessage: baseline {args.baseline} {base:.3f} ms, this tree "
              f"{ours:.3f} ms; ratio this tree / baseline {ours / base:.3f}")
    else:
        print(f"median stand-in cpu per CreateMessage: this tree {ours:.3f} ms")
    if args.profile:
        measure(str(ROOT), args.count, args.warmup, profile=args.profile)
        print(f"profile of this tree's stand-in: {args.profile}")
    return 0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="requests counted per run")
    parser.add_argument("--warmup", type=int, default=50, help="requests before counting")
    parser.add_argument("--repeat", type=int, default=3, help="turns of baseline and tree (the medians compared)")
    parser.add_argument("--baseline", default="main",
                        help="git revision measured in the same run, for the ratio ('' to skip)")
    parser.add_argument("--profile", help="write a cProfile of this tree's stand-in to this file")
    args = parser.parse_args()
    if args.count < 1 or args.warmup < 0 or args.repeat < 1:
        parser.error("--count and --repeat must be at least 1, --warmup at least 0")
    return args


def export_support(revision: str, destination: Path) -> None:
    """The revision's ``tests/support`` (and the ``tests`` package file), exported read-only with ``git archive``."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", revision, "tests/__init__.py", "tests/support"],
                             capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(destination)], input=archive.stdout, check=True)


def measure(directory: str, count: int, warmup: int, profile: str | None = None) -> tuple[float, float]:
    """Run the stand-in from ``directory`` in a child and send it requests; (stand-in, client) CPU ms per request."""
    command = [sys.executable, "-c", CHILD, directory, AUTH_TOKEN, *([profile] if profile else [])]
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=directory,
                             env={**os.environ, "PYTHONPATH": directory})
    try:
        assert child.stdin and child.stdout
        parts = urlsplit(child.stdout.readline().strip())
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
        credentials = base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
        headers = {"Authorization": f"Basic {credentials}", "User-Agent": "sambat-bench", "Accept": "application/json",
                   "Accept-Charset": "utf-8", "Content-Type": "application/x-www-form-urlencoded"}
        bodies = [urlencode({"To": f"+62812{number:08d}", "From": SENDER, "Body": REPLY.format(number=number),
                             "StatusCallback": CALLBACK}).encode() for number in range(warmup + count)]
        send(connection, path, bodies[:warmup], headers)

        def child_cpu() -> float:
            child.stdin.write("cpu\n")
            child.stdin.flush()
            return float(child.stdout.readline())

        before, client_before = child_cpu(), time.process_time()
        send(connection, path, bodies[warmup:], headers)
        client_after, after = time.process_time(), child_cpu()
        connection.close()
        child.stdin.write("end\n")
        child.stdin.flush()
        accepted, violations = map(int, child.stdout.readline().split())
        if accepted != warmup + count or violations:
            raise SystemExit(f"stand-in in {directory}: {accepted} accepted of {warmup + count}, {violations} "
                             "violations")
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    return (after - before) * 1000 / count, (client_after - client_before) * 1000 / count


def send(connection: http.client.HTTPConnection, path: str, bodies: list[bytes], headers: dict[str, str]) -> None:
    """POST each body on the kept-alive connection; any answer but 201 stops the run."""
    for body in bodies:
        connection.request("POST", path, body=body, headers=headers)
        answer = connection.getresponse()
        data = answer.read()
        if answer.status != 201:
            raise SystemExit(f"stand-in answered {answer.status}: {data[:300]!r}")
        if answer.will_close:
            raise SystemExit("stand-in closed the kept-alive connection")


def median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]


if __name__ == "__main__":
    sys.exit(main())
