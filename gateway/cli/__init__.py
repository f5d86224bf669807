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
    from models.migrate import upgrade

    upgrade(settings.database_url)
    from gateway.app import create_app
    from gateway.jobs.scheduler import run_forever

    app = create_app(settings)
    runtime = app.extensions["sambat"]
    stop = threading.Event()
    threading.Thread(target=run_forever, args=(runtime,), kwargs={"stop": stop}, daemon=True,
                     name="sambat-scheduler").start()
    worker = _start_worker_process(settings) if settings.redis_url else None
    services = _start_channel_services(runtime, stop)
    # SIGTERM (systemd, docker stop, a test) must run the clean-up below, like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    click.echo(f"Sambat is up on http://{host}:{port}/  (Ctrl-C to stop)")
    try:
        from werkzeug.serving import run_simple

        run_simple(host, port, app, threaded=True, use_reloader=False)
    finally:
        stop.set()
        for service in services:
            service.stop()
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=10)


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
def web(host: str, port: int, workers: int) -> None:
    """The web app under gunicorn (production)."""
    settings = _settings()
    for key, value in (("DATABASE_URL", settings.database_url), ("SECRET_KEY", settings.secret("secret_key"))):
        if not value:
            raise click.ClickException(f"{key}: required for `sambat web` (use `sambat up` for a demo)")
    _count_into_shared_directory(settings)  # gunicorn's workers and this host's rq workers, added up by /metrics
    os.environ["SAMBAT_LOG_FORMAT"] = settings.observability.log_format  # gunicorn's own lines (gunicorn_conf)
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "-c", "python:gateway.cli.gunicorn_conf",
                               "--workers", str(workers), "--bind", f"{host}:{port}", "--access-logfile", "-",
                               "gateway.wsgi:app"])


@main.command()
@click.option("--burst", is_flag=True, help="work until the queues are empty, then stop")
def worker(burst: bool) -> None:
    """An rq worker for the pipeline's jobs (needs REDIS_URL)."""
    _configure_logging()
    settings = _settings()
    for key, value in (("DATABASE_URL", settings.database_url), ("REDIS_URL", settings.redis_url)):
        if not value:
            raise click.ClickException(f"{key}: required for `sambat worker`")
    _count_into_shared_directory(settings)
    from gateway.jobs import build_runtime
    from gateway.jobs.queue import worker_class
    from gateway.runtime import install

    runtime = build_runtime(settings)  # no Flask app, nothing written to the database
    install(runtime)
    worker_class()(runtime.queue.ordered, connection=runtime.queue.connection).work(burst=burst)


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
    from gateway.jobs.inbound import store_and_enqueue
    from gateway.jobs.queue import EmbeddedQueue
    from models.migrate import upgrade

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
    from models.migrate import upgrade

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
    from models.migrate import upgrade

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
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    from models.migrate import upgrade

    upgrade(url, revision)
    click.echo(f"database at {url.split('@')[-1]} is at {'head' if revision == 'heads' else revision}")



main.add_command(apikeys)
main.add_command(users)
main.add_command(route_command, name="route")
main.add_command(router_group, name="router")
main.add_command(config)
