"""People who work the console: the super-admin, agency admins and read-only viewers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow

SUPER_ADMIN, AGENCY_ADMIN, VIEWER = "super-admin", "agency-admin", "viewer"
ROLES = (SUPER_ADMIN, AGENCY_ADMIN, VIEWER)


class User(Base):
    """A console user. Only an argon2 hash of the password is kept.

    An agency admin belongs to exactly one agency and sees only its complaints; the super-admin and
    viewers belong to none.
    """

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str | None] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(20))
    agency_code: Mapped[str | None] = mapped_column(ForeignKey("agencies.code"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Part of every session's user id (get_id): raising it ends every session of this user at once (logout,
    # a new password, deactivation), however many browsers hold a copy of the cookie.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    # Flask-Login's user protocol.
    @property
    def is_active(self) -> bool:
        return bool(self.active)

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """The id a session keeps: the user's id and session version (Flask-Login's "alternative token")."""
        return f"{self.id}:{self.session_version or 0}"

    def end_sessions(self) -> None:
        """End every session of this user (the caller commits)."""
        self.session_version = (self.session_version or 0) + 1

    @property
    def is_super_admin(self) -> bool:
        return self.role == SUPER_ADMIN

    @property
    def is_viewer(self) -> bool:
        return self.role == VIEWER

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role} {self.agency_code or ''}>"
