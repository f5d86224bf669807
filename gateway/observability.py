"""What an operator sees: the counts behind ``GET /metrics``, and the logs (text, or JSON lines).

The processes count messages in, sends, send errors and the time from webhook to reply.

Counters and the histogram live in each process (web, ``sambat worker``, the scheduler). Under gunicorn and
with workers in their own processes they are shared through prometheus_client's multiprocess mode: every
process of one host writes its values into the directory named by ``PROMETHEUS_MULTIPROC_DIR`` and the web's
``/metrics`` adds them up (``gateway.web.metrics``). prometheus_client picks that mode when it is first
imported, so it is imported here lazily, on the first count, after ``sambat web|worker|scheduler`` has set
the directory (:func:`use_directory`).

What is a state rather than a count (queue and spool depth, outbox rows by status, dead jobs, the Android
phones' silence) is read from Redis and the database when ``/metrics`` is scraped, not counted here.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Seconds from the webhook to the ticket reply accepted by the provider: the goal is p95 under 2 s.
REPLY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)


def use_directory(directory: str | os.PathLike[str]) -> Path:
    """Make this process (and the processes it starts) count into ``directory``, unless one is set already.

    Must run before the first count; the web, worker and scheduler commands call it at start.
    Returns the directory in use.
    """
    chosen = Path(os.environ.get(MULTIPROC_ENV) or directory)
    chosen.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(chosen)
    return chosen


def multiprocess() -> bool:
    """True when values are shared through a directory (and ``/metrics`` must add up every process's)."""
    return bool(os.environ.get(MULTIPROC_ENV) or os.environ.get("prometheus_multiproc_dir"))


@functools.cache
def _metrics() -> dict[str, Any]:
    from prometheus_client import Counter, Histogram

    return {
        "received": Counter("sambat_messages_received", "Messages stored, new (not repeats), by channel and medium",
                            ["channel", "medium"]),
        "send_errors": Counter("sambat_send_errors", "Sends a provider refused or that failed, by provider and "
                               "error code (Twilio's code, or the error's kind)", ["channel", "code"]),
        "sent": Counter("sambat_messages_sent", "Outbox rows a provider accepted, by provider and kind",
                        ["channel", "kind"]),
        "reply_seconds": Histogram("sambat_reply_seconds", "Seconds from a message's webhook to its ticket reply "
                                   "accepted by the provider", ["channel"], buckets=REPLY_BUCKETS),
    }


def count_received(channel: str, medium: str) -> None:
    """One new message stored (a provider's repeat delivery is not counted)."""
    _safely(lambda: _metrics()["received"].labels(channel, medium).inc())


def count_send_error(channel: str, code: str | None) -> None:
    _safely(lambda: _metrics()["send_errors"].labels(channel, (code or "unknown")[:40]).inc())


def count_sent(channel: str, kind: str) -> None:
    _safely(lambda: _metrics()["sent"].labels(channel, kind).inc())


def observe_reply(channel: str, seconds: float) -> None:
    """The time from a message's webhook to its ticket reply, once the provider accepted the reply."""
    _safely(lambda: _metrics()["reply_seconds"].labels(channel).observe(max(0.0, seconds)))


def _safely(count: Any) -> None:
    # A metric must never fail the work it counts (a full disk under the multiprocess directory, say).
    try:
        count()
    except Exception:  # noqa: BLE001
        log.warning("could not update a metric", exc_info=True)


LOG_FORMAT_TEXT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(log_format: str = "text", level: str = "INFO") -> None:
    """Configure the root logger once per process: plain lines, or one JSON object per line.

    JSON lines carry ``time``, ``level``, ``logger``, ``message``, the process id, any ``extra`` fields and,
    for an exception, its traceback as ``exc_info``.
    """
    handler = logging.StreamHandler()
    if log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(JsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d",
            rename_fields={"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"},
            timestamp=False,
        ))
    else:
        handler.setFormatter(logging.Formatter(LOG_FORMAT_TEXT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("alembic", "twilio.http_client"):  # request dumps and plugin chatter at INFO
        logging.getLogger(noisy).setLevel(logging.WARNING)
