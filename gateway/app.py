"""The Flask application factory."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from sqlalchemy.exc import OperationalError
from werkzeug.middleware.proxy_fix import ProxyFix

from channels.base import Sender
from gateway.jobs import build_runtime
from gateway.jobs.queue import EmbeddedQueue
from gateway.runtime import JobQueue, sync_agencies
from gateway.settings import Settings, load_settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, queue: JobQueue | None = None,
               senders: dict[str, Sender] | None = None, start_embedded: bool = True,
               sync: bool = True) -> Flask:
    """Create the Sambat web app.

    Args:
        settings: the settings to run with (default: loaded from config.yaml and the environment).
        queue: the job queue (default: rq when REDIS_URL is set, else an embedded queue).
        senders: outbound senders by name (default: built from settings).
        start_embedded: start the embedded queue's threads (tests run its jobs by hand instead).
        sync: bring the agencies table in step with config.yaml.
    """
    settings = settings or load_settings()
    app = Flask(__name__)
    app.config["SECRET_KEY"] = settings.secret("secret_key")
    app.config["MAX_CONTENT_LENGTH"] = 2 * 1024 * 1024
    runtime = build_runtime(settings, queue=queue, senders=senders)
    app.extensions["sambat"] = runtime
    if sync:
        try:
            sync_agencies(runtime)
        except OperationalError as error:
            # A web process (re)started while PostgreSQL is down still takes webhooks (they are spooled,
            # docs/spool.md); the agencies are synced by the next start.
            log.warning("database unreachable at start (%s); agencies not synced with config.yaml", error.orig)
    from gateway.web.security import init_security  # headers, the session cookie, NUL in fields (issue 14)

    init_security(app)
    from gateway.web.webhooks import bp as webhooks_bp

    app.register_blueprint(webhooks_bp)
    from gateway.web import init_intake  # web form, ticket page, JSON API, Open311 (issue 5)

    init_intake(app)
    from gateway.web.admin.setup import init_admin  # the admin console and /transparansi (issue 4)

    init_admin(app)
    from gateway.web.metrics import bp as metrics_bp  # GET /metrics for the operator's Prometheus (issue 13)

    app.register_blueprint(metrics_bp)
    _register_health(app)
    _register_database_errors(app)
    from gateway.web.direct import DirectWebhooks

    app.wsgi_app = DirectWebhooks(app)  # type: ignore[method-assign]  # providers' POSTs skip Flask's dispatch
    if settings.proxy_hops:
        # Behind nginx or a load balancer: the client's address (rate limits, logs) and scheme come from the
        # X-Forwarded-* headers the trusted proxies add; anything a client wrote there itself is ignored.
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    if isinstance(runtime.queue, EmbeddedQueue) and start_embedded:
        runtime.queue.start(app)
    return app


def _register_database_errors(app: Flask) -> None:
    """A lost or unreachable database answers 503 with Retry-After, never a traceback.

    Connections are not pinged before use (models/base.py), so after a database restart one request per
    process meets a dead connection; the pool is renewed at once and a retry succeeds.
    """

    from gateway.web.direct import answer_database_unavailable

    app.register_error_handler(OperationalError, answer_database_unavailable)


def _register_health(app: Flask) -> None:
    @app.get("/healthz")
    def healthz() -> Any:
        runtime = app.extensions["sambat"]
        checks = {"database": "ok", "queue": "ok" if runtime.queue.ping() else "unreachable"}
        try:
            with runtime.db.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - report any database failure as unhealthy
            checks["database"] = f"unreachable: {type(exc).__name__}"
        healthy = all(value == "ok" for value in checks.values())
        return jsonify(status="ok" if healthy else "degraded", **checks), 200 if healthy else 503
