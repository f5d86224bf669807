"""Citizens who reach Sambat, and agencies (OPD) that answer them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class Contact(Base):
    """A citizen, known by an E.164 phone number, an e-mail address, or a pair of both.

    A phone or an e-mail address joins a contact only when proven, so there are two kinds of row:

    - one identity (phone only, or e-mail only): the number or address itself, proven by every message that
      comes from it (an SMS, a WhatsApp message, a mail whose sender the receiving server did not fail). At most
      one row per phone and one per address.
    - a pair: a phone and an address given together on the form, in the app or through Open311, proven by
      nobody. Each pair is its own contact; it never merges with the phone's or the address's own row, so
      pairing someone's address with another phone reaches none of their complaints.
    """

    __tablename__ = "contacts"
    __table_args__ = (
        UniqueConstraint("phone", "email", name="uq_contacts_pair"),
        Index("uq_contacts_phone_only", "phone", unique=True, postgresql_where=text("email IS NULL"),
              sqlite_where=text("email IS NULL")),
        Index("uq_contacts_email_only", "email", unique=True, postgresql_where=text("phone IS NULL"),
              sqlite_where=text("phone IS NULL")),
        Index("ix_contacts_email", "email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    email: Mapped[str | None] = mapped_column(String(254))
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
