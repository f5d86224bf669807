"""gunicorn's settings for ``sambat web``: metrics shared by its workers, and JSON logs when asked.

Loaded with ``gunicorn -c python:gateway.cli.gunicorn_conf``; the command line given by ``sambat web`` sets
the rest (workers, bind, the access log).
"""

from __future__ import annotations

import os
from typing import Any


def child_exit(server: Any, worker: Any) -> None:
    """A gunicorn worker that exits (or is killed) leaves its counts behind; its live gauges go with it."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


if os.environ.get("SAMBAT_LOG_FORMAT") == "json":
    # gunicorn's own lines (its error log and the access log) as JSON objects too; the access line is the
    # message, escaped by the formatter.
    _json = {"()": "pythonjsonlogger.json.JsonFormatter",
             "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d",
             "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger", "process": "pid"}}
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": _json},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json",
                                 "stream": "ext://sys.stdout"}},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": ["console"], "propagate": False},
        },
    }
