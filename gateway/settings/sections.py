"""The sections of config.yaml that belong to the gateway itself: outbox, intake, open311, admin, texts.

The channels declare their own sections beside their code (``channels/*``), the router reads ``router:``
and ``agencies:`` itself, and the ``deadlines:`` section is :mod:`gateway.settings.deadlines`.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from limits import parse_many
from pydantic import BeforeValidator, SecretStr, field_validator

from channels.config import Section, setting, whole

LANGUAGES = ("id", "en")
REQUIRED_TEMPLATES = (
    "ticket_created", "ticket_created_review", "status", "status_update", "not_found", "bad_code",
    "info_added", "info_not_yours", "info_usage", "help", "stopped", "started", "empty",
    "location_added", "location_waiting",
)
TEMPLATE_FIELDS = {"code", "digits", "agency", "status", "updated", "note", "given"}
STATUSES = ("new", "assigned", "acknowledged", "in_progress", "resolved", "rejected", "merged")
CATEGORY_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
# Why the super-admin takes a complaint out of the queue without an agency.
REJECT_REASONS = {"not_complaint": "Bukan aduan", "spam": "Spam"}
DEFAULT_REPLIES: dict[str, dict[str, str] | None] = {
    "not_complaint": {
        "id": "Pesan Anda bukan aduan untuk Pemkot, jadi tidak kami teruskan. Info: ketik BANTUAN.",
        "en": "Your message is not a complaint for the city, so it was not forwarded. Text HELP for more.",
    },
    "spam": None,
}
MAX_NOTE = 110  # the reply is "Tiket 1234 5678: Ditolak. <note>": one SMS segment in all


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError(f"expected a number, got {value!r}")
    return value


Number = Annotated[float, BeforeValidator(_not_bool)]
Whole = Annotated[int, BeforeValidator(_not_bool)]


def rate_limit(value: str, example: str) -> str:
    """A validator body: Flask-Limiter limits such as ``5 per minute;30 per hour``."""
    try:
        if not parse_many(str(value)):
            raise ValueError
    except ValueError:
        raise ValueError(f"not a rate limit like '{example}': {value!r}") from None
    return str(value)


class OutboxSettings(Section):
    """``outbox:``: how often and how patiently a reply is sent."""

    max_attempts: Whole = setting(6, env="SAMBAT_OUTBOX_MAX_ATTEMPTS", description="sends tried before giving up")
    retry_backoff: tuple[Number, ...] = setting((10, 30, 120, 600, 1800), description="seconds between tries")
    send_timeout: Number = setting(10.0, env="SAMBAT_SEND_TIMEOUT", description="seconds one provider call may take")

    @field_validator("max_attempts")
    @classmethod
    def _attempts(cls, value: int) -> int:
        return whole(value, 1)

    @field_validator("retry_backoff")
    @classmethod
    def _backoff(cls, value: tuple[float, ...]) -> tuple[float, ...]:
        if not value or not all(seconds >= 0 for seconds in value):
            raise ValueError("must be a list of seconds >= 0")
        return value

    @field_validator("send_timeout")
    @classmethod
    def _timeout(cls, value: float) -> float:
        if value <= 0:
            raise ValueError("must be a number of seconds > 0")
        return value


@dataclass(frozen=True)
class Category:
    """A complaint category, published as an Open311 service.

    Attributes:
        code: the service_code, e.g. ``jalan``.
        names: language -> human readable name.
        agency: the agency that takes a complaint of this category the router could not place, or None.
        group: the Open311 group.
        keywords: comma separated synonyms, for Open311 clients.
    """

    code: str
    names: Mapping[str, str]
    agency: str | None
    group: str
    keywords: str

    def name(self, language: str = "id") -> str:
        """The name in a language, falling back to Indonesian."""
        return self.names.get(language) or self.names["id"]


def parse_categories(entries: Any) -> tuple[Category, ...]:
    """``intake.categories`` as written in config.yaml, checked; the message names the entry (from 1).

    Raises:
        ValueError: naming the first bad entry and key.
    """
    if not isinstance(entries, list | tuple):
        raise ValueError("must be a list of categories with code, name and agency")
    parsed: list[Category] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        if isinstance(entry, Category):
            parsed.append(entry)
            continue
        where = f"intake.categories[{number}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where}: must be a mapping with code, name and agency")
        code = entry.get("code")
        if not isinstance(code, str) or not CATEGORY_CODE.match(code):
            raise ValueError(f"{where}.code: must be lower case letters, digits and dashes, got {code!r}")
        if code in seen:
            raise ValueError(f"{where}.code: {code!r} is used twice")
        seen.add(code)
        names = entry.get("name")
        if isinstance(names, str):
            names = {"id": names}
        if not isinstance(names, Mapping) or not all(isinstance(v, str) and v.strip() for v in names.values()) \
                or not names.get("id"):
            raise ValueError(f"{where}.name: give a name, or names by language with at least id")
        agency = entry.get("agency")
        if agency is not None and not isinstance(agency, str):
            raise ValueError(f"{where}.agency: {agency!r} is not an agency code in agencies (or null)")
        group, keywords = entry.get("group") or "", entry.get("keywords") or ""
        if not isinstance(group, str) or not isinstance(keywords, str):
            raise ValueError(f"{where}: group and keywords must be strings")
        unknown = sorted(set(entry) - {"code", "name", "agency", "group", "keywords"})
        if unknown:
            raise ValueError(f"{where}.{unknown[0]}: unknown key (known: agency, code, group, keywords, name)")
        parsed.append(Category(code=code, names=dict(names), agency=agency, group=group, keywords=keywords))
    return tuple(parsed)


class IntakeSettings(Section):
    """``intake:``: the web form, the mobile-app API and Open311's photos, limits and categories."""

    media_dir: str = setting("instance/media", env="SAMBAT_MEDIA_DIR", description="where photos are kept")
    max_photos: Whole = setting(3, description="photos per complaint")
    max_photo_mb: Number = setting(10, description="largest photo accepted")
    form_rate_limit: str = setting("5 per minute;30 per hour", env="SAMBAT_FORM_RATE_LIMIT")
    api_rate_limit: str = setting("120 per minute", env="SAMBAT_API_RATE_LIMIT")
    categories: Annotated[tuple[Category, ...], BeforeValidator(parse_categories)] = setting(())

    @field_validator("media_dir")
    @classmethod
    def _media_dir(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must be a directory path")
        return value

    @field_validator("max_photos")
    @classmethod
    def _max_photos(cls, value: int) -> int:
        if not 0 <= value <= 10:
            raise ValueError("must be a whole number from 0 to 10")
        return value

    @field_validator("max_photo_mb")
    @classmethod
    def _max_photo_mb(cls, value: float) -> float:
        if not 0.1 <= value <= 50:
            raise ValueError("must be a number of megabytes from 0.1 to 50")
        return value

    @field_validator("form_rate_limit", "api_rate_limit")
    @classmethod
    def _limits(cls, value: str) -> str:
        return rate_limit(value, "5 per minute;30 per hour")

    def category(self, code: str) -> Category | None:
        """One category by its service code, or None."""
        return next((category for category in self.categories if category.code == code), None)


class Open311Settings(Section):
    """``open311:``: GeoReport v2 discovery and what requests publish."""

    jurisdiction_id: str = setting("malangkota.go.id")
    contact: str = setting("")
    key_service: str = setting("")
    publish_descriptions: bool = setting(False, description="publish each request's text (personal data masked)")

    @field_validator("jurisdiction_id")
    @classmethod
    def _jurisdiction(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must be a non-empty string")
        return value


class ObservabilitySettings(Section):
    """``observability:``: who may read ``GET /metrics``, where the processes share their counts, the log format."""

    metrics_token: SecretStr | None = setting(None, env="SAMBAT_METRICS_TOKEN", file=False,
                                              description="bearer token for /metrics from another host")
    metrics_dir: str = setting("instance/metrics", env="SAMBAT_METRICS_DIR",
                               description="directory every process of this host counts into (emptied by the "
                                           "operator when all stop); PROMETHEUS_MULTIPROC_DIR wins when set")
    log_format: str = setting("text", env="SAMBAT_LOG_FORMAT", description="text, or json (one object per line)")

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        if value not in ("text", "json"):
            raise ValueError(f"must be text or json, got {value!r}")
        return value

    @field_validator("metrics_dir")
    @classmethod
    def _metrics_dir(cls, value: str) -> str:
        if not str(value).strip():
            raise ValueError("must be a directory path")
        return str(value)


class AdminSettings(Section):
    """``admin:``: the console's login limits, sessions, and the replies to rejected messages."""

    login_rate_limit: str = setting("5 per minute;20 per hour")
    session_idle_minutes: Whole = setting(30, description="a session unused this long ends")
    session_max_hours: Whole = setting(12, description="no session lasts longer than this")
    reject_replies: dict[str, dict[str, str] | None] = setting(DEFAULT_REPLIES)

    @field_validator("login_rate_limit")
    @classmethod
    def _login_limit(cls, value: str) -> str:
        return rate_limit(value, "5 per minute")

    @field_validator("session_idle_minutes")
    @classmethod
    def _idle(cls, value: int) -> int:
        return whole(value, 1, 24 * 60)

    @field_validator("session_max_hours")
    @classmethod
    def _max(cls, value: int) -> int:
        return whole(value, 1, 24 * 14)

    @field_validator("reject_replies", mode="before")
    @classmethod
    def _replies(cls, given: Any) -> dict[str, Any]:
        replies: dict[str, Any] = dict(DEFAULT_REPLIES)
        if not isinstance(given, Mapping):
            raise ValueError(f"must map {', '.join(REJECT_REASONS)} to texts or null")
        for reason, texts in given.items():
            key = f"admin.reject_replies.{reason}"
            if reason not in REJECT_REASONS:
                raise ValueError(f"{key}: unknown reason (known: {', '.join(REJECT_REASONS)})")
            if texts is not None:
                if not isinstance(texts, Mapping) or not all(isinstance(texts.get(lang), str) for lang in LANGUAGES):
                    raise ValueError(f"{key}: give texts for id and en, or null to send nothing")
                for lang in LANGUAGES:
                    if len(texts[lang]) > MAX_NOTE:
                        raise ValueError(f"{key}.{lang}: {len(texts[lang])} characters; at most {MAX_NOTE} "
                                         "keep the reply in one SMS")
                texts = {lang: texts[lang] for lang in LANGUAGES}
            replies[reason] = texts
        return replies


def check_texts(table: Any, section: str, required: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """``templates:`` or ``statuses:``: every required text in every language, with known placeholders.

    Raises:
        ValueError: naming the first missing text or bad placeholder.
    """
    if not isinstance(table, Mapping):
        raise ValueError("must be a mapping of language to texts")
    for language in LANGUAGES:
        texts = table.get(language)
        if not isinstance(texts, Mapping):
            raise ValueError(f"{section}.{language}: missing")
        for key in required:
            value = texts.get(key)
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{section}.{language}.{key}: missing or empty")
            try:
                names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
            except ValueError as exc:
                raise ValueError(f"{section}.{language}.{key}: bad placeholder: {exc}") from None
            unknown = names - TEMPLATE_FIELDS
            if unknown:
                raise ValueError(f"{section}.{language}.{key}: unknown placeholder "
                                 f"{{{sorted(unknown)[0]}}} (known: {', '.join(sorted(TEMPLATE_FIELDS))})")
    return {language: dict(texts) for language, texts in table.items()}
