"""What the web app and the jobs share: settings, database, queue and the senders, built once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from channels import registry
from channels.base import Sender
from channels.console import ConsoleSender
from channels.registry import ReplyAddress, default_reply_address
from gateway.queue import EmbeddedQueue, JobQueue, RQQueue
from gateway.settings import Settings
from models import Agency, Database

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """The parts one process runs with. Jobs get it from :func:`current_runtime`."""

    settings: Settings
    db: Database
    queue: JobQueue
    senders: dict[str, Sender] = field(default_factory=dict)
    channels: dict[str, Any] = field(default_factory=dict)
    throttle: Any = None  # gateway.throttle.Throttle: per-provider send rates

    @property
    def default_sms_sender(self) -> str:
        """The sender name used for SMS Sambat starts (not replies): from ``sms.provider``."""
        return self.settings.outbound_sms_provider

    def sender_for(self, channel: str) -> str:
        """Reply on the provider a message came in on, when we can send through it."""
        return channel if channel in self.senders else self.default_sms_sender

    def status_callback_url(self, outbox_id: int, channel: str = "twilio") -> str | None:
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


def build_runtime(settings: Settings, queue: JobQueue | None = None,
                  senders: dict[str, Sender] | None = None) -> Runtime:
    """Build the runtime from settings: database handle, queue, and each registered channel's sender and parser."""
    if not settings.database_url:
        raise ValueError("DATABASE_URL is not set")
    if queue is None:
        queue = RQQueue(settings.redis_url, settings.queue_name) if settings.redis_url else EmbeddedQueue()
    specs = registry.specs()
    if senders is None:
        senders = {"console": ConsoleSender()}
        for spec in specs:
            sender = spec.build_sender(settings) if spec.build_sender else None
            if sender is not None:
                senders[spec.name] = sender
    channels = {spec.name: spec.build_channel(settings) for spec in specs if spec.build_channel}
    from gateway.throttle import build_throttle

    return Runtime(settings=settings, db=Database(settings.database_url), queue=queue, senders=senders,
                   channels=channels, throttle=build_throttle(settings, queue))


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


_worker_app: Any = None


def current_runtime() -> Runtime:
    """The runtime of the current app, or of an app built once for this worker process."""
    global _worker_app
    if has_app_context():
        return current_app.extensions["sambat"]
    if _worker_app is None:
        from gateway.app import create_app

        _worker_app = create_app()
    return _worker_app.extensions["sambat"]
