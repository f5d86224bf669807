"""Reply texts: templates from config.yaml rendered for one SMS segment where they can be.

An agency's answer may take up to :data:`MAX_SEGMENTS` segments of a concatenated SMS (issue 15): longer
texts are cut at a word, with "...", never mid-word; the whole answer stays on the ticket page. A provider
that does not join the parts of a long SMS gets them as separate messages numbered "(1/2)".
"""

from __future__ import annotations

import math
from collections.abc import Mapping

# GSM 03.38 default alphabet; the extension table's characters take two septets each.
GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = set("^{}\\[~]|€\f")
SEGMENT_GSM7, SEGMENT_UCS2 = 160, 70
PART_GSM7, PART_UCS2 = 153, 67  # a part of a concatenated SMS gives 7 septets (3 UCS-2 characters) to its header
MAX_SEGMENTS = 3  # an agency's answer: at most this many segments; the rest is on the ticket page


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


def ucs2_length(text: str) -> int:
    """UTF-16 code units: what a UCS-2 SMS counts (an emoji takes two)."""
    return len(text.encode("utf-16-le")) // 2


def segments(text: str) -> int:
    """How many SMS segments the text costs as one concatenated SMS (GSM-7 when it can, else UCS-2)."""
    septets = gsm7_length(text)
    if septets is not None:
        return 1 if septets <= SEGMENT_GSM7 else math.ceil(septets / PART_GSM7)
    units = ucs2_length(text)
    return 1 if units <= SEGMENT_UCS2 else math.ceil(units / PART_UCS2)


def fits(text: str, max_segments: int = 1) -> bool:
    """True when the text costs at most ``max_segments`` segments."""
    return segments(text) <= max_segments


def cut_at_word(text: str, max_segments: int = 1, mark: str = "...") -> str:
    """The text unchanged when it fits, else its longest start that ends at a word and, with ``mark``, fits."""
    if fits(text, max_segments):
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits with the mark
        middle = (low + high + 1) // 2
        if fits(text[:middle].rstrip() + mark, max_segments):
            low = middle
        else:
            high = middle - 1
    cut = text[:low]
    if low < len(text) and not text[low].isspace():  # mid-word: back to the last space, if there is one
        space = max(cut.rfind(" "), cut.rfind("\n"))
        if space > 0:
            cut = cut[:space]
    return cut.rstrip(" ,;:-\n") + mark


def numbered_parts(text: str, max_parts: int = MAX_SEGMENTS) -> list[str]:
    """For a provider that sends each segment as its own SMS: parts of one segment each, cut at words and
    numbered "(1/2) ", at most ``max_parts`` (the last cut with "..." when the text is longer still)."""
    if fits(text, 1):
        return [text]
    for total in range(2, max_parts + 1):
        parts = _split(text, total, cut_last=total == max_parts)
        if parts is not None:
            return parts
    return [text]  # not reached: the last try always cuts


def _split(text: str, total: int, cut_last: bool) -> list[str] | None:
    parts, rest = [], text
    for number in range(1, total + 1):
        prefix = f"({number}/{total}) "
        if fits(prefix + rest, 1):
            return [*parts, prefix + rest]
        if number == total:
            return [*parts, cut_at_word(prefix + rest, 1)] if cut_last else None
        part = cut_at_word(prefix + rest, 1, mark="")
        parts.append(part)
        rest = rest[len(part) - len(prefix):].lstrip()
    return None


def to_gsm7(text: str) -> str:
    """Replace the usual characters that would force a whole SMS into UCS-2 (curly quotes, dashes)."""
    table = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-",
                           "\u2014": "-", "\u2026": "...", "\u00a0": " "})
    return text.translate(table)


def render(templates: Mapping[str, Mapping[str, str]], language: str, key: str, one_segment: bool = True,
           max_segments: int = 1, **values: object) -> str:
    """Fill one template for a language (falling back to Indonesian), cleaned up for GSM-7.

    A free-text value (an agency's note) that would push the reply past ``max_segments`` SMS segments (one
    unless told) is cut at a word with "..."; ``one_segment=False`` (an e-mail) keeps it whole.
    """
    template = (templates.get(language) or templates["id"])[key]
    cleaned = {k: to_gsm7(str(v)) for k, v in values.items()}
    text = to_gsm7(template.format(**cleaned))
    note = cleaned.get("note")
    if not note or not one_segment or fits(text, max_segments):
        return text

    def with_note(shortened: str) -> str:
        return to_gsm7(template.format(**{**cleaned, "note": shortened.rstrip(" ,;:-\n") + "..."}))

    words = note.split(" ")
    if len(words) > 1 and fits(with_note(words[0]), max_segments):  # the most whole words that fit
        low, high = 1, len(words)
        while low < high:
            middle = (low + high + 1) // 2
            low, high = (middle, high) if fits(with_note(" ".join(words[:middle])), max_segments) else (low, middle - 1)
        return with_note(" ".join(words[:low]))
    low, high = 0, len(note)  # one long unbroken word: cut it where it must be
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if fits(with_note(note[:middle]), max_segments) else (low, middle - 1)
    return with_note(note[:low])


def status_text(statuses: dict, language: str, status: str) -> str:
    """The status's name for citizens in a language (Indonesian when missing)."""
    return (statuses.get(language) or statuses["id"]).get(status, status)
