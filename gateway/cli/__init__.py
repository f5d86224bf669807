"""The ``sambat`` command: run the parts, migrate the database, ask the router."""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
from pathlib import Path

import click

from channels.console import NAME as CONSOLE
from gateway.cli.apikeys import apikeys
from gateway.cli.common import (
    DEFAULT_SQLITE,
    _configure_logging,
    _count_into_shared_directory,
    _local_settings,
    _settings,
    _with,
    database_problem,
    listen,
    private_file,
    redis_problem,
)
from gateway.cli.config import config
from gateway.cli.route import route_command
from gateway.cli.router import router_group
from gateway.cli.users import users
from gateway.settings import Settings

log = logging.getLogger("sambat")



@click.group()
@click.pass_context
def main(ctx: click.Context) -> None:
    """Sambat: complaint intake gateway."""
    if ctx.invoked_subcommand and not ctx.resilient_parsing and "--help" not in sys.argv[1:]:
        _settings()  # every command checks the whole configuration before it does anything


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def up(host: str, port: int) -> None:
    """Web + worker + scheduler in one process, for a single machine or a demo.

    With no DATABASE_URL it uses a SQLite file; with no REDIS_URL it runs the queue embedded; with no
    Twilio credentials outbound SMS go to the console.
    """
    _configure_logging()
    if not os.environ.get("DATABASE_URL"):
        click.echo(f"DATABASE_URL not set: using SQLite at {DEFAULT_SQLITE}")
    settings = _local_settings()
    _count_afresh(settings)
    if not settings.redis_url:
        click.echo("REDIS_URL not set: running the queue embedded in this process")
    if settings.outbound_sms_provider == CONSOLE:
        click.echo("No Twilio credentials: outbound SMS are printed here, NOT sent")
    # Before anything starts: the database and Redis answer and the port is free, each else one line.
    problem = database_problem(settings.database_url or "") or (
        redis_problem(settings.redis_url) if settings.redis_url else None)
    if problem:
        raise click.ClickException(problem)
    sock = listen(host, port)
    from models.migrate import upgrade

    _wait_for_database(settings)  # started while PostgreSQL is down: wait for it, never a traceback
    upgrade(settings.database_url)
    from gateway.app import create_app
    from gateway.cli.supervise import Supervisor
    from gateway.jobs.scheduler import run_forever

    app = create_app(settings)
    runtime = app.extensions["sambat"]
    if runtime.spool is None:  # no Redis: webhooks spool to a local file while the database is away
        from gateway.jobs.spool import FileSpool

        runtime.spool = FileSpool(Path(DEFAULT_SQLITE).parent.resolve() / "spool")
    stop = threading.Event()
    # Every part is watched and started again if it dies (gateway/cli/supervise.py).
    supervisor = Supervisor(stop)
    supervisor.thread("sambat-scheduler", lambda: run_forever(runtime, stop=stop))
    worker = _start_worker_process(settings) if settings.redis_url else None
    if worker is not None:
        children = {"worker": worker}

        def restart_worker() -> None:
            children["worker"] = _start_worker_process(settings)

        supervisor.watch("the worker process", lambda: children["worker"].poll() is None, restart_worker)
    elif hasattr(runtime.queue, "revive"):
        supervisor.watch("the job threads", runtime.queue.ping, runtime.queue.revive)
    supervisor.start()
    services = _start_channel_services(runtime, stop)
    # SIGTERM (systemd, docker stop, a test) must run the clean-up below, like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    from werkzeug.serving import make_server

    from gateway.web.access_log import RedactingRequestHandler

    server = make_server(host, port, app, threaded=True, fd=sock.fileno(), request_handler=RedactingRequestHandler)
    sock.close()  # the server holds its own copy of the listening socket
    # "Up" is said only once the server has answered /healthz over HTTP, from a thread beside it.
    threading.Thread(target=_announce_when_up, args=(runtime, host, port, stop), daemon=True,
                     name="sambat-announce").start()
    try:
        server.serve_forever()
    finally:
        stop.set()
        server.server_close()
        for service in services:
            service.stop()
        if worker is not None:
            children["worker"].terminate()
            try:
                children["worker"].wait(timeout=10)
            except subprocess.TimeoutExpired:
                children["worker"].kill()


def _wait_for_database(settings: Settings) -> None:
    """Block until the database answers, logging once while it does not (PostgreSQL still starting)."""
    from gateway.jobs.reconnect import wait_for_database
    from models import Database

    database = Database(settings.database_url)
    try:
        wait_for_database(database, doing="`sambat up` starts when it answers, retrying with backoff")
    finally:
        database.dispose()


def _announce_when_up(runtime, host: str, port: int, stop: threading.Event) -> None:  # noqa: ANN001
    """Print the URLs once /healthz answers, and the command for the first super-admin until one exists."""
    import json
    import time
    from urllib.error import HTTPError
    from urllib.request import ProxyHandler, build_opener

    shown = "127.0.0.1" if host in ("0.0.0.0", "", "::") else (f"[{host}]" if ":" in host else host)
    base = f"http://{shown}:{port}"
    health: dict = {}
    opener = build_opener(ProxyHandler({}))  # straight to ourselves, whatever http_proxy says
    while not stop.is_set():
        try:
            with opener.open(f"{base}/healthz", timeout=5) as response:
                health = json.load(response)
            break
        except HTTPError as error:  # 503: it answers, but something it needs does not
            health = json.load(error)
            break
        except OSError:
            time.sleep(0.1)
    if stop.is_set():
        return
    lines = [f"Sambat is up on {base}/  (Ctrl-C to stop)"]
    if health.get("status") != "ok":
        lines.append(f"  but /healthz says: {', '.join(f'{k} {v}' for k, v in health.items() if k != 'status')}")
    lines += [f"  complaint form:  {base}/aduan",
              f"  ticket lookup:   {base}/tiket",
              f"  console:         {base}/admin",
              f"  transparency:    {base}/transparansi"]
    if not _super_admin_exists(runtime):
        lines += ["No super-admin yet. Create the first one (it asks for a password), in this directory with the "
                  "same environment:",
                  f"  {_sambat_command()} users add you@example.go.id --role super-admin"]
    click.echo("\n".join(lines))


def _super_admin_exists(runtime) -> bool:  # noqa: ANN001
    from sqlalchemy import select

    from models import User
    from models.user import SUPER_ADMIN

    with runtime.db.session() as session:
        return session.scalar(select(User.id).where(User.role == SUPER_ADMIN, User.active).limit(1)) is not None


def _sambat_command() -> str:
    """How this shell calls `sambat`: the bare name when it is on PATH, else the path it was started by."""
    import shutil

    started = Path(sys.argv[0])
    found = shutil.which("sambat")
    if found and started.name == "sambat" and Path(found).resolve() == started.resolve():
        return "sambat"
    return str(started) if started.name == "sambat" else "sambat"


def _count_afresh(settings: Settings) -> None:
    """`up` is every part at once: its counts start from zero (the directory is shared with its worker)."""
    directory = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or settings.observability.metrics_dir)
    if directory.is_dir():
        for stale in directory.glob("*.db"):
            stale.unlink(missing_ok=True)
    _count_into_shared_directory(settings)


def _start_channel_services(runtime, stop: threading.Event) -> list:  # noqa: ANN001
    """Long-running parts of channels that `up` runs too (the SMTP listener when smtp.enabled)."""
    from channels import registry

    services = []
    for spec in registry.specs():
        if spec.services is not None:
            services.extend(spec.services(runtime, stop))
    if services:
        click.echo(f"SMTP listener on {runtime.settings.smtp.listen}: mail to Sambat becomes complaints")
    return services


def _start_worker_process(settings: Settings) -> subprocess.Popen[bytes]:
    """rq's worker needs a main thread of its own (signals), so `up` runs it as a child process."""
    env = {**os.environ, "DATABASE_URL": settings.database_url or "", "SECRET_KEY": settings.secret("secret_key") or ""}
    click.echo("REDIS_URL set: starting an rq worker process")
    return subprocess.Popen([sys.executable, "-c", "from gateway.cli import main; main()", "worker"], env=env)


@main.command()
@click.option("--host", default="0.0.0.0", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="gunicorn worker processes")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 64),
              help="threads per worker process (more than 1: gunicorn's gthread workers)")
def web(host: str, port: int, workers: int, threads: int) -> None:
    """The web app under gunicorn (production).

    Sync workers by default. ``--threads 4`` overlaps a webhook's waits for the database's commit and Redis (about
    half as many requests again per second in bench/webhook/run.py), but a worker process that dies takes every
    request it holds with it, answered or not: in the fault run (bench/faults) a SIGKILLed gthread worker left an
    SMS webhook unanswered in each of two runs, which Twilio does not send again.
    """
    settings = _settings()
    for key, value in (("DATABASE_URL", settings.database_url), ("SECRET_KEY", settings.secret("secret_key"))):
        if not value:
            raise click.ClickException(f"{key}: required for `sambat web` (use `sambat up` for a demo)")
    twilio = settings.sms.twilio_account_sid and settings.sms.twilio_auth_token
    if twilio and not settings.public_url and not settings.proxy_hops:
        # Twilio signs the URL it called; without these the check would run over a URL built from the Host
        # header, which whoever sends the request writes.
        raise click.ClickException(
            "SAMBAT_PUBLIC_URL: required for `sambat web` with Twilio credentials (the https address Twilio calls; "
            "webhook signatures are checked over it), unless SAMBAT_PROXY_HOPS names the reverse proxies whose "
            "X-Forwarded-Host and -Proto are trusted")
    _count_into_shared_directory(settings)  # gunicorn's workers and this host's rq workers, added up by /metrics
    os.environ["SAMBAT_LOG_FORMAT"] = settings.observability.log_format  # gunicorn's own lines (gunicorn_conf)
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "-c", "python:gateway.cli.gunicorn_conf",
                               "--workers", str(workers), "--threads", str(threads), "--bind", f"{host}:{port}",
                               "--access-logfile", "-",
                               "--logger-class", "gateway.web.access_log.RedactingLogger", "gateway.wsgi:app"])


@main.command()
@click.option("--burst", is_flag=True, help="work until the queues are empty, then stop")
def worker(burst: bool) -> None:
    """An rq worker for the pipeline's jobs (needs REDIS_URL); it outlives PostgreSQL and Redis restarts."""
    _configure_logging()
    settings = _settings()
    for key, value in (("DATABASE_URL", settings.database_url), ("REDIS_URL", settings.redis_url)):
        if not value:
            raise click.ClickException(f"{key}: required for `sambat worker`")
    _count_into_shared_directory(settings)
    from gateway.jobs import build_runtime
    from gateway.jobs.worker import run_worker
    from gateway.runtime import install

    runtime = build_runtime(settings)  # no Flask app, nothing written to the database
    install(runtime)
    run_worker(runtime, burst=burst)  # waits out PostgreSQL and Redis restarts, never exits on one


@main.command()
@click.option("--interval", default=5.0, show_default=True, help="seconds between sweeps")
def scheduler(interval: float) -> None:
    """Hand owed work back to the queue: unprocessed messages, retries, stuck sends."""
    _configure_logging()
    settings = _settings()
    if not settings.database_url:
        raise click.ClickException("DATABASE_URL: required for `sambat scheduler`")
    _count_into_shared_directory(settings)
    from gateway.jobs import build_runtime
    from gateway.jobs.scheduler import run_forever
    from gateway.runtime import install

    runtime = build_runtime(settings)
    install(runtime)
    run_forever(runtime, interval=interval)


@main.command()
@click.argument("sender")
@click.argument("text")
def sms(sender: str, text: str) -> None:
    """Play a citizen: put one SMS from SENDER through the pipeline here and print the reply.

    Uses the same database as `sambat up` (SQLite by default), so tickets made here can be
    looked up there and the other way round. Example: sambat sms 081234567890 "jalan rusak".
    """
    from channels.base import BadPhoneNumber, InboundMessage
    from channels.phone import to_e164
    from gateway.app import create_app
    from gateway.cli.common import upgrade_database as upgrade
    from gateway.jobs.inbound import store_and_enqueue
    from gateway.jobs.queue import EmbeddedQueue

    settings = _local_settings()
    try:
        phone = to_e164(sender, settings.phone_region)
    except BadPhoneNumber as error:
        raise click.BadParameter(str(error), param_hint="SENDER") from None
    upgrade(settings.database_url)
    queue = EmbeddedQueue()
    app = create_app(settings.with_overrides(sms__provider=CONSOLE), queue=queue, start_embedded=False)
    message = InboundMessage(channel="console", medium="sms", provider_message_id=secrets.token_hex(16),
                             sender=phone, text=text, recipient=None, raw={"From": sender, "Body": text})
    with app.app_context():
        store_and_enqueue(app.extensions["sambat"], message)
        while queue.run_pending():
            pass


@main.command()
@click.option("--listen", default=None, help="host:port to listen on [default: smtp.listen or SAMBAT_SMTP_LISTEN]")
def smtp(listen: str | None) -> None:
    """Receive complaints by e-mail: an SMTP listener for a mail route (MX or relay) pointed at Sambat."""
    _configure_logging()
    settings = _local_settings()
    if listen:
        settings = _with(settings, smtp__listen=listen)
    from channels.email.listener import serve_forever
    from gateway.app import create_app
    from gateway.cli.common import upgrade_database as upgrade

    upgrade(settings.database_url)
    app = create_app(settings)
    click.echo(f"SMTP listener on {settings.smtp.listen} (Ctrl-C to stop)")
    serve_forever(app.extensions["sambat"])


@main.command()
def imap() -> None:
    """Take complaints from an existing mailbox: poll (or IDLE on) imap.folder of imap.host."""
    _configure_logging()
    settings = _local_settings()
    if not settings.imap.host:
        raise click.ClickException("imap.host (SAMBAT_IMAP_HOST): required for `sambat imap`")
    from channels.email.poller import run_forever
    from gateway.app import create_app
    from gateway.cli.common import upgrade_database as upgrade

    upgrade(settings.database_url)
    app = create_app(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    click.echo(f"Polling {settings.imap.folder} on {settings.imap.host} as {settings.imap.username} (Ctrl-C to stop)")
    try:
        run_forever(app.extensions["sambat"], stop)
    except KeyboardInterrupt:
        stop.set()


@main.group()
def db() -> None:
    """Database migrations."""


@db.command("upgrade")
@click.option("--revision", default="heads", show_default=True)
def db_upgrade(revision: str) -> None:
    """Migrate the database to the newest schema (Alembic)."""
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{Path(DEFAULT_SQLITE).resolve()}"
    if url.startswith("sqlite:///"):
        database = Path(url.removeprefix("sqlite:///"))
        database.parent.mkdir(parents=True, exist_ok=True)
        private_file(database, tighten_dir=database.resolve().parent == Path(DEFAULT_SQLITE).resolve().parent)
    from gateway.cli.common import upgrade_database as upgrade

    upgrade(url, revision)
    click.echo(f"database at {url.split('@')[-1]} is at {'head' if revision == 'heads' else revision}")



main.add_command(apikeys)
main.add_command(users)
main.add_command(route_command, name="route")
main.add_command(router_group, name="router")
main.add_command(config)
