"""API keys of client apps: made once and shown once, kept only as a SHA-256 hash, checked per request.

A key is 32 random bytes (``sbt_`` + URL-safe base64), so a plain SHA-256 is the right hash: there is
nothing to guess that a slow password hash would protect. The first characters are kept to tell keys apart
in listings; ``last_used_at`` is written at most once a minute per key.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import ApiKey, utcnow

KEY_PREFIX = "sbt_"
SHOWN = 12  # characters kept in clear: "sbt_" and 8 of the random part
TOUCH_EVERY = timedelta(minutes=1)


class ApiKeyError(ValueError):
    """A name that cannot be used for a new key (empty, too long, taken)."""


def hash_key(key: str) -> str:
    """The stored form of a key."""
    return hashlib.sha256(key.strip().encode("utf-8", "surrogatepass")).hexdigest()


def create_key(session: Session, name: str) -> tuple[ApiKey, str]:
    """Make a key for a client app and commit it. Returns the row and the key, which is never stored.

    Raises:
        ApiKeyError: the name is empty, longer than 80 characters, or already has a key.
    """
    name = (name or "").strip()
    if not name or len(name) > 80 or not name.isprintable():
        raise ApiKeyError("NAME: give the client app's name, 1 to 80 printable characters")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, prefix=key[:SHOWN], key_hash=hash_key(key))
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise ApiKeyError(f"NAME: a key named {name!r} exists; revoke it first or choose another name") from None
    return row, key


def check_key(session: Session, presented: str | None) -> ApiKey | None:
    """The active key a client presented, or None. Records when it was last used (and commits that)."""
    if not presented or len(presented) > 200:
        return None
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(presented), ApiKey.revoked_at.is_(None)))
    if row is None:
        return None
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > TOUCH_EVERY:
        row.last_used_at = now
        session.commit()
    return row


def revoke_key(session: Session, name: str) -> ApiKey | None:
    """Revoke the active key with this name; None when there is none."""
    row = session.scalar(select(ApiKey).where(ApiKey.name == name, ApiKey.revoked_at.is_(None)))
    if row is not None:
        row.revoked_at = utcnow()
        # Free the name for a new key: a revoked key keeps its row under a name that says so.
        row.name = f"{name[:50]} (revoked {row.revoked_at:%Y%m%d%H%M%S})"
        session.commit()
    return row


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, newest first."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id.desc())))
