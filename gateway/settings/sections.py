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
    "status_usage", "status_answer", "status_merged", "short_reply", "questionnaire", "confirmed",
)
TEMPLATE_FIELDS = {"code", "digits", "agency", "status", "updated", "note", "given", "kept"}
STATUSES = ("new", "assigned", "acknowledged", "in_progress", "resolved", "rejected", "merged", "reopened")
CATEGORY_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
# Why the super-admin takes a complaint out of the queue without an agency.
# "short_reply": a thanks or an "ok" that became a ticket; "other_body": another body's business (PLN, the
# police), answered with where to go (admin.referrals).
REJECT_REASONS = {"not_complaint": "Bukan aduan", "spam": "Spam", "short_reply": "Ucapan/balasan singkat",
                  "other_body": "Urusan instansi lain"}
DEFAULT_REPLIES: dict[str, dict[str, str] | None] = {
    "not_complaint": {
        "id": "Pesan Anda bukan aduan untuk Pemkot, jadi tidak kami teruskan. Info: ketik BANTUAN.",
        "en": "Your message is not a complaint for the city, so it was not forwarded. Text HELP for more.",
    },
    "spam": None,
    "short_reply": None,
    "other_body": {
        "id": "Aduan Anda bukan wewenang Pemkot, jadi tidak kami teruskan. Silakan hubungi instansi terkait.",
        "en": "Your complaint is not the city's business, so it was not forwarded. Please contact the body concerned.",
    },
}
# Characters of a complaint's text kept for routing, per medium: the rest stays with the message, not routed.
DEFAULT_ROUTED_CHARS = {"sms": 1600, "mms": 1600, "whatsapp": 4096, "email": 20000, "default": 20000}
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
    reconcile_after: Number = setting(600.0, description="seconds a sent message may stay non-final before its "
                                      "provider is asked for its state")
    max_throttled: Whole = setting(20, description="a provider's 'too many requests' refusals of one message not "
                                   "counted as failed sends")

    @field_validator("max_attempts")
    @classmethod
    def _attempts(cls, value: int) -> int:
        return whole(value, 1)

    @field_validator("max_throttled")
    @classmethod
    def _throttled(cls, value: int) -> int:
        return whole(value, 0)

    @field_validator("reconcile_after")
    @classmethod
    def _reconcile(cls, value: float) -> float:
        if not 10 <= value <= 7 * 24 * 3600:
            raise ValueError(f"must be a number of seconds from 10 to 604800, got {value!r}")
        return value

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


# The jobs a worker runs, by their short name, and the seconds each may take before rq stops it (jobs.timeouts).
JOB_NAMES = ("process_inbound", "send_outbound", "check_outbound", "fetch_media", "default")
DEFAULT_TIMEOUTS = {"process_inbound": 60, "send_outbound": 60, "check_outbound": 30, "fetch_media": 120,
                    "default": 120}


class JobsSettings(Section):
    """``jobs:``: how long one job may run and how often a message or send is tried before it is dead."""

    max_attempts: Whole = setting(5, env="SAMBAT_JOBS_MAX_ATTEMPTS", description="runs of a message's job, or sends "
                                  "of a reply, before it is dead (shown in the console with a retry button)")
    timeouts: dict[str, Number] = setting(DEFAULT_TIMEOUTS, description="seconds per job (process_inbound, "
                                          "send_outbound, check_outbound, fetch_media; default for the rest)")
    batch_wait: Number = setting(0.1, env="SAMBAT_JOBS_BATCH_WAIT", description="seconds a woken processing job "
                                 "waits before it looks: what arrives meanwhile joins its batch (less CPU per "
                                 "message, that much later a reply; then half as long again, at most 0.05 s, the "
                                 "window in which webhooks skip waking it); 0 to 5; the same for web and workers")

    @field_validator("batch_wait")
    @classmethod
    def _batch_wait(cls, value: float) -> float:
        if not 0 <= value <= 5:
            raise ValueError("must be a number of seconds from 0 to 5")
        return value

    @field_validator("max_attempts")
    @classmethod
    def _attempts(cls, value: int) -> int:
        return whole(value, 1, 100)

    @field_validator("timeouts", mode="before")
    @classmethod
    def _timeouts(cls, given: Any) -> dict[str, float]:
        if not isinstance(given, Mapping):
            raise ValueError(f"must map job names ({', '.join(JOB_NAMES)}) to seconds")
        timeouts = dict(DEFAULT_TIMEOUTS)
        for name, seconds in given.items():
            if name not in JOB_NAMES:
                raise ValueError(f"jobs.timeouts.{name}: not a job; the jobs are {', '.join(JOB_NAMES)}")
            if isinstance(seconds, bool) or not isinstance(seconds, int | float) or not 1 <= seconds <= 3600:
                raise ValueError(f"jobs.timeouts.{name}: must be a number of seconds from 1 to 3600, got {seconds!r}")
            timeouts[name] = seconds
        return timeouts

    def timeout(self, job: str) -> int:
        """Whole seconds for one job, by its short or dotted name (rq takes whole seconds)."""
        name = job.rpartition(".")[2]
        return max(1, round(self.timeouts.get(name, self.timeouts["default"])))


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
    routed_chars: dict[str, Whole] = setting(DEFAULT_ROUTED_CHARS, description="per medium (sms, mms, whatsapp, "
                                             "email, web ...): characters of a complaint's text kept for routing")

    @field_validator("routed_chars", mode="before")
    @classmethod
    def _routed_chars(cls, given: Any) -> dict[str, int]:
        if not isinstance(given, Mapping):
            raise ValueError("must map media (sms, email ...) to a number of characters")
        limits = dict(DEFAULT_ROUTED_CHARS)
        for medium, chars in given.items():
            if isinstance(chars, bool) or not isinstance(chars, int) or not 160 <= chars <= 1_000_000:
                raise ValueError(f"intake.routed_chars.{medium}: must be a whole number from 160 to 1000000, "
                                 f"got {chars!r}")
            limits[str(medium)] = chars
        return limits

    def routed_limit(self, medium: str) -> int:
        """Characters of a complaint's text kept for routing when it came by ``medium``."""
        return self.routed_chars.get(medium, self.routed_chars["default"])

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

    login_rate_limit: str = setting("5 per minute;10 per 10 minutes;20 per hour",
                                    description="failed logins per client address and per account")
    session_idle_minutes: Whole = setting(30, description="a session unused this long ends")
    session_max_hours: Whole = setting(12, description="no session lasts longer than this")
    reject_replies: dict[str, dict[str, str] | None] = setting(DEFAULT_REPLIES)
    referrals: dict[str, dict[str, str]] = setting({}, description="where to go, per body outside the city "
                                                   "(PLN, the police), for a rejection as another body's business")
    hold_without_users: bool = setting(True, env="SAMBAT_HOLD_WITHOUT_USERS", description="the router never "
                                       "assigns to an agency with no active console user: it waits in review")
    undo_minutes: Whole = setting(5, description="how long the review queue offers to undo an action")

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

    @field_validator("undo_minutes")
    @classmethod
    def _undo(cls, value: int) -> int:
        return whole(value, 0, 60)

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


    @field_validator("referrals", mode="before")
    @classmethod
    def _referrals(cls, given: Any) -> dict[str, dict[str, str]]:
        if given is None:
            return {}
        if not isinstance(given, Mapping):
            raise ValueError("must map a body (e.g. PLN) to its texts: {name: ..., id: ..., en: ...}")
        referrals = {}
        for body, texts in given.items():
            key = f"admin.referrals.{body}"
            if not isinstance(texts, Mapping) or not all(isinstance(texts.get(lang), str) and texts[lang].strip()
                                                         for lang in LANGUAGES):
                raise ValueError(f"{key}: give texts for id and en (and optionally name)")
            for lang in LANGUAGES:
                if len(texts[lang]) > MAX_NOTE:
                    raise ValueError(f"{key}.{lang}: {len(texts[lang])} characters; at most {MAX_NOTE} keep the "
                                     "reply in one SMS")
            unknown = sorted(set(texts) - {"name", *LANGUAGES})
            if unknown:
                raise ValueError(f"{key}.{unknown[0]}: unknown key (known: name, id, en)")
            referrals[str(body)] = {"name": str(texts.get("name") or body), **{lang: texts[lang] for lang in LANGUAGES}}
        return referrals


class QuestionnaireSettings(Section):
    """``questionnaire:``: "Sudah beres? Balas YA atau BELUM", some working days after a resolution."""

    after_days: Whole = setting(3, description="working days after resolution before the citizen is asked")
    answer_days: Whole = setting(14, description="days after resolution a YA/BELUM, or a reply saying it is not "
                                 "fixed, still counts for that ticket")

    @field_validator("after_days")
    @classmethod
    def _after(cls, value: int) -> int:
        return whole(value, 0, 60, "working days")

    @field_validator("answer_days")
    @classmethod
    def _answer(cls, value: int) -> int:
        return whole(value, 1, 365, "days")


class ShortRepliesSettings(Section):
    """``short_replies:``: thanks, "ok", "👍" from a citizen with a ticket are no new complaint."""

    days: Whole = setting(3, description="days after a ticket's last change that a short reply still belongs "
                          "to it (it is attached as a note; a polite reply at most once a day)")

    @field_validator("days")
    @classmethod
    def _days(cls, value: int) -> int:
        return whole(value, 0, 60, "days")
SMS_NUMBER = re.compile(r"^\+?[0-9][0-9 -]{2,22}$")
PRIVACY_KEYS = ("summary", "page")
# UU 27/2022 (Pelindungan Data Pribadi): what is kept, for what, for how long, who sees it. A city changes the
# words in config.yaml (public.privacy); these are the defaults.
DEFAULT_PRIVACY: dict[str, dict[str, str]] = {
    "id": {
        "summary": (
            "Kami menyimpan isi aduan, lokasi, foto (tanpa data EXIF/GPS) serta nama, nomor HP atau e-mail bila "
            "Anda mengisinya, hanya untuk menindaklanjuti aduan dan mengabari Anda. Data disimpan selama aduan "
            "ditangani dan 2 tahun sesudahnya, dan hanya dilihat petugas pemkot dan dinas yang menangani; halaman "
            "tiket publik tidak pernah menampilkan data pribadi Anda (UU 27/2022 tentang Pelindungan Data "
            "Pribadi)."),
        "page": (
            "Apa yang kami simpan: isi aduan, kelurahan, alamat, koordinat dan foto yang Anda kirim (foto disimpan "
            "ulang tanpa data EXIF/GPS), serta nama, nomor HP dan e-mail bila Anda mengisinya.\n\n"
            "Untuk apa: meneruskan aduan ke dinas yang berwenang, mengabari Anda tentang perkembangannya, dan "
            "menghitung angka kinerja dinas tanpa data pribadi.\n\n"
            "Berapa lama: selama aduan ditangani dan 2 tahun sesudah selesai; sesudah itu data pribadi dihapus.\n\n"
            "Siapa yang melihat: petugas pemkot yang memeriksa aduan dan admin dinas yang menanganinya. Pemantau "
            "(kantor wali kota) melihat nomor HP dan e-mail tersamar. Halaman tiket publik hanya menampilkan "
            "status, dinas, tanggal dan jawaban dinas.\n\n"
            "Hak Anda (UU 27/2022 tentang Pelindungan Data Pribadi): meminta salinan, perbaikan atau penghapusan "
            "data Anda, dan berhenti menerima kabar dengan SMS STOP. Hubungi pengelola layanan aduan kota."),
    },
    "en": {
        "summary": (
            "We keep your complaint, its place, photos (with EXIF/GPS data removed) and your name, mobile number "
            "or e-mail if you give them, only to handle the complaint and keep you informed. They are kept while "
            "the complaint is handled and for 2 years after, and seen only by the city's staff and the agency "
            "handling it; the public ticket page never shows your personal data (Indonesia's Personal Data "
            "Protection Law, UU 27/2022)."),
        "page": (
            "What we keep: your complaint's text, kelurahan, address, coordinates and photos (re-saved without "
            "EXIF/GPS data), and your name, mobile number and e-mail if you give them.\n\n"
            "What for: to send the complaint to the agency responsible, to tell you how it goes, and to count each "
            "agency's figures without personal data.\n\n"
            "How long: while the complaint is handled and 2 years after it is closed; then personal data is "
            "deleted.\n\n"
            "Who sees it: the city staff who review complaints and the admins of the agency handling yours. The "
            "mayor's office sees phone numbers and e-mails masked. The public ticket page shows only the status, "
            "the agency, dates and the agency's answers.\n\n"
            "Your rights (UU 27/2022): to ask for a copy, a correction or deletion of your data, and to stop "
            "updates by texting STOP. Contact the city's complaint service."),
    },
}


class PublicSettings(Section):
    """``public:``: what the citizen's pages say: the city's SMS number and the privacy notice."""

    sms_number: str | None = setting(None, env="SAMBAT_SMS_NUMBER", description="the number citizens text, "
                                      "shown wherever the pages say \"kirim SMS\"")
    privacy: dict[str, dict[str, str]] = setting(DEFAULT_PRIVACY, description="the privacy notice by language: "
                                                 "summary (one paragraph on the form) and page (/privasi)")

    @field_validator("sms_number")
    @classmethod
    def _sms_number(cls, value: str | None) -> str | None:
        if value is None or not str(value).strip():
            return None
        value = " ".join(str(value).split())
        if not SMS_NUMBER.match(value):
            raise ValueError(f"not a phone number like '0811 3600 123' or '+62 811 3600 123': {value!r}")
        return value

    @field_validator("privacy", mode="before")
    @classmethod
    def _privacy(cls, given: Any) -> dict[str, dict[str, str]]:
        if not isinstance(given, Mapping):
            raise ValueError("must map each language (id, en) to a summary and a page")
        for language in given:
            if language not in LANGUAGES:
                raise ValueError(f"public.privacy.{language}: unknown language (known: {', '.join(LANGUAGES)})")
        texts: dict[str, dict[str, str]] = {}
        for language in LANGUAGES:
            entry = given.get(language, DEFAULT_PRIVACY[language])
            if not isinstance(entry, Mapping):
                raise ValueError(f"public.privacy.{language}: must have summary and page")
            for key in entry:
                if key not in PRIVACY_KEYS:
                    raise ValueError(f"public.privacy.{language}.{key}: unknown key (known: summary, page)")
            for key in PRIVACY_KEYS:
                value = entry.get(key)
                if not isinstance(value, str) or not value.strip():
                    raise ValueError(f"public.privacy.{language}.{key}: missing or empty")
            texts[language] = {key: str(entry[key]).strip() for key in PRIVACY_KEYS}
        return texts

    def privacy_text(self, language: str, key: str) -> str:
        """The privacy summary or page in a language (Indonesian when there is none)."""
        return (self.privacy.get(language) or self.privacy["id"])[key]


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
