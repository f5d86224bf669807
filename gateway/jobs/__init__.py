"""The jobs layer: the queue, the jobs a worker runs, and building a process's runtime."""

from __future__ import annotations

import functools

from channels import registry
from channels.base import Sender
from channels.console import NAME as CONSOLE
from channels.console import ConsoleSender
from gateway.jobs.inbound import store_and_enqueue
from gateway.jobs.outbox import apply_report
from gateway.jobs.queue import EmbeddedQueue, RQQueue
from gateway.jobs.spool import accept_mail_or_spool, build_spool
from gateway.jobs.throttle import build_throttle
from gateway.runtime import JobQueue, Runtime
from gateway.settings import Settings
from models import Database


def build_runtime(settings: Settings, queue: JobQueue | None = None,
                  senders: dict[str, Sender] | None = None) -> Runtime:
    """Build a runtime from settings alone: database handle, queue, each registered channel's sender and parser.

    Nothing is written to the database and no Flask app is built: a worker starts with this.

    Raises:
        ValueError: when DATABASE_URL is not set.
    """
    if not settings.database_url:
        raise ValueError("DATABASE_URL is not set")
    if queue is None:
        queue = (RQQueue(settings.redis_url, settings.queue_name, timeouts=settings.jobs.timeouts) if settings.redis_url
                 else EmbeddedQueue())
    specs = registry.specs()
    if senders is None:
        senders = {CONSOLE: ConsoleSender()}
        for spec in specs:
            sender = spec.build_sender(settings) if spec.build_sender else None
            if sender is not None:
                senders[spec.name] = sender
    channels = {spec.name: spec.build_channel(settings) for spec in specs if spec.build_channel}
    runtime = Runtime(settings=settings, db=Database(settings.database_url), queue=queue, senders=senders,
                      channels=channels, throttle=build_throttle(settings, queue), spool=build_spool(queue))
    # The e-mail listener's and poller's intake: stored, or spooled to Redis while the database is down.
    runtime.mail_intake = functools.partial(accept_mail_or_spool, runtime)
    runtime.accept_message = functools.partial(store_and_enqueue, runtime)
    runtime.apply_report = functools.partial(apply_report, runtime)
    return runtime
