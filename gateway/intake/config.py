"""The intake and open311 sections of config.yaml: complaint categories (Open311 services) and limits.

Only reads :class:`gateway.settings.Settings` fields, so settings can call :func:`validate_intake` while
it validates, and every mistake stops start-up with a message naming the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from limits import parse_many

CATEGORY_CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


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


def _config_error(message: str) -> Exception:
    from gateway.settings import ConfigError

    return ConfigError(message)


def validate_intake(settings: Any, source: str) -> None:
    """Check the intake and open311 settings; raise ConfigError naming the first bad key."""
    if not isinstance(settings.media_dir, str) or not settings.media_dir.strip():
        raise _config_error(f"{source}: intake.media_dir: must be a directory path")
    if not isinstance(settings.max_photos, int) or not 0 <= settings.max_photos <= 10:
        raise _config_error(f"{source}: intake.max_photos: must be a whole number from 0 to 10")
    if not isinstance(settings.max_photo_mb, int | float) or not 0.1 <= settings.max_photo_mb <= 50:
        raise _config_error(f"{source}: intake.max_photo_mb: must be a number of megabytes from 0.1 to 50")
    for key, value in (("intake.form_rate_limit", settings.form_rate_limit),
                       ("intake.api_rate_limit", settings.api_rate_limit)):
        try:
            if not parse_many(str(value)):
                raise ValueError
        except ValueError:
            raise _config_error(f"{source}: {key}: not a rate limit like '5 per minute;30 per hour': "
                                f"{value!r}") from None
    if not isinstance(settings.open311_jurisdiction_id, str) or not settings.open311_jurisdiction_id.strip():
        raise _config_error(f"{source}: open311.jurisdiction_id: must be a non-empty string")
    if not isinstance(settings.open311_publish_descriptions, bool):
        raise _config_error(f"{source}: open311.publish_descriptions: must be true or false")
    agencies = {agency.code for agency in settings.routing.agencies} if settings.routing is not None else None
    _parse_categories(tuple(settings.categories), frozenset(agencies) if agencies is not None else None, source)


def categories(settings: Any) -> tuple[Category, ...]:
    """The configured categories, in config order (validated when settings were loaded)."""
    return _parse_categories(tuple(settings.categories), None, "config")


def category_by_code(settings: Any, code: str) -> Category | None:
    """One category by its service code, or None."""
    return next((category for category in categories(settings) if category.code == code), None)


def _parse_categories(entries: tuple[Any, ...], agencies: frozenset[str] | None,
                      source: str) -> tuple[Category, ...]:
    parsed: list[Category] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        where = f"{source}: intake.categories[{number}]"
        if not isinstance(entry, Mapping):
            raise _config_error(f"{where}: must be a mapping with code, name and agency")
        code = entry.get("code")
        if not isinstance(code, str) or not CATEGORY_CODE.match(code):
            raise _config_error(f"{where}.code: must be lower case letters, digits and dashes, got {code!r}")
        if code in seen:
            raise _config_error(f"{where}.code: {code!r} is used twice")
        seen.add(code)
        names = entry.get("name")
        if isinstance(names, str):
            names = {"id": names}
        if not isinstance(names, Mapping) or not all(isinstance(v, str) and v.strip() for v in names.values()) \
                or not names.get("id"):
            raise _config_error(f"{where}.name: give a name, or names by language with at least id")
        agency = entry.get("agency")
        if agency is not None and (not isinstance(agency, str) or (agencies is not None and agency not in agencies)):
            raise _config_error(f"{where}.agency: {agency!r} is not an agency code in agencies (or null)")
        group, keywords = entry.get("group") or "", entry.get("keywords") or ""
        if not isinstance(group, str) or not isinstance(keywords, str):
            raise _config_error(f"{where}: group and keywords must be strings")
        parsed.append(Category(code=code, names=dict(names), agency=agency, group=group, keywords=keywords))
    return tuple(parsed)
