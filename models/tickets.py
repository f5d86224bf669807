"""Ticket codes: eight digits, the last a Damm check digit, random, printed "1234 5678".

Any single wrong digit and any swap of two neighbouring digits changes the check digit, so a mistyped
code is caught before it can match another citizen's ticket.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from stdnum import damm

CODE_LENGTH = 8
# Words and marks people put before or inside a code: "TIKET", "No.", "#", "SBT-", spaces, dashes, dots.
_PREFIX = re.compile(r"^\s*(?:(?:tiket|ticket|kode|no|nomor|sbt|sambat)\b\.?\s*[:#.-]?\s*)*#?", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s.\-_/]+")


def new_ticket_code() -> str:
    """A random eight-digit code whose first digit is never 0 and whose last is the Damm check digit."""
    body = str(secrets.randbelow(9_000_000) + 1_000_000)
    return body + damm.calc_check_digit(body)


def format_ticket_code(code: str) -> str:
    """Print a code for people: ``12345678`` becomes ``1234 5678``."""
    return f"{code[:4]} {code[4:]}"


@dataclass(frozen=True)
class ParsedCode:
    """What a typed code turned out to be: ``digits`` always, ``valid`` when the check digit agrees."""

    digits: str
    valid: bool


def parse_ticket_code(text: str) -> ParsedCode | None:
    """Read a ticket code as a person typed it, with or without spaces, dashes or a prefix.

    Returns:
        ``None`` when the text is not eight digits at all; otherwise the digits and whether the check
        digit matches.
    """
    stripped = _SEPARATORS.sub("", _PREFIX.sub("", text.strip(), count=1))
    if len(stripped) != CODE_LENGTH or not stripped.isdigit():
        return None
    return ParsedCode(digits=stripped, valid=damm.is_valid(stripped))


def looks_like_code(text: str) -> bool:
    """True when the whole text is a ticket code (valid or mistyped), e.g. "4821 7730" or "#4821-7730"."""
    return parse_ticket_code(text) is not None
