"""Text that cannot break a page or a terminal: control characters out, on every channel (issue 15).

A complaint's text (and a citizen's addition to it) loses C0 and C1 control characters (newlines and tabs
stay), the byte-order mark, zero-width spaces and the bidirectional overrides that turn a line around. The
message as it arrived is kept whole on its :class:`models.InboundMessage` row. The length cap per channel is
the intake path's (SMS 1,600, e-mail 20,000 characters).
"""

from __future__ import annotations

import math
import re
from typing import Any

# C0 except \t and \n, DEL and C1; zero-width space, LRM/RLM, bidi embeddings, overrides and isolates, BOM; and
# U+FFFD, which stands for a NUL in a stored message (:func:`storable`).
_CONTROL = re.compile("[\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_LINE_BREAKS = re.compile("\r\n?|[\u2028\u2029\x85]")


def strip_controls(text: str | None) -> str:
    """The text without control characters; line breaks become "\\n"."""
    if not text:
        return ""
    return _CONTROL.sub("", _LINE_BREAKS.sub("\n", text))


def storable(value: Any) -> Any:
    """A message as it arrived, fit for any database: PostgreSQL's text and JSONB refuse the NUL character, so
    each becomes U+FFFD (strings inside dicts and lists too), and JSON refuses numbers that are not finite (Python's
    JSON reader takes ``NaN`` and ``Infinity`` from a body), so each becomes the word it was written as; everything
    else is kept as it was."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else "Infinity" if value > 0 else "-Infinity"
    if isinstance(value, dict):
        return {storable(key): storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [storable(item) for item in value]
    return value
