"""One typed settings object, layered: defaults in code, then config.yaml, then the environment.

Secrets (DATABASE_URL, REDIS_URL, SECRET_KEY, TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN) come only from the
environment. Everything is validated when loaded, so a bad setting stops the program with a message that
names the key, never a traceback from deep inside a request.
"""

from __future__ import annotations

import os
import string
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
import yaml

import router

SMS_PROVIDERS = ("auto", "twilio", "android-sms", "console")
LANGUAGES = ("id", "en")
REQUIRED_TEMPLATES = (
    "ticket_created", "ticket_created_review", "status", "status_update", "not_found", "bad_code",
    "info_added", "info_not_yours", "info_usage", "help", "stopped", "started", "empty",
    "location_added", "location_waiting",
)
TEMPLATE_FIELDS = {"code", "digits", "agency", "status", "updated", "note", "given"}
STATUSES = ("new", "assigned", "acknowledged", "in_progress", "resolved", "rejected", "merged")


class ConfigError(Exception):
    """A setting is missing or wrong; the message names the key (and the file where it came from)."""


@dataclass(frozen=True)
class Settings:
    """Everything Sambat reads at start-up. Build it with :func:`load_settings`."""

    config_path: str = "config.yaml"
    city: str = "Sambat"
    database_url: str | None = None
    redis_url: str | None = None
    secret_key: str | None = None
    public_url: str | None = None
    proxy_hops: int = 0  # reverse proxies in front of the app whose X-Forwarded-* headers are trusted
    phone_region: str = "ID"
    default_language: str = "id"
    timezone: str = "Asia/Jakarta"
    queue_name: str = "sambat"
    sms_provider: str = "auto"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = None
    twilio_from: str | None = None
    twilio_messaging_service_sid: str | None = None
    twilio_api_base_url: str = "https://api.twilio.com"
    outbox_max_attempts: int = 6
    outbox_retry_backoff: tuple[int, ...] = (10, 30, 120, 600, 1800)
    send_timeout: float = 10.0
    templates: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    statuses: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    routing: Any = None  # router.RoutingTable, compiled once
    # Web form, mobile-app API and Open311 (issue 5); checked by gateway.intake.config.validate_intake.
    media_dir: str = "instance/media"
    max_photos: int = 3
    max_photo_mb: float = 10
    form_rate_limit: str = "5 per minute;30 per hour"
    api_rate_limit: str = "120 per minute"
    categories: tuple[Any, ...] = ()
    open311_jurisdiction_id: str = "malangkota.go.id"
    open311_contact: str = ""
    open311_key_service: str = ""
    open311_publish_descriptions: bool = False
    # SMS through an Android phone, e-mail in and out, send rates (issue 6); checked by channels.config.
    android_sms_api_url: str | None = None
    android_sms_username: str | None = None
    android_sms_password: str | None = None
    android_sms_signing_key: str | None = None
    android_sms_max_age: int = 300
    android_sms_token: str | None = None  # cloud mode: a JWT (Bearer) instead of username and password
    android_sms_passphrase: str | None = None  # the app's end-to-end encryption passphrase
    android_sms_silent_alert_minutes: int = 30  # no device heard this long while messages wait: e-mail; 0: off
    mail_host: str | None = None
    mail_port: int = 587
    mail_username: str | None = None
    mail_password: str | None = None
    mail_tls: str = "starttls"
    mail_from: str = "Sambat <sambat@localhost>"
    mail_max_mb: float = 35
    smtp_enabled: bool = False
    smtp_listen: str = "127.0.0.1:2525"
    smtp_accept: tuple[str, ...] = ()
    imap_host: str | None = None
    imap_port: int = 993
    imap_username: str | None = None
    imap_password: str | None = None
    imap_tls: str = "ssl"
    imap_folder: str = "INBOX"
    imap_interval: float = 60
    send_rates: Mapping[str, str] = field(default_factory=dict)
    # WhatsApp past its 24-hour window (issue 10): message kind -> approved template; checked by gateway.whatsapp.
    whatsapp_templates: Mapping[str, Any] = field(default_factory=dict)
    # The admin console and deadlines (issue 4); checked by gateway.deadlines and gateway.admin.config.
    deadlines: Mapping[str, Any] = field(default_factory=dict)
    admin: Mapping[str, Any] = field(default_factory=dict)

    @property
    def outbound_sms_provider(self) -> str:
        """The provider outbound SMS go through: ``twilio`` or ``console``."""
        if self.sms_provider == "auto":
            if self.twilio_account_sid and self.twilio_auth_token:
                return "twilio"
            return "android-sms" if self.android_sms_api_url else "console"
        return self.sms_provider

    def with_overrides(self, **overrides: Any) -> Settings:
        """A copy with some values replaced (tests and ``sambat up`` use this), validated again."""
        updated = replace(self, **overrides)
        _validate(updated, source="overrides")
        return updated


# Environment variable -> (settings field, type). Conventional names for secrets and services.
ENVIRONMENT = {
    "DATABASE_URL": ("database_url", str),
    "REDIS_URL": ("redis_url", str),
    "SECRET_KEY": ("secret_key", str),
    "TWILIO_ACCOUNT_SID": ("twilio_account_sid", str),
    "TWILIO_AUTH_TOKEN": ("twilio_auth_token", str),
    "SAMBAT_PUBLIC_URL": ("public_url", str),
    "SAMBAT_PROXY_HOPS": ("proxy_hops", int),
    "SAMBAT_PHONE_REGION": ("phone_region", str),
    "SAMBAT_DEFAULT_LANGUAGE": ("default_language", str),
    "SAMBAT_TIMEZONE": ("timezone", str),
    "SAMBAT_QUEUE_NAME": ("queue_name", str),
    "SAMBAT_SMS_PROVIDER": ("sms_provider", str),
    "SAMBAT_TWILIO_FROM": ("twilio_from", str),
    "SAMBAT_TWILIO_MESSAGING_SERVICE_SID": ("twilio_messaging_service_sid", str),
    "SAMBAT_TWILIO_API_BASE_URL": ("twilio_api_base_url", str),
    "SAMBAT_OUTBOX_MAX_ATTEMPTS": ("outbox_max_attempts", int),
    "SAMBAT_SEND_TIMEOUT": ("send_timeout", float),
    "SAMBAT_MEDIA_DIR": ("media_dir", str),
    "SAMBAT_FORM_RATE_LIMIT": ("form_rate_limit", str),
    "SAMBAT_API_RATE_LIMIT": ("api_rate_limit", str),
    "SAMBAT_ANDROID_SMS_API_URL": ("android_sms_api_url", str),
    "SAMBAT_ANDROID_SMS_USERNAME": ("android_sms_username", str),
    "SAMBAT_ANDROID_SMS_PASSWORD": ("android_sms_password", str),
    "SAMBAT_ANDROID_SMS_SIGNING_KEY": ("android_sms_signing_key", str),
    "SAMBAT_ANDROID_SMS_TOKEN": ("android_sms_token", str),
    "SAMBAT_ANDROID_SMS_PASSPHRASE": ("android_sms_passphrase", str),
    "SAMBAT_ANDROID_SMS_SILENT_ALERT_MINUTES": ("android_sms_silent_alert_minutes", int),
    "SAMBAT_MAIL_HOST": ("mail_host", str),
    "SAMBAT_MAIL_PORT": ("mail_port", int),
    "SAMBAT_MAIL_USERNAME": ("mail_username", str),
    "SAMBAT_MAIL_PASSWORD": ("mail_password", str),
    "SAMBAT_MAIL_TLS": ("mail_tls", str),
    "SAMBAT_MAIL_FROM": ("mail_from", str),
    "SAMBAT_SMTP_LISTEN": ("smtp_listen", str),
    "SAMBAT_IMAP_HOST": ("imap_host", str),
    "SAMBAT_IMAP_PORT": ("imap_port", int),
    "SAMBAT_IMAP_USERNAME": ("imap_username", str),
    "SAMBAT_IMAP_PASSWORD": ("imap_password", str),
    "SAMBAT_IMAP_TLS": ("imap_tls", str),
}

# config.yaml key path -> settings field.
FILE_KEYS = {
    ("city",): "city",
    ("phone_region",): "phone_region",
    ("default_language",): "default_language",
    ("timezone",): "timezone",
    ("public_url",): "public_url",
    ("proxy_hops",): "proxy_hops",
    ("sms", "provider"): "sms_provider",
    ("sms", "twilio_from"): "twilio_from",
    ("sms", "twilio_messaging_service_sid"): "twilio_messaging_service_sid",
    ("sms", "twilio_api_base_url"): "twilio_api_base_url",
    ("outbox", "max_attempts"): "outbox_max_attempts",
    ("outbox", "retry_backoff"): "outbox_retry_backoff",
    ("outbox", "send_timeout"): "send_timeout",
    ("templates",): "templates",
    ("statuses",): "statuses",
    ("intake", "media_dir"): "media_dir",
    ("intake", "max_photos"): "max_photos",
    ("intake", "max_photo_mb"): "max_photo_mb",
    ("intake", "form_rate_limit"): "form_rate_limit",
    ("intake", "api_rate_limit"): "api_rate_limit",
    ("intake", "categories"): "categories",
    ("open311", "jurisdiction_id"): "open311_jurisdiction_id",
    ("open311", "contact"): "open311_contact",
    ("open311", "key_service"): "open311_key_service",
    ("open311", "publish_descriptions"): "open311_publish_descriptions",
    ("android_sms", "api_url"): "android_sms_api_url",
    ("android_sms", "username"): "android_sms_username",
    ("android_sms", "max_age"): "android_sms_max_age",
    ("android_sms", "silent_alert_minutes"): "android_sms_silent_alert_minutes",
    ("mail", "host"): "mail_host",
    ("mail", "port"): "mail_port",
    ("mail", "username"): "mail_username",
    ("mail", "tls"): "mail_tls",
    ("mail", "from"): "mail_from",
    ("mail", "max_mb"): "mail_max_mb",
    ("smtp", "enabled"): "smtp_enabled",
    ("smtp", "listen"): "smtp_listen",
    ("smtp", "accept"): "smtp_accept",
    ("imap", "host"): "imap_host",
    ("imap", "port"): "imap_port",
    ("imap", "username"): "imap_username",
    ("imap", "tls"): "imap_tls",
    ("imap", "folder"): "imap_folder",
    ("imap", "interval"): "imap_interval",
    ("send_rates",): "send_rates",
    ("whatsapp", "templates"): "whatsapp_templates",
    ("deadlines",): "deadlines",
    ("admin",): "admin",
}
SECRET_FIELDS = {"database_url", "redis_url", "secret_key", "twilio_account_sid", "twilio_auth_token",
                 "android_sms_password", "android_sms_signing_key", "android_sms_token", "android_sms_passphrase",
                 "mail_password", "imap_password"}


def load_settings(environ: Mapping[str, str] | None = None, config_path: str | None = None) -> Settings:
    """Read defaults, then the config file, then the environment, and validate the result.

    Args:
        environ: the environment to read (default ``os.environ``).
        config_path: the config file (default ``$SAMBAT_CONFIG`` or ``./config.yaml``).

    Raises:
        ConfigError: naming the key that is missing or wrong.
    """
    environ = os.environ if environ is None else environ
    path = config_path or environ.get("SAMBAT_CONFIG") or "config.yaml"
    values: dict[str, Any] = {"config_path": path}
    text = _read_config(path)
    values.update(_from_file(_parse_yaml(text, path), path))
    values.update(_from_environment(environ))
    try:
        values["routing"] = router.load_table(text, source=path)
    except router.RouterConfigError as exc:
        raise ConfigError(str(exc)) from None
    settings = Settings(**values)
    _validate(settings, source=path)
    return settings


def _read_config(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"SAMBAT_CONFIG: config file {path} not found") from None
    except OSError as exc:
        raise ConfigError(f"SAMBAT_CONFIG: cannot read {path}: {exc.strerror}") from None


def _parse_yaml(text: str, path: str) -> Any:
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context and start is not None:
            problem += f" ({context} at line {start.line + 1})"
        raise ConfigError(f"{path}{where}: not valid YAML: {problem}") from None


def _from_file(document: Any, path: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of keys")
    values: dict[str, Any] = {}
    for keys, name in FILE_KEYS.items():
        node: Any = document
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                break
            node = node[key]
        else:
            if name in ("outbox_retry_backoff", "categories") and isinstance(node, list):
                node = tuple(node)
            values[name] = node
    for secret in ("database_url", "redis_url", "secret_key", "twilio_auth_token"):
        if secret in document:
            raise ConfigError(f"{path}: {secret}: secrets are read from the environment only, not config.yaml")
    android = document.get("android_sms")
    for secret in ("password", "signing_key", "token", "passphrase"):
        if isinstance(android, dict) and android.get(secret) is not None:
            raise ConfigError(f"{path}: android_sms.{secret}: a secret, read from the environment only "
                              f"(SAMBAT_ANDROID_SMS_{secret.upper()}), not config.yaml")
    return values


def _from_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for variable, (name, kind) in ENVIRONMENT.items():
        raw = environ.get(variable)
        if raw is None or raw.strip() == "":
            continue
        try:
            values[name] = kind(raw.strip())
        except ValueError:
            raise ConfigError(f"{variable}: expected a {kind.__name__}, got {raw!r}") from None
    return values


def _validate(settings: Settings, source: str) -> None:
    """Check every field; raise ConfigError naming the first bad key."""
    if settings.sms_provider not in SMS_PROVIDERS:
        raise ConfigError(f"{source}: sms.provider: must be one of {', '.join(SMS_PROVIDERS)}, "
                          f"got {settings.sms_provider!r}")
    if settings.sms_provider == "twilio":
        for key, value in (("TWILIO_ACCOUNT_SID", settings.twilio_account_sid),
                           ("TWILIO_AUTH_TOKEN", settings.twilio_auth_token)):
            if not value:
                raise ConfigError(f"{key}: required when sms.provider is twilio")
    has_sender = settings.twilio_from or settings.twilio_messaging_service_sid
    if settings.outbound_sms_provider == "twilio" and not has_sender:
        raise ConfigError(f"{source}: sms.twilio_from: set a sender number or sms.twilio_messaging_service_sid")
    if settings.twilio_from and not _is_phone(settings.twilio_from):
        raise ConfigError(f"{source}: sms.twilio_from: not an E.164 phone number: {settings.twilio_from!r}")
    if settings.phone_region not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(f"{source}: phone_region: unknown region {settings.phone_region!r} (use e.g. ID)")
    if settings.default_language not in LANGUAGES:
        raise ConfigError(f"{source}: default_language: must be one of {', '.join(LANGUAGES)}")
    try:
        ZoneInfo(str(settings.timezone))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{source}: timezone: unknown time zone {settings.timezone!r}") from None
    for key, value in (("SAMBAT_PUBLIC_URL", settings.public_url),
                       ("SAMBAT_TWILIO_API_BASE_URL", settings.twilio_api_base_url)):
        if value is not None and not str(value).startswith(("http://", "https://")):
            raise ConfigError(f"{key}: must be an http(s) URL, got {value!r}")
    if not isinstance(settings.proxy_hops, int) or isinstance(settings.proxy_hops, bool) \
            or not 0 <= settings.proxy_hops <= 5:
        raise ConfigError(f"{source}: proxy_hops: must be a whole number from 0 to 5 (the reverse proxies in front "
                          f"of Sambat), got {settings.proxy_hops!r}")
    if not isinstance(settings.outbox_max_attempts, int) or settings.outbox_max_attempts < 1:
        raise ConfigError(f"{source}: outbox.max_attempts: must be a whole number >= 1")
    backoff = settings.outbox_retry_backoff
    if not backoff or not all(isinstance(s, int | float) and s >= 0 for s in backoff):
        raise ConfigError(f"{source}: outbox.retry_backoff: must be a list of seconds >= 0")
    if not isinstance(settings.send_timeout, int | float) or settings.send_timeout <= 0:
        raise ConfigError(f"{source}: outbox.send_timeout: must be a number of seconds > 0")
    _validate_texts(settings.templates, "templates", REQUIRED_TEMPLATES, source)
    _validate_texts(settings.statuses, "statuses", STATUSES, source)
    from gateway.intake.config import validate_intake  # here, not above: it reads Settings' fields only

    validate_intake(settings, source)
    from channels.config import validate_channels  # the channels' own keys (issue 6)

    validate_channels(settings, source)
    from gateway.whatsapp import validate_whatsapp  # WhatsApp's templates past the 24-hour window (issue 10)

    validate_whatsapp(settings, source)
    from gateway.admin.config import validate_admin  # the console and deadlines (issue 4)

    validate_admin(settings, source)


def _validate_texts(table: Any, section: str, required: tuple[str, ...], source: str) -> None:
    if not isinstance(table, Mapping):
        raise ConfigError(f"{source}: {section}: must be a mapping of language to texts")
    for language in LANGUAGES:
        texts = table.get(language)
        if not isinstance(texts, Mapping):
            raise ConfigError(f"{source}: {section}.{language}: missing")
        for key in required:
            value = texts.get(key)
            if not isinstance(value, str) or not value.strip():
                raise ConfigError(f"{source}: {section}.{language}.{key}: missing or empty")
            try:
                names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
            except ValueError as exc:
                raise ConfigError(f"{source}: {section}.{language}.{key}: bad placeholder: {exc}") from None
            unknown = names - TEMPLATE_FIELDS
            if unknown:
                raise ConfigError(f"{source}: {section}.{language}.{key}: unknown placeholder "
                                  f"{{{sorted(unknown)[0]}}} (known: {', '.join(sorted(TEMPLATE_FIELDS))})")


def _is_phone(value: str) -> bool:
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return False
