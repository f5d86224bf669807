"""What every ``sambat`` command shares: the settings, checked once, and the embedded defaults of ``sambat up``."""

from __future__ import annotations

import secrets
from pathlib import Path

import click

from gateway.observability import configure_logging, use_directory
from gateway.settings import ConfigError, Settings, load_settings

DEFAULT_SQLITE = "instance/sambat.sqlite3"


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as error:
        raise click.ClickException(f"configuration error: {error}") from None

def _configure_logging(level: str = "INFO") -> None:
    """Logging as ``observability.log_format`` says (SAMBAT_LOG_FORMAT=json: one JSON object per line)."""
    configure_logging(_settings().observability.log_format, level)


def _count_into_shared_directory(settings: Settings) -> None:
    """Web, workers and scheduler of this host count into one directory, added up by ``GET /metrics``."""
    use_directory(settings.observability.metrics_dir)

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
