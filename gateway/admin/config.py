"""The ``admin:`` section of config.yaml (login limits, sessions, replies to rejected complaints), checked.

Only reads :class:`gateway.settings.Settings` fields, so settings can call :func:`validate_admin` while it
validates; the ``deadlines:`` section is checked here too (by :mod:`gateway.deadlines`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from limits import parse_many

from gateway.deadlines import validate_deadlines

# Why the super-admin takes a complaint out of the queue without an agency.
REJECT_REASONS = {"not_complaint": "Bukan aduan", "spam": "Spam"}
DEFAULT_REPLIES = {
    "not_complaint": {
        "id": "Pesan Anda bukan aduan untuk Pemkot, jadi tidak kami teruskan. Info: ketik BANTUAN.",
        "en": "Your message is not a complaint for the city, so it was not forwarded. Text HELP for more.",
    },
    "spam": None,
}
KEYS = {"login_rate_limit", "session_idle_minutes", "session_max_hours", "reject_replies"}
MAX_NOTE = 110  # the reply is "Tiket 1234 5678: Ditolak. <note>": one SMS segment in all


@dataclass(frozen=True)
class AdminConfig:
    """The console's settings.

    Attributes:
        login_rate_limit: Flask-Limiter limits on login attempts, per client address and per e-mail.
        session_idle_minutes: a session unused this long ends.
        session_max_hours: a session ends this long after login, used or not.
        reject_replies: reason -> language -> the note sent to the citizen; None: nothing is sent.
    """

    login_rate_limit: str = "5 per minute;20 per hour"
    session_idle_minutes: int = 30
    session_max_hours: int = 12
    reject_replies: Mapping[str, Mapping[str, str] | None] = field(default_factory=lambda: dict(DEFAULT_REPLIES))


def _config_error(message: str) -> Exception:
    from gateway.settings import ConfigError

    return ConfigError(message)


def admin_config(settings: Any) -> AdminConfig:
    """The console's settings (validated when the settings were loaded)."""
    return parse_admin(settings.admin or {}, "config")


def validate_admin(settings: Any, source: str) -> None:
    """Check the admin and deadlines sections; raise ConfigError naming the first bad key."""
    parse_admin(settings.admin or {}, source)
    validate_deadlines(settings, source)


def parse_admin(section: Any, source: str) -> AdminConfig:
    """Read the ``admin:`` section, naming the key of any mistake."""
    if not isinstance(section, Mapping):
        raise _config_error(f"{source}: admin: must be a mapping")
    unknown = sorted(set(section) - KEYS)
    if unknown:
        raise _config_error(f"{source}: admin.{unknown[0]}: unknown key (known: {', '.join(sorted(KEYS))})")
    limit = section.get("login_rate_limit", AdminConfig.login_rate_limit)
    try:
        if not parse_many(str(limit)):
            raise ValueError
    except ValueError:
        raise _config_error(f"{source}: admin.login_rate_limit: not a rate limit like '5 per minute': "
                            f"{limit!r}") from None
    values: dict[str, Any] = {"login_rate_limit": str(limit)}
    for key, high in (("session_idle_minutes", 24 * 60), ("session_max_hours", 24 * 14)):
        value = section.get(key, getattr(AdminConfig, key))
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
            raise _config_error(f"{source}: admin.{key}: must be a whole number from 1 to {high}, got {value!r}")
        values[key] = value
    replies = dict(DEFAULT_REPLIES)
    given = section.get("reject_replies") or {}
    if not isinstance(given, Mapping):
        raise _config_error(f"{source}: admin.reject_replies: must map {', '.join(REJECT_REASONS)} to texts or null")
    for reason, texts in given.items():
        key = f"admin.reject_replies.{reason}"
        if reason not in REJECT_REASONS:
            raise _config_error(f"{source}: {key}: unknown reason (known: {', '.join(REJECT_REASONS)})")
        if texts is not None:
            if not isinstance(texts, Mapping) or not all(isinstance(texts.get(lang), str) for lang in ("id", "en")):
                raise _config_error(f"{source}: {key}: give texts for id and en, or null to send nothing")
            for lang in ("id", "en"):
                if len(texts[lang]) > MAX_NOTE:
                    raise _config_error(f"{source}: {key}.{lang}: {len(texts[lang])} characters; at most {MAX_NOTE} "
                                        "keep the reply in one SMS")
        replies[reason] = texts
    values["reject_replies"] = replies
    return AdminConfig(**values)
