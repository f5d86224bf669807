"""Fault injection: is anything a citizen sends lost or doubled, whatever fails? (issue 13)

    .venv/bin/python bench/faults/run.py [--count 600] [--rate 30] [--record]

The production layout on private servers: a PostgreSQL and a Redis (append-only file) of its own on free
ports, `sambat web` (gunicorn), `--workers` x `sambat worker`, one `sambat scheduler`, `sambat smtp` for the
e-mail, and the Twilio stand-in (in this process) answering 429 or 500 to a share of sends. Signed SMS
webhooks are sent open loop at `--rate`, each from its own number, while the faults are injected: a gunicorn
worker SIGKILLed, `sambat worker`s SIGKILLed every `--kill-every` seconds, a 1.6 MB e-mail (the poison
message), a Redis restart, a PostgreSQL restart. A process that exits is started again after a second, as
systemd's Restart=always would (counted in the report). Then the run drains: it waits until every accepted
message has its reply and nothing is owed, or `--drain` seconds.

Reported: sent, accepted (answered 200), refused (other answers), lost (accepted, no row), duplicate tickets,
duplicate replies, missing replies, still owed after the drain, the time from webhook to reply (p50, p95,
max), and what each fault did. bench/faults/README.md says more.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import os
import random
import re
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import psycopg  # noqa: E402

from bench.faults.servers import PrivatePostgres, PrivateRedis, free_port, wait_port  # noqa: E402
from bench.webhook.latency import Sent, median, percentile  # noqa: E402
from bench.webhook.payloads import WEBHOOK_PATH, SignedWebhook, signed_webhooks  # noqa: E402
from bench.webhook.services import (  # noqa: E402
    ACCOUNT_SID,
    AUTH_TOKEN,
    CITY_NUMBER,
    ROOT,
    children,
    export_app,
    wait_for_http,
)
from gateway.settings import load_settings  # noqa: E402
from tests.support.twilio_standin import TwilioStandIn  # noqa: E402

VENV_BIN = Path(sys.executable).parent
PHASE = 0x05  # MessageSids SM05..., senders +628125...
MAIL_TO = "aduan@sambat.example.go.id"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=600, help="SMS webhooks to send")
    parser.add_argument("--rate", type=float, default=30, help="webhooks per second")
    parser.add_argument("--workers", type=int, default=3, help="`sambat worker` processes")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn workers of `sambat web`")
    parser.add_argument("--fail-share", type=float, default=0.3, help="share of sends the provider refuses")
    parser.add_argument("--kill-every", type=float, default=20, help="seconds between worker SIGKILLs")
    parser.add_argument("--redis-down", type=float, default=2, help="seconds Redis stays down")
    parser.add_argument("--pg-down", type=float, default=3, help="seconds PostgreSQL stays down")
    parser.add_argument("--pg-stop", default="fast", choices=("fast", "immediate"),
                        help="how PostgreSQL is stopped (immediate: as if it crashed)")
    parser.add_argument("--redis-kill", action="store_true", help="SIGKILL Redis instead of a clean SHUTDOWN")
    parser.add_argument("--poison-mb", type=float, default=1.6, help="size of the poison e-mail (0: none)")
    parser.add_argument("--drain", type=float, default=240, help="seconds to wait for what is owed at the end")
    parser.add_argument("--backoff", default="2, 5, 10, 20, 30",
                        help="outbox.retry_backoff for the run (config.yaml ships 10, 30, 120, 600, 1800: a "
                             "message refused four times in a row would wait 10 min); 'shipped' keeps it")
    parser.add_argument("--twilio-rate", default="100/s", help="send_rates.twilio for the run (ships 10/s)")
    parser.add_argument("--app", default="tree", help="git revision to run (exported), or 'tree'")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--keep", action="store_true", help="keep the servers' directories and logs")
    parser.add_argument("--record", action="store_true", help="append the results to bench/RESULTS.md")
    return parser.parse_args()


@dataclass
class Supervisor:
    """The run's processes; one that exits is started again after a second (systemd's Restart=always)."""

    app_dir: Path
    log_dir: Path
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    commands: dict[str, list[str]] = field(default_factory=dict)
    exits: list[tuple[float, str, int]] = field(default_factory=list)  # (time, name, code) not caused by us
    killed: set[int] = field(default_factory=set)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, name: str, command: list[str]) -> None:
        self.commands[name] = command
        log = (self.log_dir / f"{name}.log").open("ab")
        with self.lock:
            self.processes[name] = subprocess.Popen(command, cwd=self.app_dir, env=self.env, stdout=log,
                                                    stderr=subprocess.STDOUT, start_new_session=True)

    def watch(self) -> None:
        while not self.stopping.wait(0.5):
            for name, process in list(self.processes.items()):
                code = process.poll()
                if code is None:
                    continue
                if process.pid not in self.killed:
                    self.exits.append((time.time(), name, code))
                time.sleep(1.0)
                if not self.stopping.is_set():
                    self.start(name, self.commands[name])

    def kill(self, name: str) -> int:
        process = self.processes[name]
        self.killed.add(process.pid)
        os.killpg(process.pid, signal.SIGKILL)
        return process.pid

    def stop_all(self) -> None:
        self.stopping.set()
        for process in self.processes.values():
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    continue
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def run_config(shipped: Path, out: Path, twilio_rate: str, backoff: str) -> Path:
    text, changed = re.subn(r"(?m)^(send_rates:\n(?:  .*\n)*?  twilio: )\S+", rf"\g<1>{twilio_rate}",
                            shipped.read_text())
    if changed != 1:
        raise SystemExit(f"{shipped}: no send_rates.twilio line to set")
    if backoff != "shipped":
        text, changed = re.subn(r"(?m)^(  retry_backoff: ).*$", rf"\g<1>[{backoff}]", text)
        if changed != 1:
            raise SystemExit(f"{shipped}: no outbox.retry_backoff line to set")
    out.write_text(text)
    return out


def poison_mail(size_mb: float) -> EmailMessage:
    """A 1.6 MB e-mail: a long text and a large 'photo' that is no image."""
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "warga@example.org", MAIL_TO, "Aduan jalan rusak (lampiran besar)"
    text = "Jalan rusak berlubang di depan SDN 3 Sawojajar, mohon segera diperbaiki. " * 2000
    mail.set_content(text)
    filler = random.Random(1).randbytes(max(0, int(size_mb * 1024 * 1024 * 0.75) - len(text)))
    mail.add_attachment(filler, maintype="image", subtype="jpeg", filename="foto.jpg")
    return mail


def main() -> int:
    args = parse_args()
    log_dir = Path(tempfile.mkdtemp(prefix="sambat-faults-"))
    os.chmod(log_dir, 0o755)
    app_dir = ROOT if args.app == "tree" else export_app(args.app, log_dir / "app")
    revision = "HEAD" if args.app == "tree" else args.app
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", revision], capture_output=True,
                            text=True).stdout.strip()
    print(f"date {date.today()}; {os.cpu_count()} cores; load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
          f"; app: {'working tree at ' + commit if args.app == 'tree' else 'commit ' + commit}; logs in {log_dir}")
    postgres = PrivatePostgres(log_dir / "pg", log_dir / "postgres.log").init()
    redis = PrivateRedis(log_dir / "redis", log_dir / "redis.log").start()
    print(f"private PostgreSQL on 127.0.0.1:{postgres.port}, Redis (appendonly) on 127.0.0.1:{redis.port}")
    standin = TwilioStandIn(auth_token=AUTH_TOKEN).start()
    standin.fail_share(args.fail_share, (429, 500), seed=args.seed)
    web_port, smtp_port = free_port(), free_port()
    public_url = f"http://127.0.0.1:{web_port}"
    env = {**os.environ, "DATABASE_URL": postgres.url, "REDIS_URL": redis.url,
           "SECRET_KEY": "faults-bench-secret-key-of-32-chars+",
           "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "SAMBAT_PUBLIC_URL": public_url,
           "SAMBAT_TWILIO_FROM": CITY_NUMBER, "SAMBAT_TWILIO_API_BASE_URL": standin.base_url,
           "SAMBAT_SEND_TIMEOUT": "5", "PYTHONPATH": str(app_dir),
           "SAMBAT_CONFIG": str(run_config(app_dir / "config.yaml", log_dir / "config.yaml", args.twilio_rate,
                                           args.backoff)),
           "SAMBAT_METRICS_DIR": str(log_dir / "metrics"), "SAMBAT_MEDIA_DIR": str(log_dir / "media")}
    subprocess.run([str(VENV_BIN / "sambat"), "db", "upgrade"], cwd=app_dir, env=env, check=True, capture_output=True)
    supervisor = Supervisor(app_dir, log_dir, env)
    sambat = str(VENV_BIN / "sambat")
    try:
        supervisor.start("web", [sambat, "web", "--host", "127.0.0.1", "--port", str(web_port),
                                 "--workers", str(args.web_workers)])
        for number in range(args.workers):
            supervisor.start(f"worker{number}", [sambat, "worker"])
        supervisor.start("scheduler", [sambat, "scheduler"])
        supervisor.start("smtp", [sambat, "smtp", "--listen", f"127.0.0.1:{smtp_port}"])
        # gunicorn listens before its workers have loaded the app: wait for /healthz to answer, from each worker.
        if not wait_port(smtp_port, 120):
            raise SystemExit(f"sambat smtp did not start; see {log_dir}")
        for _ in range(args.web_workers * 2):
            wait_for_http(web_port, log_dir / "web.log", timeout=180)
        wait_for_workers(redis.url, args.workers)
        threading.Thread(target=supervisor.watch, daemon=True, name="supervisor").start()
        report = run(args, supervisor, postgres, redis, standin, web_port, smtp_port, public_url)
    finally:
        supervisor.stop_all()
        standin.stop()
        if not args.keep:
            postgres.remove()
            redis.remove()
    text = "\n".join(report)
    print(text)
    if args.record:
        with (ROOT / "bench" / "RESULTS.md").open("a") as results:
            results.write("\n" + text + "\n")
    return 0


def run(args: argparse.Namespace, supervisor: Supervisor, postgres: PrivatePostgres, redis: PrivateRedis,
        standin: TwilioStandIn, web_port: int, smtp_port: int, public_url: str) -> list[str]:
    webhooks = list(signed_webhooks(public_url, AUTH_TOKEN, PHASE, args.count))
    duration = args.count / args.rate
    events: list[str] = []
    started = time.time() + 0.5

    def at(share: float) -> float:
        return started + share * duration

    def note(text: str) -> None:
        events.append(f"{time.time() - started:6.1f} s  {text}")
        print(events[-1], flush=True)

    def kill_web_worker() -> None:
        pids = children(supervisor.processes["web"].pid)
        if pids:
            os.kill(pids[0], signal.SIGKILL)
            note(f"SIGKILL gunicorn worker {pids[0]} (gunicorn starts another)")

    def kill_worker(number: int) -> None:
        name = f"worker{number % args.workers}"
        note(f"SIGKILL `sambat worker` {name} (pid {supervisor.kill(name)}; started again after 1 s)")

    def restart_redis() -> None:
        redis.stop(kill=args.redis_kill)
        note(f"Redis {'SIGKILLed' if args.redis_kill else 'shut down'}; down {args.redis_down:g} s")
        time.sleep(args.redis_down)
        redis.start()
        note("Redis up again (append-only file replayed)")

    def restart_postgres() -> None:
        postgres.stop(args.pg_stop)
        note(f"PostgreSQL stopped ({args.pg_stop}); down {args.pg_down:g} s")
        time.sleep(args.pg_down)
        postgres.start()
        note("PostgreSQL up again")

    poison: dict[str, object] = {}

    def send_poison() -> None:
        mail = poison_mail(args.poison_mb)
        size = len(mail.as_bytes())
        try:
            with smtplib.SMTP("127.0.0.1", smtp_port, timeout=60) as client:
                refused = client.send_message(mail)
            poison["answer"] = "250 accepted" if not refused else f"refused {refused}"
        except smtplib.SMTPException as error:
            poison["answer"] = f"{type(error).__name__}: {error}"
        except OSError as error:
            poison["answer"] = f"not delivered: {error}"
        note(f"poison e-mail of {size / 2**20:.2f} MiB over SMTP: {poison['answer']}")

    plan: list[tuple[float, str, object]] = [
        (at(0.10), "web", kill_web_worker), (at(0.30), "poison", send_poison), (at(0.40), "redis", restart_redis),
        (at(0.65), "postgres", restart_postgres)]
    if args.poison_mb <= 0:
        plan = [item for item in plan if item[1] != "poison"]
    kill_time, kills = at(0.2), 0
    while kill_time < at(1.0) or kills == 0:
        plan.append((kill_time, "kill", lambda number=kills: kill_worker(number)))
        kill_time, kills = kill_time + args.kill_every, kills + 1
    plan.sort(key=lambda item: item[0])

    def faults() -> None:
        for when, _, action in plan:
            time.sleep(max(0.0, when - time.time()))
            try:
                action()  # type: ignore[operator]
            except Exception as error:  # noqa: BLE001 - a fault that could not be injected is reported
                note(f"could not inject a fault: {type(error).__name__}: {error}")

    injector = threading.Thread(target=faults, name="faults", daemon=True)
    injector.start()
    print(f"sending {args.count} SMS webhooks at {args.rate:g}/s ({duration:.0f} s); provider refuses "
          f"{args.fail_share:.0%} of sends (429/500)", flush=True)
    with ThreadPoolExecutor(max_workers=64, thread_name_prefix="faults-sender") as pool:
        futures = []
        for number, webhook in enumerate(webhooks):
            due = started + number / args.rate
            time.sleep(max(0.0, due - time.time()))
            futures.append(pool.submit(send_one, web_port, webhook, due))
        sent: list[Sent] = [future.result() for future in futures]
    injector.join()
    note("sending done; draining")
    dsn = postgres.url.replace("+psycopg", "")
    accepted = {item.webhook.sender for item in sent if item.status == 200}
    deadline, owed = time.time() + args.drain, None
    while time.time() < deadline:
        replies = first_replies(standin)
        owed = owed_now(dsn)
        # A reply given up for good (dead, failed) never comes: waiting for it would only spend the drain.
        if owed is not None and sum(owed.values()) == 0 and accepted <= replies.keys() | given_up(dsn):
            break
        time.sleep(2)
    note(f"drain over: {'nothing owed' if owed and sum(owed.values()) == 0 else f'owed {owed}'}")
    for when, name, code in supervisor.exits:
        events.append(f"{when - started:6.1f} s  {name} exited on its own (code {code}); started again after 1 s")
    events.sort(key=lambda line: float(line.split(" s ", 1)[0]))
    return report(args, sent, standin, dsn, redis, supervisor, events, poison, owed)


def wait_for_workers(url: str, count: int, timeout: float = 180) -> None:
    from redis import Redis
    from rq import Worker

    connection, deadline = Redis.from_url(url), time.monotonic() + timeout
    while len(Worker.all(connection=connection)) < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"{count} `sambat worker`s did not register within {timeout:.0f} s")
        time.sleep(0.5)


ERRORS: collections.Counter[str] = collections.Counter()


def send_one(port: int, webhook: SignedWebhook, due: float) -> Sent:
    """POST one signed webhook on a new connection (status 0: no answer; the error's kind is counted)."""
    started, status = time.time(), 0
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("POST", WEBHOOK_PATH, body=webhook.body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": webhook.signature})
        response = connection.getresponse()
        response.read()
        status = response.status
    except (OSError, http.client.HTTPException) as error:
        ERRORS[type(error).__name__] += 1
    finally:
        connection.close()
    return Sent(webhook=webhook, due=due, started=started, status=status, answered=time.time())


def first_replies(standin: TwilioStandIn) -> dict[str, float]:
    replies: dict[str, float] = {}
    for request in standin.requests:
        if request.method == "POST" and request.status == 201:
            replies.setdefault(request.params.get("To", ""), request.received_at)
    return replies


def owed_now(dsn: str) -> dict[str, int] | None:
    """Work the database says is still to do; None while it cannot be read."""
    try:
        with psycopg.connect(dsn, connect_timeout=3) as connection:
            unprocessed = connection.execute("SELECT count(*) FROM inbound_messages WHERE processed_at IS NULL "
                                             "AND NOT automated").fetchone()[0]
            rows = dict(connection.execute("SELECT status, count(*) FROM outbox WHERE status IN "
                                           "('pending', 'retry', 'claimed') GROUP BY status").fetchall())
    except psycopg.Error:
        return None
    return {"unprocessed messages": unprocessed, **{f"outbox {status}": count for status, count in rows.items()}}


def given_up(dsn: str) -> set[str]:
    """Recipients of replies given up for good (outbox dead or failed)."""
    try:
        with psycopg.connect(dsn, connect_timeout=3) as connection:
            return {to for (to,) in connection.execute("SELECT recipient FROM outbox WHERE status IN ('dead', "
                                                       "'failed')")}
    except psycopg.Error:
        return set()


def report(args: argparse.Namespace, sent: list[Sent], standin: TwilioStandIn, dsn: str, redis: PrivateRedis,
           supervisor: Supervisor, events: list[str], poison: dict[str, object], owed: dict[str, int] | None
           ) -> list[str]:
    accepted = [item for item in sent if item.status == 200]
    refused = collections.Counter(item.status for item in sent if item.status != 200)
    with psycopg.connect(dsn) as connection:
        stored = {sid for (sid,) in connection.execute(
            "SELECT provider_message_id FROM inbound_messages WHERE channel = 'twilio'")}
        doubled_tickets = connection.execute(
            "SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM complaints c JOIN inbound_messages i "
            "ON i.id = c.inbound_message_id WHERE i.channel = 'twilio' GROUP BY i.sender) AS per_sender "
            "WHERE n > 1").fetchone()[0]
        failed_rows = connection.execute("SELECT count(*) FROM outbox WHERE status = 'failed' AND channel = "
                                         "'twilio'").fetchone()[0]
        dead_rows = connection.execute("SELECT count(*) FROM outbox WHERE status = 'dead' AND channel = "
                                       "'twilio'").fetchone()[0]
        mail = connection.execute(
            "SELECT i.id, length(i.body), i.processed_at IS NOT NULL, i.complaint_id IS NOT NULL, "
            "(SELECT string_agg(o.status, ',') FROM outbox o WHERE o.inbound_message_id = i.id) "
            "FROM inbound_messages i WHERE i.channel = 'email' ORDER BY i.id LIMIT 1").fetchone()
    failed_jobs = rq_failed(redis.url)
    settings = load_settings(environ={}, config_path=str(ROOT / "config.yaml"))
    max_attempts = min(settings.jobs.max_attempts, settings.outbox.max_attempts)  # gateway.jobs.outbox.max_sends
    creates = [request for request in standin.requests if request.method == "POST"]
    per_recipient = collections.Counter(request.params.get("To", "") for request in creates if request.status == 201)
    senders = {item.webhook.sender for item in sent}
    duplicate_replies = sum(n - 1 for to, n in per_recipient.items() if to in senders and n > 1)
    replies = first_replies(standin)
    seconds = [replies[item.webhook.sender] - item.started for item in accepted if item.webhook.sender in replies]
    # Replies the provider took at the first try, and those it refused (429/500) before: the backoff's share.
    refused_first = {request.params.get("To", "") for request in creates if request.status in (429, 500)
                     and request.received_at <= replies.get(request.params.get("To", ""), float("inf"))}
    first_try = [replies[item.webhook.sender] - item.started for item in accepted
                 if item.webhook.sender in replies and item.webhook.sender not in refused_first]
    retried = [replies[item.webhook.sender] - item.started for item in accepted
               if item.webhook.sender in replies and item.webhook.sender in refused_first]
    lost = [item for item in accepted if item.webhook.message_sid not in stored]
    missing = [item for item in accepted if item.webhook.sender not in replies]
    stored_though_refused = sum(1 for item in sent if item.status != 200 and item.webhook.message_sid in stored)
    injected = collections.Counter(request.status for request in creates if request.status in (429, 500))
    exits = collections.Counter(name.rstrip("0123456789") for _, name, _ in supervisor.exits)
    owed_text = ", ".join(f"{key} {value}" for key, value in (owed or {}).items() if value) or \
        ("0" if owed is not None else "unknown (database unreadable)")
    lines = [
        f"## Fault injection (issue 13): {args.count} SMS at {args.rate:g}/s",
        "",
        f"Command: `.venv/bin/python bench/faults/run.py --count {args.count} --rate {args.rate:g}` "
        f"({date.today()}, {os.cpu_count()} cores, shared/loaded; {args.workers} `sambat worker`, "
        f"`sambat web --workers {args.web_workers}`, 1 scheduler; private PostgreSQL and Redis with AOF; "
        f"provider refuses {args.fail_share:.0%}; retry backoff {args.backoff})",
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| sent | {len(sent)} |",
        f"| accepted (200) | {len(accepted)} |",
        f"| refused by the webhook | {sum(refused.values())}"
        + (f" ({refusals(refused)}; {stored_though_refused} of them stored all the same)" if refused else "")
        + " |",
        f"| lost (accepted, no row) | {len(lost)} |",
        f"| duplicate tickets | {doubled_tickets} |",
        f"| duplicate replies | {duplicate_replies} |",
        f"| missing replies (accepted, no reply at the provider) | {len(missing)} |",
        f"| still owed after the drain | {owed_text} |",
        f"| replies failed for good (outbox failed) | {failed_rows} |",
        # Half the refusals are 429s, which are not failed attempts (outbox.max_throttled): a reply is dead after
        # max_attempts 500s in a row among the tries that are not 429s.
        f"| replies dead after max_attempts refusals (outbox dead; expected {args.count:g} x "
        f"({args.fail_share / 2:g} / {1 - args.fail_share / 2:g})^{max_attempts} = "
        f"{args.count * (args.fail_share / 2 / (1 - args.fail_share / 2)) ** max_attempts:.2f}) | {dead_rows} |",
        f"| rq failed jobs left | {failed_jobs} |",
        f"| webhook to reply: p50 / p95 / max | {median(seconds):.2f} s / {percentile(seconds, 0.95):.2f} s / "
        f"{max(seconds, default=float('nan')):.2f} s |",
        f"| of which taken at the first try ({len(first_try)}): p50 / p95 / max | {median(first_try):.2f} s / "
        f"{percentile(first_try, 0.95):.2f} s / {max(first_try, default=float('nan')):.2f} s |",
        f"| of which refused (429/500) first ({len(retried)}): p50 / p95 / max | {median(retried):.2f} s / "
        f"{percentile(retried, 0.95):.2f} s / {max(retried, default=float('nan')):.2f} s |",
        f"| sends refused by the provider (injected) | {injected.get(429, 0)}x 429, {injected.get(500, 0)}x 500 |",
        f"| processes that exited on their own (restarted) | "
        f"{', '.join(f'{name} {n}' for name, n in exits.items()) or 'none'} |",
        f"| poison e-mail | {poison.get('answer', 'not sent')}; "
        + (f"stored ({mail[1]} chars of text), processed {'yes' if mail[2] else 'no'}, complaint "
           f"{'yes' if mail[3] else 'no'}, reply rows {mail[4] or 'none'}" if mail else "no row") + " |",
        "",
        "Faults, seconds from the first webhook:",
        "",
        "```",
        *events,
        "```",
    ]
    return lines


def refusals(refused: collections.Counter[int]) -> str:
    errors = ", ".join(f"{kind} {n}" for kind, n in ERRORS.most_common())
    return ", ".join(f"{n}x {status or f'no answer ({errors})'}" for status, n in sorted(refused.items()))


def rq_failed(url: str) -> int | str:
    try:
        from redis import Redis

        connection = Redis.from_url(url)
        return sum(connection.zcard(key) for key in connection.scan_iter("rq:failed:*"))
    except Exception as error:  # noqa: BLE001
        return f"unknown ({type(error).__name__})"


if __name__ == "__main__":
    raise SystemExit(main())
