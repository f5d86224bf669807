"""What every ``sambat`` command shares: the settings, checked once, and the embedded defaults of ``sambat up``."""

from __future__ import annotations

import logging
import os
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

def private_dir(path: Path, tighten: bool = True) -> Path:
    """A directory only its owner can enter (0700) when new; with ``tighten``, an existing one of this user's
    is made so too (instance/, left 0755 by an older version)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if tighten:
        _tighten(path, 0o700)
    return path


def private_file(path: Path, tighten_dir: bool = True) -> Path:
    """A file only its owner can read (0600), created empty that way when missing, so it is never world-readable,
    not even for a moment (the SQLite database, the instance secret); SQLite gives its journal files the
    database file's permissions."""
    private_dir(path.parent, tighten=tighten_dir)
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    _tighten(path, 0o600)
    return path


def _tighten(path: Path, mode: int) -> None:
    """Take group and other permissions away from a path this user owns."""
    info = path.stat()
    if info.st_uid == os.getuid() and info.st_mode & 0o077:
        path.chmod(mode)


def _instance_secret() -> str:
    """A SECRET_KEY kept in instance/ so sessions survive a restart of ``sambat up``."""
    path = Path("instance/secret_key")
    if path.exists() and path.read_text().strip():
        private_file(path)
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    private_file(path).write_text(key)
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
        private_file(Path(DEFAULT_SQLITE))  # SQLite then keeps these permissions for its journal files
        overrides["database_url"] = f"sqlite:///{Path(DEFAULT_SQLITE).resolve()}"
    if not settings.secret_key:
        overrides["secret_key"] = _instance_secret()
    return settings.with_overrides(**overrides) if overrides else settings
