"""What the web app and the jobs share: settings, database, queue and the senders, built once.

A process builds its :class:`Runtime` once (``gateway.jobs.build_runtime``: the web app at start, a worker
without Flask) and jobs find it with :func:`current_runtime`. Jobs are named here, not imported, so the
complaint domain can ask for a send without importing the jobs layer above it.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from channels import registry
from channels.base import Sender
from channels.registry import ReplyAddress, default_reply_address
from gateway.settings import Settings
from models import Agency, Database

log = logging.getLogger(__name__)

HIGH, DEFAULT = "high", "default"  # new messages and ticket replies first, then status updates and the rest
# The jobs, by name: rq imports them in the worker; the embedded queue imports them the same way.
PROCESS_INBOUND = "gateway.jobs.inbound.process_inbound"
SEND_OUTBOUND = "gateway.jobs.outbox.send_outbound"
INBOUND_WAKE = "inbound"  # the wake-up key of PROCESS_INBOUND (JobQueue.wake)
WAKE_WINDOW = 0.05  # seconds at most: see wake_window()


def wake_window(settings: Settings) -> float:
    """How long a woken inbound job still waits after it cleared its flag, before it first looks; and so how long
    after a wake a web process may store messages without waking again (:meth:`Runtime.process_soon`).

    Why that is safe: a wake sent at time t found the flag set (it set it, or another caller had). The job that
    flag belongs to has not cleared it by t, so it clears it at some C >= t and then waits this window: it looks
    at C + window >= t + window, and sees every message committed before then. Half of ``jobs.batch_wait``, at
    most :data:`WAKE_WINDOW` (so none when ``batch_wait`` is 0): the job waits the whole ``batch_wait`` before it
    clears the flag, so what arrives meanwhile still joins its batch without a job of its own, and a reply waits
    this window more. The web and the workers must run with the same ``jobs.batch_wait`` (one config.yaml); a
    web process with a longer one could leave a message to the scheduler's sweep (5 s), never lose it.
    """
    return min(WAKE_WINDOW, settings.jobs.batch_wait / 2)


def job_id(kind: str, row_id: int) -> str:
    """The one id of the job that works one row (``send-42``, ``check-7``): queued once while it waits."""
    return f"{kind}-{row_id}"


def send_priority(row: Any) -> str:
    """The queue the send of an outbox row goes to, first try and retries alike: an answer to what a citizen sent
    (a ticket reply, a command's answer) is HIGH; what Sambat starts (status updates, reminders, alerts) DEFAULT."""
    return HIGH if row.inbound_message_id is not None and row.kind != "status_update" else DEFAULT


class JobQueue(Protocol):
    """What the pipeline needs from a queue (``gateway.jobs.queue``: rq on Redis, or embedded)."""

    def enqueue(self, func: Callable[..., Any] | str, *args: Any, priority: str = DEFAULT,
                job_id: str | None = None) -> bool:
        """Run ``func(*args)`` soon, in a worker; ``func`` may be a job's dotted name. With ``job_id``, nothing
        is queued while a job of that id waits or runs (returns False)."""

    def wake(self, func: Callable[..., Any] | str, key: str, priority: str = DEFAULT, force: bool = False) -> bool:
        """Queue ``func()`` unless a job woken by ``key`` has not started yet; ``force`` queues one anyway."""

    def woken(self, key: str) -> None:
        """Called by a woken job as it starts: what comes in from now on wakes a new job."""

    def ping(self) -> bool:
        """True when the queue can take jobs."""


@dataclass
class Runtime:
    """The parts one process runs with. Jobs get it from :func:`current_runtime`."""

    settings: Settings
    db: Database
    queue: JobQueue
    senders: dict[str, Sender] = field(default_factory=dict)
    channels: dict[str, Any] = field(default_factory=dict)
    throttle: Any = None  # gateway.jobs.throttle.Throttle: per-provider send rates
    spool: Any = None  # gateway.jobs.spool.RedisSpool: webhooks and mail while the database is down (docs/spool.md)
    # What the jobs layer hands to channels that store what they parse (the e-mail listener and poller, the
    # Android gateway), so that no channel imports the gateway: gateway.jobs.build_runtime wires them.
    mail_intake: Callable[..., Any] | None = None  # (raw mail, envelope sender) -> stored: gateway.jobs.mail
    accept_message: Callable[..., Any] | None = None  # (message, before_enqueue) -> (id, created)
    apply_report: Callable[..., Any] | None = None  # (delivery report) -> what it changed
    _quiet_until: float = field(default=0.0, repr=False)  # process_soon: no wake needed before this (monotonic)

    def send_soon(self, outbox_id: int, priority: str = DEFAULT) -> None:
        """Queue the send of one committed outbox row. A queue that is down is logged: the scheduler's
        sweep sends every row still owed."""
        try:
            self.queue.enqueue(SEND_OUTBOUND, outbox_id, priority=priority, job_id=job_id("send", outbox_id))
        except Exception:  # noqa: BLE001 - committed; the scheduler's sweep sends pending rows
            log.exception("could not enqueue outbox row %s; the scheduler will send it", outbox_id)

    def process_soon(self, force: bool = False) -> None:
        """Wake a job that processes the committed inbound messages waiting, in batches (one job for many: a
        message stored while such a job waits to start is left to it).

        Called after the message is committed. Within :func:`wake_window` of this process's last wake, nothing is
        sent: the job that wake found looks later than that (under load this spares most webhooks their Redis
        command). ``force`` (the sweep, a batch put back) always queues a job."""
        now = time.monotonic()
        if not force and now < self._quiet_until:
            return
        self.queue.wake(PROCESS_INBOUND, INBOUND_WAKE, priority=HIGH, force=force)
        self._quiet_until = now + wake_window(self.settings)  # from before the command: on the safe side

    @property
    def default_sms_sender(self) -> str:
        """The sender name used for SMS Sambat starts (not replies): from ``sms.provider``."""
        return self.settings.outbound_sms_provider

    def sender_for(self, channel: str) -> str:
        """Reply on the provider a message came in on, when we can send through it."""
        return channel if channel in self.senders else self.default_sms_sender

    def status_callback_url(self, outbox_id: int, channel: str) -> str | None:
        """Where the provider reports delivery of one outbox row; None when it has no callback URL."""
        spec = registry.spec_for(channel)
        if spec is None or spec.status_callback is None:
            return None
        return spec.status_callback(self.settings, outbox_id)

    def reply_address(self, message: Any, complaint: Any = None) -> tuple[str, ReplyAddress]:
        """The sender name and address of the reply to an inbound message: the channel it came in on."""
        spec = registry.spec_for(message.channel)
        address_for = spec.reply_address if spec is not None and spec.reply_address else default_reply_address
        return self.sender_for(message.channel), address_for(message, complaint, self.settings)

    def answers_in_kind(self, channel: str) -> bool:
        """True when a message's answer goes back the way it came (SMS, WhatsApp, e-mail), False when the
        citizen is reached through their contact details (the web form, the app, Open311)."""
        spec = registry.spec_for(channel)
        return spec is None or spec.answers_in_kind

    def concatenates_sms(self, channel: str) -> bool:
        """True when a long SMS through this channel arrives joined (see ``ChannelSpec.concatenates_sms``)."""
        spec = registry.spec_for(channel)
        return spec is None or spec.concatenates_sms

    def answer_address(self, message: Any, complaint: Any, contact: Any) -> tuple[str, ReplyAddress] | None:
        """How the answer to an inbound message reaches the citizen: back the way it came, or, for a channel
        that does not answer in kind, through the contact's details; None when it cannot."""
        if self.answers_in_kind(message.channel):
            return self.reply_address(message, complaint)
        if contact is None or getattr(contact, "id", None) is None:
            return None
        return self.update_address(complaint, contact, None)

    def update_address(self, complaint: Any, contact: Any, origin: Any = None) -> tuple[str, ReplyAddress] | None:
        """How to tell a contact about their complaint: on its channel, else by SMS from config, else e-mail.

        Args:
            complaint: the complaint (its ``channel`` and ``medium`` say how it came in).
            contact: the citizen.
            origin: the inbound message that created it, when there is one.

        Returns:
            The sender name and the address, or None when the contact cannot be reached.
        """
        spec = registry.spec_for(complaint.channel)
        if spec is not None and spec.contact_address is not None:
            address = spec.contact_address(contact, complaint, origin, self.settings)
            if address is not None:
                return self.sender_for(complaint.channel), address
        if contact.phone:
            medium = "whatsapp" if complaint.medium == "whatsapp" else "sms"
            sender = origin.recipient.removeprefix("whatsapp:") if origin is not None and origin.recipient else None
            return self.sender_for(complaint.channel), ReplyAddress(medium=medium, recipient=contact.phone,
                                                                    sender=sender)
        for spec in registry.specs():
            address = spec.contact_address(contact, complaint, origin, self.settings) if spec.contact_address else None
            if address is not None and spec.name in self.senders:
                return spec.name, address
        return None

    def thread_of(self, session: Any, message: Any) -> int | None:
        """The complaint an inbound message continues (an e-mail reply), by its channel's rule; else None."""
        spec = registry.spec_for(message.channel)
        return spec.thread(session, message) if spec is not None and spec.thread else None


def sync_agencies(runtime: Runtime) -> None:
    """Make the agencies table match config.yaml: add new ones, rename, deactivate the removed.

    Agencies the super-admin added or changed in the console (``source`` ``console``) are left alone.
    Every process runs this at start (``gunicorn -w 2`` starts two at once on a fresh database): when
    another process inserted the same agencies first, the loser rolls back and syncs again.
    """
    for attempt in (1, 2, 3):
        try:
            _sync_agencies_once(runtime)
            return
        except IntegrityError:
            if attempt == 3:
                raise
            log.info("another process added the agencies at the same moment; syncing again")


def _sync_agencies_once(runtime: Runtime) -> None:
    from models.contact import FROM_CONFIG

    configured = {agency.code: agency.name for agency in runtime.settings.routing.agencies}
    with runtime.db.session() as session:
        existing = {agency.code: agency for agency in session.scalars(select(Agency))}
        for code, name in configured.items():
            if code not in existing:
                session.add(Agency(code=code, name=name, active=True, source=FROM_CONFIG))
            elif existing[code].source == FROM_CONFIG and (existing[code].name != name or not existing[code].active):
                existing[code].name, existing[code].active = name, True
        for code, agency in existing.items():
            if code not in configured and agency.active and agency.source == FROM_CONFIG:
                agency.active = False
        session.commit()


_installed: Runtime | None = None
_last_runs: dict[tuple[str, int], float] = {}


def due(work: str, runtime: Runtime, interval: float) -> bool:
    """True at most once per ``interval`` seconds for one kind of timed work of one runtime (the scheduler's
    sweep runs every few seconds; deadline and device checks need only run once a minute)."""
    key, now = (work, id(runtime)), time.monotonic()
    if now - _last_runs.get(key, 0.0) < interval:
        return False
    _last_runs[key] = now
    return True


def install(runtime: Runtime | None) -> None:
    """Make ``runtime`` the one jobs of this process use when no Flask app is current (``sambat worker``)."""
    global _installed
    _installed = runtime


def current_runtime() -> Runtime:
    """The runtime of the current Flask app, else the one this process installed.

    Raises:
        RuntimeError: when neither is there (a job run outside ``sambat worker`` or an app).
    """
    flask = sys.modules.get("flask")
    if flask is not None and flask.has_app_context() and "sambat" in flask.current_app.extensions:
        return flask.current_app.extensions["sambat"]
    if _installed is None:
        raise RuntimeError("no Sambat runtime in this process: start jobs with `sambat worker` or inside the app")
    return _installed
