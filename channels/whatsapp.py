"""WhatsApp's approved templates (Twilio Content API): the ``whatsapp:`` section, and a template filled in.

Past WhatsApp's 24-hour window only an approved template goes through; ``gateway.jobs.whatsapp`` decides when.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from channels.config import Section, setting

TEMPLATE_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")  # a Twilio Content API template
# The template variables {{1}}, {{2}} ... of each message kind, in order, unless config.yaml lists its own.
DEFAULT_VARIABLES: dict[str, tuple[str, ...]] = {
    "status_update": ("code", "status", "note"),
    "ticket_created": ("code", "agency", "digits"),
    "ticket_created_review": ("code", "digits"),
    "status": ("code", "status", "agency", "updated"),
    "info_added": ("code",),
    "location_added": ("code",),
    "bad_code": ("given",),
}
VARIABLE_MAX = 700  # WhatsApp's template body holds 1024 characters in all


class WhatsAppSettings(Section):
    """``whatsapp:``: one approved template per message kind (``status_update: HX...``), or per language."""

    templates: Any = setting({}, description="message kind -> Content API template SID (HX...)")


@dataclass(frozen=True)
class Template:
    """An approved template for one message kind and language: its id and the values its variables take."""

    sid: str
    variables: tuple[str, ...]

    def fill(self, values: Mapping[str, Any]) -> dict[str, str]:
        """The numbered variables, e.g. {"1": "1234 5678", "2": "Selesai", "3": "-"}.

        WhatsApp refuses an empty variable and one with a line break, a tab or more than four spaces in a row.
        """
        return {str(number): _variable(values.get(name)) for number, name in enumerate(self.variables, start=1)}


def _variable(value: Any) -> str:
    text = re.sub(r"\s+", " ", str(value if value is not None else "")).strip()
    return (text[: VARIABLE_MAX - 3].rstrip() + "..." if len(text) > VARIABLE_MAX else text) or "-"


def template_for(settings: Any, kind: str, language: str) -> Template | None:
    """The approved template configured for a kind of message in a language, or None."""
    entry = (settings.whatsapp.templates or {}).get(kind)
    if isinstance(entry, str):
        return Template(entry, DEFAULT_VARIABLES.get(kind, ()))
    if not isinstance(entry, Mapping):
        return None
    sid = entry.get(language) or entry.get("sid") or entry.get(settings.default_language)
    if not sid:
        return None
    return Template(sid, tuple(entry.get("variables") or DEFAULT_VARIABLES.get(kind, ())))


def check_templates(templates: Any, kinds: tuple[str, ...], languages: tuple[str, ...], fields: set[str]) -> None:
    """Check ``whatsapp.templates``: known message kinds, Content API SIDs (HX + 32 hex), known variables.

    Raises:
        ValueError: naming the bad key.
    """
    templates = templates if templates is not None else {}
    if not isinstance(templates, Mapping):
        raise ValueError("whatsapp.templates: must be a mapping of message kind to template SID")
    for kind, entry in templates.items():
        key = f"whatsapp.templates.{kind}"
        if kind not in kinds:
            raise ValueError(f"{key}: unknown message kind (known: {', '.join(kinds)})")
        bare = isinstance(entry, str)
        entry = {"sid": entry} if bare else entry
        if not isinstance(entry, Mapping):
            raise ValueError(f"{key}: must be a template SID (HX...) or a mapping with sid, id, en, variables")
        unknown = set(entry) - {"sid", "variables", *languages}
        if unknown:
            raise ValueError(f"{key}: unknown key {sorted(unknown)[0]!r} (known: sid, variables, id, en)")
        sids = {name: entry[name] for name in ("sid", *languages) if name in entry}
        if not sids:
            raise ValueError(f"{key}: no template SID (sid, or one per language: id, en)")
        for name, sid in sids.items():
            if not isinstance(sid, str) or not TEMPLATE_SID.match(sid):
                raise ValueError(f"{key}{'' if bare else '.' + name}: "
                                  f"not a Content API template SID (HX and 32 hex digits): {sid!r}")
        variables = entry.get("variables", [])
        if not isinstance(variables, list | tuple) or not all(name in fields for name in variables):
            raise ValueError(f"{key}.variables: a list of {', '.join(sorted(fields))}")
