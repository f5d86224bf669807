"""The scheduler retrains the router's model when ``router.learning.retrain_every`` new examples arrived.

One scheduler at a time: on PostgreSQL a session advisory lock (``pg_try_advisory_lock``) held on its own
connection while it trains, so several schedulers on several machines train once; on SQLite (one machine,
``sambat up``) a lock in the process. Whoever gets the lock checks again that training is due, so a scheduler
that waited behind another finds the new model and does nothing. Workers pick the model up themselves
(``gateway.complaints.routing.ModelCache``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text

from gateway.complaints.routing import retrain_due, train_and_store
from gateway.runtime import Runtime
from router.learning import LearningError

log = logging.getLogger(__name__)

LOCK_KEY = 0x5A4D_4254  # "SMBT": the advisory lock of training
CHECK_EVERY = 60.0  # seconds between checks in run_forever
_local = threading.Lock()
_last_check = {"at": float("-inf")}


@contextmanager
def training_lock(runtime: Runtime) -> Iterator[bool]:
    """Yield True while this process holds the training lock, False when another holds it (never waits)."""
    if runtime.db.engine.dialect.name != "postgresql":
        held = _local.acquire(blocking=False)
        try:
            yield held
        finally:
            if held:
                _local.release()
        return
    with runtime.db.engine.connect() as connection:
        held = bool(connection.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}).scalar())
        connection.commit()
        try:
            yield held
        finally:
            if held:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
                connection.commit()


def retrain_if_due(runtime: Runtime) -> str | None:
    """Train and store a new model when due and nobody else is training; return its version, else None."""
    settings = runtime.settings
    if not settings.learning.enabled:
        return None
    with runtime.db.session() as session:
        if not retrain_due(session, settings.learning):
            return None
    with training_lock(runtime) as held:
        if not held:
            return None
        with runtime.db.session() as session:
            if not retrain_due(session, settings.learning):  # another scheduler trained while we looked
                return None
            try:
                row, new = train_and_store(session, settings)
            except LearningError as error:
                log.warning("router model not retrained: %s", error)
                return None
            session.commit()
            if new:
                log.info("router model %s trained on %s examples", row.version, row.example_count)
            return row.version if new else None


def maybe_retrain(runtime: Runtime, every: float = CHECK_EVERY) -> str | None:
    """``retrain_if_due`` at most every ``every`` seconds (the scheduler's loop calls this each sweep)."""
    now = time.monotonic()
    if now - _last_check["at"] < every:
        return None
    _last_check["at"] = now
    return retrain_if_due(runtime)
