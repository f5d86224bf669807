"""The audit log: who changed what, when, and how it looked before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, JSONType, UTCDateTime, utcnow


class AuditEntry(Base):
    """One change made through the console (or the CLI), written in the same transaction as the change."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Who: the user's e-mail as it was then (users may be renamed or removed later), and their id.
    actor: Mapped[str] = mapped_column(String(254))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(40), index=True)  # e.g. complaint.assign, user.create, login
    object_type: Mapped[str | None] = mapped_column(String(40))  # complaint, user ...
    object_id: Mapped[str | None] = mapped_column(String(40), index=True)  # a ticket code, a user's e-mail ...
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.actor} {self.action} {self.object_type}:{self.object_id}>"
