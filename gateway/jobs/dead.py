"""Dead work: inbound messages whose processing, and replies whose sending, failed ``jobs.max_attempts`` times.

Nothing dead is retried on its own (a poison message never stalls the queue again); the console lists it with its
error and a retry button (:func:`retry`), which starts its count afresh. :func:`count` is the number the metrics
report (``sambat_dead_jobs``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gateway.runtime import HIGH, Runtime, send_priority
from models import InboundMessage, Outbox, utcnow
from models.message import DEAD, RETRY

log = logging.getLogger(__name__)

MESSAGE, SEND = "message", "send"
KINDS = (MESSAGE, SEND)


@dataclass(frozen=True)
class DeadItem:
    """One dead message or send, as the console lists it."""

    kind: str  # MESSAGE or SEND
    id: int
    channel: str
    address: str  # who it came from (a message) or goes to (a send)
    summary: str  # the start of its text
    attempts: int
    error: str
    since: datetime | None


def count(session: Session) -> int:
    """How many messages and sends are dead now."""
    messages = session.scalar(select(func.count(InboundMessage.id)).where(InboundMessage.dead_at.is_not(None)))
    sends = session.scalar(select(func.count(Outbox.id)).where(Outbox.status == DEAD))
    return (messages or 0) + (sends or 0)


def dead_items(session: Session, limit: int = 200) -> list[DeadItem]:
    """The dead messages and sends, newest first (at most ``limit`` of each)."""
    items = [
        DeadItem(MESSAGE, row.id, row.channel, row.sender, _summary(row.body), row.attempts,
                 row.last_error or "", row.dead_at)
        for row in session.scalars(select(InboundMessage).where(InboundMessage.dead_at.is_not(None))
                                   .order_by(InboundMessage.dead_at.desc()).limit(limit))
    ] + [
        DeadItem(SEND, row.id, row.channel, row.recipient, _summary(row.body), row.attempts,
                 row.last_error or "", row.status_updated_at)
        for row in session.scalars(select(Outbox).where(Outbox.status == DEAD)
                                   .order_by(Outbox.status_updated_at.desc()).limit(limit))
    ]
    return sorted(items, key=lambda item: item.since or datetime.min.replace(tzinfo=utcnow().tzinfo), reverse=True)


def retry(runtime: Runtime, kind: str, row_id: int) -> bool:
    """Bring one dead message or send back with its count started afresh, and queue it. False when it is not
    dead (any more): retried already, or not found. A send whose earlier outcome was unknown still asks its
    provider before it goes out again."""
    with runtime.db.session() as session:
        if kind == MESSAGE:
            changed = session.execute(
                update(InboundMessage).where(InboundMessage.id == row_id, InboundMessage.dead_at.is_not(None),
                                             InboundMessage.processed_at.is_(None))
                .values(dead_at=None, attempts=0, next_attempt_at=None)
            ).rowcount
        elif kind == SEND:
            changed = session.execute(
                update(Outbox).where(Outbox.id == row_id, Outbox.status == DEAD)
                .values(status=RETRY, attempts=0, throttled=0, next_attempt_at=utcnow(), status_updated_at=utcnow())
            ).rowcount
        else:
            raise ValueError(f"not a kind of dead work: {kind!r} (one of {', '.join(KINDS)})")
        session.commit()
        priority = send_priority(session.get(Outbox, row_id)) if changed and kind == SEND else HIGH
    if not changed:
        return False
    log.info("dead %s %s retried", kind, row_id)
    if kind == MESSAGE:
        try:
            runtime.process_soon()
        except Exception:  # noqa: BLE001 - no longer dead: the scheduler's sweep queues it
            log.exception("could not enqueue inbound message %s; the scheduler will", row_id)
    else:
        runtime.send_soon(row_id, priority=priority)
    return True


def _summary(text: str | None, length: int = 120) -> str:
    flat = " ".join((text or "")[: length * 2].split())
    return flat if len(flat) <= length else flat[: length - 1] + "…"
