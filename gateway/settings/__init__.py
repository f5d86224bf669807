"""One typed settings object, layered: defaults in code, then config.yaml, then the environment.

Every key is declared once, with its default, its environment variable and whether config.yaml may hold it
(:func:`channels.config.setting`), in the section of the package that owns it: the channels' sections beside
their code, the gateway's in :mod:`gateway.settings.sections`, ``deadlines:`` in
:mod:`gateway.settings.deadlines`, and ``router:`` with ``agencies:`` read by the router itself. Loading checks
everything and reports every mistake at once, each naming its key and where the value came from (the
environment variable, or the file and line); an unknown key is refused with the nearest known one. Secrets are
``SecretStr`` and come from the environment only. Settings are parsed once per process (:func:`load_settings`
keeps what it built for the same file and environment).
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import BaseModel, PrivateAttr, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

import router
from channels.android_sms.settings import AndroidSmsSettings
from channels.config import Section, parse_rate, setting, whole
from channels.email.settings import ImapSettings, MailSettings, SmtpSettings
from channels.twilio import SmsSettings
from channels.whatsapp import WhatsAppSettings, check_templates
from gateway.settings.deadlines import DeadlinePolicy, parse_deadlines
from gateway.settings.sections import (
    LANGUAGES,
    REQUIRED_TEMPLATES,
    STATUSES,
    TEMPLATE_FIELDS,
    AdminSettings,
    Category,
    IntakeSettings,
    JobsSettings,
    ObservabilitySettings,
    Open311Settings,
    OutboxSettings,
    PublicSettings,
    QuestionnaireSettings,
    ShortRepliesSettings,
    check_texts,
)
from gateway.settings.services import check_database_url, check_redis_url, check_secret_key, mask_url
from gateway.settings.sources import (
    ConfigError,
    EnvironmentSource,
    FileSource,
    Key,
    Origins,
    declared,
    deep_merge,
    extra,
    field_name,
    parse_config,
    read_config,
    suggest,
)
from router.learning import LearningError, LearningSettings

__all__ = ["Category", "ConfigError", "DeadlinePolicy", "Settings", "load_settings"]


@dataclass
class _Context:
    """What one build of the settings reads: the parsed file, the environment, overrides, and origins."""

    document: dict[str, Any]
    environ: Mapping[str, str]
    origins: Origins
    overrides: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    routing: Any = None


_context: ContextVar[_Context] = ContextVar("sambat_settings_context")


class _Overrides(PydanticBaseSettingsSource):
    """Values given in code (tests, ``sambat up``): above the environment and the file."""

    def __init__(self, settings_cls: type[BaseSettings], overrides: dict[str, Any]) -> None:
        super().__init__(settings_cls)
        self.overrides = overrides

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return self.overrides


class Settings(BaseSettings):
    """Everything Sambat reads at start-up. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    config_path: str = setting("config.yaml", env="SAMBAT_CONFIG", file=False, description="this file")
    city: str = setting("Sambat", description="the city's name in replies and pages")
    phone_region: str = setting("ID", env="SAMBAT_PHONE_REGION", description="region of numbers without +")
    default_language: str = setting("id", env="SAMBAT_DEFAULT_LANGUAGE", description="id or en")
    timezone: str = setting("Asia/Jakarta", env="SAMBAT_TIMEZONE")
    public_url: str | None = setting(None, env="SAMBAT_PUBLIC_URL", description="the address citizens and "
                                     "providers reach Sambat at; webhook signatures are checked over it")
    proxy_hops: int = setting(0, env="SAMBAT_PROXY_HOPS", description="reverse proxies whose X-Forwarded-* "
                              "headers are trusted")
    database_url: str | None = setting(None, env="DATABASE_URL", file=False)
    redis_url: str | None = setting(None, env="REDIS_URL", file=False)
    secret_key: SecretStr | None = setting(None, env="SECRET_KEY", file=False)
    queue_name: str = setting("sambat", env="SAMBAT_QUEUE_NAME", file=False)
    sms: SmsSettings = setting(SmsSettings())
    android_sms: AndroidSmsSettings = setting(AndroidSmsSettings())
    mail: MailSettings = setting(MailSettings())
    smtp: SmtpSettings = setting(SmtpSettings())
    imap: ImapSettings = setting(ImapSettings())
    whatsapp: WhatsAppSettings = setting(WhatsAppSettings())
    send_rates: dict[str, str] = setting({}, description="provider: rate, e.g. android-sms: 6/min")
    outbox: OutboxSettings = setting(OutboxSettings())
    jobs: JobsSettings = setting(JobsSettings())
    intake: IntakeSettings = setting(IntakeSettings())
    open311: Open311Settings = setting(Open311Settings())
    admin: AdminSettings = setting(AdminSettings())
    questionnaire: QuestionnaireSettings = setting(QuestionnaireSettings())
    short_replies: ShortRepliesSettings = setting(ShortRepliesSettings())
    public: PublicSettings = setting(PublicSettings())
    observability: ObservabilitySettings = setting(ObservabilitySettings())
    deadlines: Any = setting({}, description="working days per stage, agency and category")
    templates: dict[str, dict[str, str]] = setting({}, description="reply texts by language")
    statuses: dict[str, dict[str, str]] = setting({}, description="status names by language")
    router: Any = setting(None, description="the keyword router (read by router/)")
    agencies: Any = setting(None, description="the agencies (read by router/)")

    _routing: Any = PrivateAttr(default=None)
    _deadline_policy: DeadlinePolicy | None = PrivateAttr(default=None)
    _learning: LearningSettings | None = PrivateAttr(default=None)
    _context: _Context | None = PrivateAttr(default=None)

    @classmethod
    def settings_customise_sources(cls, settings_cls: type[BaseSettings], init_settings: Any, env_settings: Any,
                                   dotenv_settings: Any, file_secret_settings: Any) -> tuple[Any, ...]:
        context = _context.get()
        return (_Overrides(settings_cls, context.overrides),
                EnvironmentSource(settings_cls, context.environ, context.origins),
                FileSource(settings_cls, _without(context.document, context.overrides), context.origins,
                           context.problems))

    @field_validator("phone_region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region {value!r} (use e.g. ID)")
        return value

    @field_validator("default_language")
    @classmethod
    def _language(cls, value: str) -> str:
        if value not in LANGUAGES:
            raise ValueError(f"must be one of {', '.join(LANGUAGES)}")
        return value

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        try:
            ZoneInfo(str(value))
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str | None) -> str | None:
        if value is not None and not str(value).startswith(("http://", "https://")):
            raise ValueError(f"must be an http(s) URL, got {value!r}")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        return check_database_url(value) if value else value

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        return check_redis_url(value) if value else value

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            check_secret_key(value.get_secret_value())
        return value

    @field_validator("proxy_hops")
    @classmethod
    def _proxy_hops_range(cls, value: int) -> int:
        if not 0 <= value <= 5:
            raise ValueError(f"must be a whole number from 0 to 5 (the reverse proxies in front of Sambat), "
                             f"got {value!r}")
        return value

    @field_validator("send_rates")
    @classmethod
    def _rates(cls, value: dict[str, str]) -> dict[str, str]:
        for provider, rate in value.items():
            try:
                parse_rate(rate)
            except ValueError as exc:
                raise ValueError(f"send_rates.{provider}: {exc}") from None
        return value

    @field_validator("templates")
    @classmethod
    def _templates(cls, value: Any) -> dict[str, dict[str, str]]:
        return check_texts(value, "templates", REQUIRED_TEMPLATES)

    @field_validator("statuses")
    @classmethod
    def _statuses(cls, value: Any) -> dict[str, dict[str, str]]:
        return check_texts(value, "statuses", STATUSES)

    @model_validator(mode="after")
    def _together(self) -> Settings:
        """Checks across sections: credentials a choice needs, agencies and categories that must exist."""
        problems = []
        sms, android = self.sms, self.android_sms
        if sms.provider == "twilio":
            for key, value in (("TWILIO_ACCOUNT_SID", sms.twilio_account_sid), ("TWILIO_AUTH_TOKEN",
                                                                               sms.twilio_auth_token)):
                if not value:
                    problems.append(f"{key}: required when sms.provider is twilio")
        if self.outbound_sms_provider == "twilio" and not (sms.twilio_from or sms.twilio_messaging_service_sid):
            problems.append("sms.twilio_from: set a sender number or sms.twilio_messaging_service_sid")
        if sms.provider == "android-sms" and not android.api_url:
            problems.append("SAMBAT_ANDROID_SMS_API_URL: required when sms.provider is android-sms")
        if android.api_url and not (android.username and android.password) and not android.token:
            problems.append("SAMBAT_ANDROID_SMS_USERNAME and SAMBAT_ANDROID_SMS_PASSWORD: required with "
                            "SAMBAT_ANDROID_SMS_API_URL (the credentials shown in the app), or, in cloud mode, "
                            "SAMBAT_ANDROID_SMS_TOKEN (a JWT)")
        if self.imap.host and not (self.imap.username and self.imap.password):
            problems.append("SAMBAT_IMAP_USERNAME and SAMBAT_IMAP_PASSWORD: required with imap.host")
        try:
            check_templates(self.whatsapp.templates, REQUIRED_TEMPLATES, LANGUAGES, TEMPLATE_FIELDS)
        except ValueError as exc:
            problems.append(str(exc))
        context = _context.get(None)
        routing = context.routing if context is not None else None
        agencies = {agency.code for agency in routing.agencies} if routing is not None else None
        for number, category in enumerate(self.intake.categories, start=1):
            if agencies is not None and category.agency is not None and category.agency not in agencies:
                problems.append(f"intake.categories[{number}].agency: {category.agency!r} is not an agency code "
                                f"in agencies (or null)")
        try:
            policy = parse_deadlines(self.deadlines, agencies, {c.code for c in self.intake.categories},
                                     self.timezone)
            self._deadline_policy = policy
        except ValueError as exc:
            problems.append(str(exc))
        try:
            learning = self.router.get("learning") if isinstance(self.router, Mapping) else None
            object.__setattr__(self, "_learning", LearningSettings.from_mapping(learning))
        except LearningError as exc:
            problems.append(str(exc))
        except TypeError as exc:  # a key of the right name with a value the dataclass cannot take
            problems.append(f"router.learning: {exc}")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def outbound_sms_provider(self) -> str:
        """The provider outbound SMS go through: ``twilio``, ``android-sms`` or ``console``."""
        if self.sms.provider == "auto":
            if self.sms.twilio_account_sid and self.sms.twilio_auth_token:
                return "twilio"
            return "android-sms" if self.android_sms.api_url else "console"
        return self.sms.provider

    @property
    def routing(self) -> Any:
        """The router's compiled table (``router:`` and ``agencies:``), built once."""
        return self._routing

    @property
    def deadline_policy(self) -> DeadlinePolicy:
        """The ``deadlines:`` section, checked and read into working days per agency and category."""
        assert self._deadline_policy is not None
        return self._deadline_policy

    @property
    def learning(self) -> LearningSettings:
        """``router.learning``: whether and when the learned model decides (``router.learning.LearningSettings``)."""
        return self._learning or LearningSettings()

    @property
    def categories(self) -> tuple[Category, ...]:
        """The complaint categories (Open311 services), in config order."""
        return self.intake.categories

    def secret(self, name: str) -> str | None:
        """A secret's value by dotted key (``sms.twilio_auth_token``), or None when unset."""
        node: Any = self
        for part in name.split("."):
            node = getattr(node, part)
        return node.get_secret_value() if isinstance(node, SecretStr) else node

    def with_overrides(self, **changes: Any) -> Settings:
        """A copy with some values replaced, checked again like the original.

        A section is merged key by key (``intake={"media_dir": ...}`` or ``intake__media_dir=...`` keep the
        other intake keys); any other value is replaced whole.
        """
        context = self._context
        assert context is not None, "settings not built by load_settings"
        overrides = _merge_overrides(type(self), context.overrides, changes)
        return _build(context.document, context.environ, context.origins.path, overrides, self._routing)

    def explain(self) -> Iterator[tuple[str, str, str]]:
        """Every key with its effective value (secrets masked) and where it came from, for ``config check``."""
        origins = self._context.origins if self._context is not None else Origins(self.config_path)
        for key, _, info in declared(type(self)):
            if key[0] in ("router", "agencies"):
                continue
            value: Any = self
            for part in key:
                value = value.get(part) if isinstance(value, Mapping) else getattr(value, field_name(type(value), part))
            origin = origins.of(key, exact=True)
            if isinstance(value, SecretStr):
                shown = "**********"
            elif key[0] in ("database_url", "redis_url") and value:
                shown = mask_url(str(value))
            elif key[0] == "deadlines":
                policy = self.deadline_policy
                shown = f"{dict(policy.default)}, {len(policy.agencies)} agencies, {len(policy.category_days)} " \
                        f"categories"
            elif isinstance(value, tuple) and value and isinstance(value[0], Category):
                shown = ", ".join(category.code for category in value)
            elif isinstance(value, dict) and (key[0] in ("templates", "statuses") or key == ("public", "privacy")):
                shown = f"{sum(len(texts) for texts in value.values())} texts in {', '.join(value)}"
            else:
                shown = repr(value)
            variable = extra(info, "env")
            yield ".".join(map(str, key)), shown, origin if origin != "default" else \
                "default" + (f" (set {variable} to change)" if variable else "")
        if self._routing is not None:
            line = origins.lines.get(("agencies",))
            yield "agencies", f"{len(self._routing.agencies)} agencies", \
                f"{origins.path} line {line}" if line else "default"




def _without(document: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The file's document less the values overrides replace whole (so they are not merged into)."""
    kept = dict(document)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(kept.get(key), Mapping) and key in _SECTION_KEYS:
            kept[key] = _without(dict(kept[key]), {})
        elif key in kept:
            kept.pop(key)
    return kept


_SECTION_KEYS = {"sms", "android_sms", "whatsapp", "mail", "smtp", "imap", "outbox", "jobs", "intake", "open311",
                 "admin"}


def _merge_overrides(model: type[BaseModel], current: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """Lay ``changes`` over ``current``; ``section__key=value`` (pydantic-settings' nested form) sets one key."""
    nested: dict[str, Any] = {}
    for key, value in changes.items():
        section, _, name = key.partition("__")
        if name:
            nested.setdefault(section, {})[name] = value
        else:
            nested[key] = value
    merged = dict(current)
    for key, value in nested.items():
        if key in _SECTION_KEYS and isinstance(value, Mapping):
            section = model.model_fields[key].annotation
            by_alias = {(section.model_fields[name].alias if name in section.model_fields else None) or name: item
                        for name, item in value.items()}
            merged[key] = deep_merge(dict(merged.get(key) or {}), by_alias)
        else:
            merged[key] = value
    return merged


_cache: dict[tuple[Any, ...], Settings] = {}
_cache_lock = threading.Lock()


def load_settings(environ: Mapping[str, str] | None = None, config_path: str | None = None) -> Settings:
    """Read defaults, then the config file, then the environment, and check everything.

    The same file and environment give the same (immutable) object, built once per process.

    Args:
        environ: the environment to read (default ``os.environ``).
        config_path: the config file (default ``$SAMBAT_CONFIG`` or ``./config.yaml``).

    Raises:
        ConfigError: naming every key that is missing or wrong, and where its value came from.
    """
    environ = os.environ if environ is None else environ
    path = config_path or environ.get("SAMBAT_CONFIG") or "config.yaml"
    text = read_config(path)
    variables = tuple(sorted((name, environ[name]) for name in _VARIABLES if name in environ))
    cache_key = (path, hashlib.sha256(text.encode()).hexdigest(), variables)
    with _cache_lock:
        cached = _cache.get(cache_key)
    if cached is not None:
        return cached
    document, lines = parse_config(text, path)
    try:
        routing = _compile_routing(text, path)
    except ConfigError as exc:
        routing, routing_problem = None, str(exc)
    else:
        routing_problem = None
    settings = _build(document, dict(environ), path, {}, routing, lines=lines, extra_problem=routing_problem)
    with _cache_lock:
        _cache[cache_key] = settings
    return settings


_routing_cache: dict[str, Any] = {}


def _compile_routing(text: str, path: str) -> Any:
    digest = hashlib.sha256(f"{path}\0{text}".encode()).hexdigest()
    if digest not in _routing_cache:
        try:
            _routing_cache[digest] = router.load_table(text, source=path)
        except router.RouterConfigError as exc:
            raise ConfigError(str(exc)) from None
    return _routing_cache[digest]


def _build(document: dict[str, Any], environ: Mapping[str, str], path: str, overrides: dict[str, Any],
           routing: Any, lines: dict[Key, int] | None = None, extra_problem: str | None = None) -> Settings:
    origins = Origins(path, lines=dict(lines or {}))
    origins.overrides = {(key,) for key in overrides}
    context = _Context(document=document, environ=environ, origins=origins, overrides={"config_path": path,
                                                                                     **overrides},
                       routing=routing)
    token = _context.set(context)
    problems: list[str] = []
    settings = None
    try:
        settings = Settings()
    except ValidationError as exc:
        problems.extend(_describe(error, origins, environ) for error in exc.errors())
    finally:
        _context.reset(token)
    problems = context.problems + problems + ([extra_problem] if extra_problem else [])
    if problems or settings is None:
        raise ConfigError("\n".join(problems))
    settings._routing = routing
    settings._context = context
    return settings


_VARIABLES = sorted({extra(info, "env") for _, _, info in declared(Settings) if extra(info, "env")})
_PARSE_ERRORS = {"int_parsing": "int", "int_from_float": "int", "float_parsing": "float", "bool_parsing": "bool",
                 "int_type": "int", "float_type": "float", "bool_type": "bool"}
_LEADING_KEY = re.compile(r"^([a-z_][a-z0-9_]*(?:\.[A-Za-z0-9_-]+|\[\d+\])*)(?: at [A-Z0-9-]+)?: ")


def _describe(error: Any, origins: Origins, environ: Mapping[str, str]) -> str:
    """One problem as a line naming where the value came from, the key, and what is wrong."""
    loc = tuple(part for part in error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    kind = error["type"]
    if kind == "value_error" and "\n" in message:
        return "\n".join(_root_line(line, origins) for line in message.splitlines())
    if not loc:
        return _root_line(message, origins)
    key = _dotted(loc)
    origin = origins.of(loc)
    where = origin if origin != "default" else origins.path
    if kind == "extra_forbidden":
        return f"{where}: {key}: unknown key; {_suggest(loc)}"
    if origin in environ and kind in _PARSE_ERRORS:
        return f"{origin}: expected a {_PARSE_ERRORS[kind]}, got {environ[origin]!r}"
    if kind in ("bool_parsing", "bool_type"):
        message = f"must be true or false, got {error.get('input')!r}"
    elif kind in ("int_parsing", "int_from_float", "int_type"):
        message = f"must be a whole number, got {error.get('input')!r}"
    elif kind in ("float_parsing", "float_type"):
        message = f"must be a number, got {error.get('input')!r}"
    if _LEADING_KEY.match(message):
        return f"{where}: {message}"
    return f"{where}: {key}: {message}"


def _root_line(message: str, origins: Origins) -> str:
    """A check across sections: prefixed with the origin of the key it names, unless it names a variable."""
    match = _LEADING_KEY.match(message)
    if match is None:
        return message
    key = tuple(int(p) - 1 if p.isdigit() else p for p in re.findall(r"[A-Za-z0-9_-]+", match.group(1)))
    origin = origins.of(key)
    return f"{origin if origin != 'default' else origins.path}: {message}"


def _dotted(loc: Key) -> str:
    text = ""
    for part in loc:
        text += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _suggest(loc: Key) -> str:
    """``did you mean provider?`` for a misspelt key, else the known keys at that level."""
    model: Any = Settings
    for part in loc[:-1]:
        info = model.model_fields.get(field_name(model, part)) if isinstance(part, str) else None
        nested = getattr(info, "annotation", None)
        if not (isinstance(nested, type) and issubclass(nested, BaseModel)):
            break
        model = nested
    return suggest(loc[-1], model)


_ = (Section, whole)  # re-exported for sections declared elsewhere
