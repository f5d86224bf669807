"""The phones a channel sends and receives through (SMS Gateway for Android), and the alerts when they go quiet.

A phone gateway fails by going silent: the battery dies, it loses signal, someone unplugs it. Every webhook a
device sends (a ping or any event) stamps its row; the scheduler e-mails the super-admins once per silence
(:class:`DeviceAlert`, unique by its key, the way deadline alerts are sent once with several schedulers).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class Device(Base):
    """One device of a channel, as its webhooks name it (the app's ``deviceId``), and when it was last heard."""

    __tablename__ = "devices"
    __table_args__ = (UniqueConstraint("channel", "device_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))  # android-sms
    device_id: Mapped[str] = mapped_column(String(64))
    first_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)  # any event
    last_event: Mapped[str] = mapped_column(String(40))  # the event last heard: system:ping, sms:received ...
    last_ping_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_sim_number: Mapped[int | None] = mapped_column(Integer)  # the SIM of the last message in or out

    def __repr__(self) -> str:
        return f"<Device {self.channel} {self.device_id} {self.last_event} at {self.last_seen_at}>"


class DeviceAlert(Base):
    """The e-mail that no device of a channel has been heard for too long, written once per silence.

    The key names the channel and the moment the silence began (the last time any of its devices was heard,
    or ``never``): the scheduler whose insert wins writes the e-mails in the same transaction; the others, and
    every later check during the same silence, fail on the key and send nothing.
    """

    __tablename__ = "device_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    silent_since: Mapped[datetime | None] = mapped_column(UTCDateTime())  # None: never heard from at all
    waiting: Mapped[int] = mapped_column(Integer)  # messages waiting to go out through it when the alert was made
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<DeviceAlert {self.key} {self.waiting} waiting>"
