"""Reply texts: templates from config.yaml rendered for one SMS segment where they can be."""

from __future__ import annotations

from collections.abc import Mapping

# GSM 03.38 default alphabet; the extension table's characters take two septets each.
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")
SEGMENT_GSM7, SEGMENT_UCS2 = 160, 70


def gsm7_length(text: str) -> int | None:
    """Septets the text takes in GSM-7, or None when a character needs UCS-2."""
    length = 0
    for char in text:
        if char in GSM7_BASIC:
            length += 1
        elif char in GSM7_EXTENDED:
            length += 2
        else:
            return None
    return length


def fits_one_segment(text: str) -> bool:
    """True when the text goes as one SMS: 160 GSM-7 septets, or 70 UCS-2 characters."""
    septets = gsm7_length(text)
    return septets <= SEGMENT_GSM7 if septets is not None else len(text) <= SEGMENT_UCS2


def to_gsm7(text: str) -> str:
    """Replace the usual characters that would force a whole SMS into UCS-2 (curly quotes, dashes)."""
    table = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                           "\u2014": "-", "\u2026": "...", "\u00a0": " "})
    return text.translate(table)


def render(templates: Mapping[str, Mapping[str, str]], language: str, key: str, one_segment: bool = True,
           **values: object) -> str:
    """Fill one template for a language (falling back to Indonesian), cleaned up for GSM-7.

    A free-text value (an agency's note) that would push the reply past one segment is shortened with
    "..." rather than splitting the SMS in two; ``one_segment=False`` (an e-mail) keeps it whole.
    """
    template = (templates.get(language) or templates["id"])[key]
    text = to_gsm7(template.format(**{k: to_gsm7(str(v)) for k, v in values.items()}))
    note = values.get("note")
    if note and one_segment and not fits_one_segment(text):
        overflow = len(text) - (SEGMENT_GSM7 if gsm7_length(text) is not None else SEGMENT_UCS2)
        shortened = str(note)[: max(0, len(str(note)) - overflow - 3)].rstrip() + "..."
        text = to_gsm7(template.format(**{**{k: str(v) for k, v in values.items()}, "note": shortened}))
    return text


def status_text(statuses: dict, language: str, status: str) -> str:
    """The status's name for citizens in a language (Indonesian when missing)."""
    return (statuses.get(language) or statuses["id"]).get(status, status)
