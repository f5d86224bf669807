"""``GET /metrics``: what an operator's Prometheus scrapes (text format 0.0.4).

Two kinds of figures (docs/observability.md lists them):

- counts kept by the processes (:mod:`gateway.observability`): messages in per channel, sends, send errors by
  provider code, the webhook-to-ticket-reply histogram; under gunicorn, and with ``sambat worker`` and the
  scheduler on the same host, every process's values are added up from the shared multiprocess directory;
- states read at each scrape: queue depth per queue (and rq's failed jobs), outbox rows by status, messages
  not yet processed, the spool's depth and the dead jobs (when this version has them), the Android phones'
  seconds since last heard. A part that cannot be read (the database is down) is reported as
  ``sambat_dependency_up{dependency=...} 0`` and its figures left out; the scrape itself never fails.

Who may read it: a request from this host itself (127.0.0.1, ::1) that no proxy forwarded (no
X-Forwarded-For or Forwarded header), or anyone with ``Authorization: Bearer <SAMBAT_METRICS_TOKEN>``. Everyone
else gets 403 (401 when a token is configured, so a scraper knows to send it).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from collections.abc import Callable, Iterator
from typing import Any

from flask import Blueprint, Response, current_app, request
from sqlalchemy import func, select

from gateway.jobs.dead import count as dead_count
from gateway.jobs.spool import depth as spool_depth
from gateway.observability import multiprocess
from models import Device, Outbox, utcnow
from models import InboundMessage as InboundRow

log = logging.getLogger(__name__)

bp = Blueprint("metrics", __name__)

@bp.get("/metrics")
def metrics() -> Response:
    refusal = _refusal()
    if refusal is not None:
        return refusal
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

    runtime = current_app.extensions["sambat"]
    if multiprocess():
        from prometheus_client import multiprocess as shared

        counts = CollectorRegistry()
        shared.MultiProcessCollector(counts)
    else:
        counts = REGISTRY
    states = CollectorRegistry()
    states.register(StateCollector(runtime))
    return Response(generate_latest(counts) + generate_latest(states), mimetype=CONTENT_TYPE_LATEST)


def _refusal() -> Response | None:
    """None when the request may read /metrics, else the answer that says why not."""
    token = current_app.extensions["sambat"].settings.secret("observability.metrics_token")
    given = request.headers.get("Authorization", "")
    if given.startswith("Bearer "):  # a bearer is judged by its token alone, wherever it comes from
        if token and hmac.compare_digest(given[7:].strip().encode(), token.encode()):
            return None
    elif _from_this_host():
        return None
    if token:
        return Response("/metrics needs Authorization: Bearer <SAMBAT_METRICS_TOKEN>.\n", status=401,
                        mimetype="text/plain", headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
    return Response("/metrics is served to this host only; set SAMBAT_METRICS_TOKEN to let a scraper elsewhere "
                    "read it with Authorization: Bearer <token>.\n", status=403, mimetype="text/plain")


def _from_this_host() -> bool:
    if request.headers.get("X-Forwarded-For") or request.headers.get("Forwarded"):
        return False  # forwarded by a proxy: the client is elsewhere
    try:
        return ipaddress.ip_address(request.remote_addr or "").is_loopback
    except ValueError:
        return False


class StateCollector:
    """Figures read from Redis and the database at each scrape."""

    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily

        up = GaugeMetricFamily("sambat_dependency_up", "1 when the part could be read for this scrape",
                               labels=["dependency"])
        for name, read in (("queue", self._queue), ("database", self._database)):
            try:
                families = list(read(GaugeMetricFamily))
            except Exception as exc:  # noqa: BLE001 - a scrape reports the outage, it never fails with it
                log.warning("metrics: %s unreadable: %s: %s", name, type(exc).__name__, exc)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            yield from families
        yield up

    def _queue(self, gauge: Callable[..., Any]) -> Iterator[Any]:
        queue = self.runtime.queue
        depth = gauge("sambat_queue_depth", "Jobs waiting in each queue", labels=["queue"])
        failed = gauge("sambat_queue_failed_jobs", "Jobs in rq's failed-job registry of each queue", labels=["queue"])
        ordered = getattr(queue, "ordered", None)
        if ordered is not None:  # rq: one LLEN and one ZCARD per queue, in one pipeline
            with queue.connection.pipeline(transaction=False) as pipeline:
                for rq_queue in ordered:
                    pipeline.llen(rq_queue.key)
                    pipeline.zcard(rq_queue.failed_job_registry.key)
                answers = pipeline.execute()
            for number, rq_queue in enumerate(ordered):
                depth.add_metric([rq_queue.name], answers[2 * number])
                failed.add_metric([rq_queue.name], answers[2 * number + 1])
        else:  # the embedded queue of `sambat up`
            depth.add_metric(["embedded"], queue._jobs.qsize())
        yield depth
        if ordered is not None:
            yield failed

    def _database(self, gauge: Callable[..., Any]) -> Iterator[Any]:
        now = utcnow()
        with self.runtime.db.session() as session:
            by_status = session.execute(select(Outbox.status, func.count()).group_by(Outbox.status)).all()
            unprocessed = session.scalar(select(func.count()).select_from(InboundRow)
                                         .where(InboundRow.processed_at.is_(None)))
            devices = session.execute(select(Device.channel, Device.device_id, Device.last_seen_at)).all()
        outbox = gauge("sambat_outbox_rows", "Outbox rows by status", labels=["status"])
        for status, count in by_status:
            outbox.add_metric([status], count)
        yield outbox
        yield gauge("sambat_inbound_unprocessed", "Stored messages not yet processed (filed or answered)",
                    value=unprocessed or 0)
        silence = gauge("sambat_device_last_seen_seconds", "Seconds since each Android SMS phone was last heard",
                        labels=["channel", "device"])
        for channel, device_id, last_seen in devices:
            silence.add_metric([channel, device_id], max(0.0, (now - last_seen).total_seconds()))
        yield silence
        spool = spool_depth(self.runtime)  # None: Redis unreadable (sambat_dependency_up says so)
        if spool is not None:
            yield gauge("sambat_spool_depth", "Messages accepted while the database was unreachable, waiting to be "
                        "imported (docs/spool.md)", value=spool)
        try:
            with self.runtime.db.session() as session:
                dead = dead_count(session)
        except Exception as exc:  # noqa: BLE001
            log.warning("metrics: dead jobs unreadable: %s: %s", type(exc).__name__, exc)
        else:
            yield gauge("sambat_dead_jobs", "Messages and sends given up after jobs.max_attempts (console: Gagal)",
                        value=dead)
