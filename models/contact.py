"""Citizens who reach Sambat, and agencies (OPD) that answer them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class Contact(Base):
    """A citizen, known by an E.164 phone number and/or an e-mail address."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(20), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    name: Mapped[str | None] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(5), default="id")
    opted_out: Mapped[bool] = mapped_column(Boolean, default=False)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    def __repr__(self) -> str:
        return f"<Contact {self.id} {self.phone or self.email}>"


# Who owns an agency's name and active flag: config.yaml (synced at every start) or the super-admin's console.
FROM_CONFIG, FROM_CONSOLE = "config", "console"


class Agency(Base):
    """A regional government body (OPD).

    Agencies listed in config.yaml are kept in step with it at every start (``source`` ``config``); the
    super-admin may add others in the console, or rename and deactivate any, which makes it ``console``:
    from then on the start leaves its name and active flag alone.
    """

    __tablename__ = "agencies"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    source: Mapped[str] = mapped_column(String(10), default=FROM_CONFIG, server_default=FROM_CONFIG)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    def __repr__(self) -> str:
        return f"<Agency {self.code}>"
