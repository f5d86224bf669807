"""What every ``sambat`` command shares: the settings, checked once, and the embedded defaults of ``sambat up``."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import click

from gateway.settings import ConfigError, Settings, load_settings

DEFAULT_SQLITE = "instance/sambat.sqlite3"


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as error:
        raise click.ClickException(f"configuration error: {error}") from None

def _configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("alembic", "twilio.http_client"):  # request dumps and plugin chatter at INFO
        logging.getLogger(noisy).setLevel(logging.WARNING)

def _instance_secret() -> str:
    """A SECRET_KEY kept in instance/ so sessions survive a restart of ``sambat up``."""
    path = Path("instance/secret_key")
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key

def _with(settings: Settings, **overrides: object) -> Settings:
    try:
        return settings.with_overrides(**overrides)
    except ConfigError as error:
        raise click.ClickException(f"configuration error: {error}") from None

def _local_settings() -> Settings:
    """Settings with the embedded defaults filled in: a SQLite file and an instance secret."""
    settings = _settings()
    overrides: dict[str, str] = {}
    if not settings.database_url:
        Path(DEFAULT_SQLITE).parent.mkdir(parents=True, exist_ok=True)
        overrides["database_url"] = f"sqlite:///{Path(DEFAULT_SQLITE).resolve()}"
    if not settings.secret_key:
        overrides["secret_key"] = _instance_secret()
    return settings.with_overrides(**overrides) if overrides else settings
