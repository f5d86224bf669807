"""Watching the phones a channel works through: the console lists them, the scheduler e-mails when they go quiet.

A phone gateway fails by going silent: the battery dies, it loses signal, someone unplugs it. Each of its
webhooks stamps the device's row (``models.Device``). A channel that declares ``silent_alert_minutes``
(SMS Gateway for Android: ``android_sms.silent_alert_minutes``) is silent when none of its devices has been
heard for that long while messages wait to go out through it; the super-admins then get one e-mail.

One e-mail per silence, however many scheduler processes check: the alert is a :class:`models.DeviceAlert`
row under a key naming the channel and the moment the silence began (the last time a device was heard), and
its e-mails are outbox rows written in the same transaction, as deadline reminders are
(:mod:`gateway.complaints.reminders`). The process whose insert wins sends; every other check of the same silence hits
the key. A device heard again ends the silence; the next one has a new key.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from channels import registry
from gateway.complaints.outbox import add_message
from gateway.runtime import DEFAULT, Runtime, due
from models import STATUS_RANK, Device, DeviceAlert, Outbox, User, utcnow
from models.user import SUPER_ADMIN

log = logging.getLogger(__name__)

INTERVAL = 60.0  # seconds between checks in one scheduler process
# Not yet sent: waiting for a send, being sent, or taken by the provider but not yet out of the phone.
WAITING = tuple(status for status, rank in STATUS_RANK.items() if rank < STATUS_RANK["sent"])
# A message this fresh may simply be on its way through a live phone: it does not count as waiting yet.
WAITING_GRACE = timedelta(minutes=2)


@dataclass(frozen=True)
class DeviceStatus:
    """One device as the console lists it."""

    channel: str
    device_id: str
    last_seen_at: datetime
    last_event: str
    last_ping_at: datetime | None
    last_sim_number: int | None
    silent: bool  # not heard for longer than its channel's silent_alert_minutes


@dataclass
class SilenceResult:
    """What one check found and did, for logs and tests."""

    silent: list[str]
    alerts: int = 0
    emails: int = 0


def watched_channels(settings: Any) -> dict[str, int]:
    """Channel name -> minutes of silence before an alert, for every channel that declares it (0: not watched)."""
    watched = {}
    for spec in registry.specs():
        minutes = spec.silent_alert_minutes(settings) if spec.silent_alert_minutes else 0
        if minutes:
            watched[spec.name] = int(minutes)
    return watched


def device_statuses(session: Session, settings: Any, now: datetime | None = None) -> list[DeviceStatus]:
    """Every device, the one heard from longest ago first, each marked when it is past its channel's limit."""
    now = now or utcnow()
    watched = watched_channels(settings)
    shown = []
    for device in session.scalars(select(Device).order_by(Device.last_seen_at, Device.id)):
        minutes = watched.get(device.channel)
        silent = bool(minutes) and device.last_seen_at < now - timedelta(minutes=minutes)
        shown.append(DeviceStatus(channel=device.channel, device_id=device.device_id,
                                  last_seen_at=device.last_seen_at, last_event=device.last_event,
                                  last_ping_at=device.last_ping_at, last_sim_number=device.last_sim_number,
                                  silent=silent))
    return shown


def device_work(runtime: Runtime, interval: float = INTERVAL) -> SilenceResult | None:
    """Called on every scheduler sweep: runs :func:`check_silence` at most once per ``interval`` seconds."""
    if not due("devices", runtime, interval):
        return None
    return check_silence(runtime)


def check_silence(runtime: Runtime, now: datetime | None = None) -> SilenceResult:
    """E-mail the super-admins once for each watched channel that is silent while its messages wait."""
    now = now or utcnow()
    result = SilenceResult(silent=[])
    outbox: list[int] = []
    with runtime.db.session() as session:
        for channel, minutes in watched_channels(runtime.settings).items():
            last_heard = session.scalar(select(func.max(Device.last_seen_at)).where(Device.channel == channel))
            if last_heard is not None and last_heard >= now - timedelta(minutes=minutes):
                continue
            waiting = session.scalar(select(func.count(Outbox.id)).where(
                Outbox.channel == channel, Outbox.status.in_(WAITING), Outbox.created_at <= now - WAITING_GRACE))
            if not waiting:
                continue
            result.silent.append(channel)
            written = _write_alert(session, runtime, channel, last_heard, waiting, minutes)
            if written is not None:
                result.alerts += 1
                outbox.extend(written)
    result.emails = len(outbox)
    for outbox_id in outbox:  # after the commit: behind citizens' replies
        runtime.send_soon(outbox_id, priority=DEFAULT)
    if result.alerts:
        log.warning("devices silent: %s; %s e-mails to the super-admins", ", ".join(result.silent), result.emails)
    return result


def _write_alert(session: Session, runtime: Runtime, channel: str, last_heard: datetime | None, waiting: int,
                 minutes: int) -> list[int] | None:
    """Insert the alert under its key and its e-mails, in one commit; None when this silence has its alert."""
    key = f"silent:{channel}:{last_heard.isoformat() if last_heard else 'never'}"
    alert = DeviceAlert(key=key, channel=channel, silent_since=last_heard, waiting=waiting)
    session.add(alert)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        return None
    subject, body = _email(session, runtime, channel, last_heard, waiting, minutes)
    rows = [add_message(session, dedupe_key=f"device-alert:{alert.id}:{user.id}", kind="device_silent",
                        channel="email", medium="email", recipient=user.email, sender=runtime.settings.mail.sender,
                        body=body, subject=subject)
            for user in session.scalars(select(User).where(User.active, User.role == SUPER_ADMIN).order_by(User.id))]
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return None
    return [row.id for row in rows]


def _email(session: Session, runtime: Runtime, channel: str, last_heard: datetime | None, waiting: int,
           minutes: int) -> tuple[str, str]:
    """Subject and text of the alert (Indonesian, like the console)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(runtime.settings.timezone)

    def local(moment: datetime | None) -> str:
        return moment.astimezone(zone).strftime("%d-%m-%Y %H:%M") if moment else "belum pernah"

    since = local(last_heard)
    subject = f"[Sambat] Ponsel gateway SMS tidak terdengar sejak {since}"
    devices = session.scalars(select(Device).where(Device.channel == channel).order_by(Device.last_seen_at.desc()))
    listed = "\n".join(f"- {device.device_id}: terakhir {local(device.last_seen_at)} ({device.last_event})"
                       for device in devices) or "- (belum ada ponsel yang pernah mengirim kabar)"
    link = f"{(runtime.settings.public_url or '').rstrip('/')}/admin/dashboard"
    body = (f"Tidak ada ponsel gateway SMS ({channel}) yang terdengar sejak {since} (batas {minutes} menit), "
            f"sementara {waiting} pesan menunggu dikirim lewat ponsel itu.\n\n"
            "Periksa ponsel: baterai dan pengisi daya, sinyal dan pulsa SIM, koneksi internet, dan aplikasi "
            f"SMS Gateway masih berjalan.\n\nPonsel:\n{listed}\n\nDasbor: {link}\n\n-- Sambat {runtime.settings.city}")
    return subject, body
