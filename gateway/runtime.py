"""What the web app and the jobs share: settings, database, queue and the senders, built once."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import select

from channels.base import Sender
from channels.console import ConsoleSender
from channels.twilio import TwilioChannel, TwilioSender
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

    @property
    def default_sms_sender(self) -> str:
        """The sender name used for SMS Sambat starts (not replies): from ``sms.provider``."""
        return self.settings.outbound_sms_provider

    def sender_for(self, channel: str) -> str:
        """Reply on the provider a message came in on, when we can send through it."""
        return channel if channel in self.senders else self.default_sms_sender

    def status_callback_url(self, outbox_id: int) -> str | None:
        """Where Twilio reports delivery of one outbox row; None without a public URL."""
        if not self.settings.public_url:
            return None
        return f"{self.settings.public_url.rstrip('/')}/webhooks/twilio/status?outbox={outbox_id}"


def build_runtime(settings: Settings, queue: JobQueue | None = None,
                  senders: dict[str, Sender] | None = None) -> Runtime:
    """Build the runtime from settings: database handle, queue, senders and channels."""
    if not settings.database_url:
        raise ValueError("DATABASE_URL is not set")
    if queue is None:
        queue = RQQueue(settings.redis_url, settings.queue_name) if settings.redis_url else EmbeddedQueue()
    if senders is None:
        senders = {"console": ConsoleSender()}
        # An explicit "console" provider is a safety switch (staging, demos): nothing goes out at all.
        if settings.sms_provider != "console" and settings.twilio_account_sid and settings.twilio_auth_token:
            senders["twilio"] = TwilioSender(
                settings.twilio_account_sid, settings.twilio_auth_token,
                from_number=settings.twilio_from, messaging_service_sid=settings.twilio_messaging_service_sid,
                api_base_url=settings.twilio_api_base_url, timeout=settings.send_timeout,
            )
    channels = {"twilio": TwilioChannel(settings.twilio_auth_token, region=settings.phone_region)}
    return Runtime(settings=settings, db=Database(settings.database_url), queue=queue, senders=senders,
                   channels=channels)


def sync_agencies(runtime: Runtime) -> None:
    """Make the agencies table match config.yaml: add new ones, rename, deactivate the removed."""
    configured = {agency.code: agency.name for agency in runtime.settings.routing.agencies}
    with runtime.db.session() as session:
        existing = {agency.code: agency for agency in session.scalars(select(Agency))}
        for code, name in configured.items():
            if code not in existing:
                session.add(Agency(code=code, name=name, active=True))
            elif existing[code].name != name or not existing[code].active:
                existing[code].name, existing[code].active = name, True
        for code, agency in existing.items():
            if code not in configured and agency.active:
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
