"""SMS commands: what a citizen's text asks for. Pure functions over text, no database.

Keywords are anchored and forgiving in the rapidsms way: leading spaces, any case, and any of
``[\\s,;:.#-]`` after the keyword. Indonesian first, English aliases; the alias used decides the reply's
language. STOP, HELP and the like count only as the whole message, so "stop lampu mati" is a complaint.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from models.tickets import looks_like_code

STATUS, INFO, HELP, STOP, START, COMPLAINT, EMPTY = "status", "info", "help", "stop", "start", "complaint", "empty"

# keyword -> (command, language of the reply)
_WHOLE_MESSAGE = {
    "BANTUAN": (HELP, "id"), "HELP": (HELP, "en"), "TOLONG": (HELP, "id"), "MENU": (HELP, "id"),
    "STOP": (STOP, None), "BERHENTI": (STOP, "id"), "UNSUBSCRIBE": (STOP, "en"),
    "MULAI": (START, "id"), "START": (START, "en"), "UNSTOP": (START, "en"),
}
_WITH_ARGUMENT = {
    "CEK": (STATUS, "id"), "CEKTIKET": (STATUS, "id"), "STATUS": (STATUS, None), "CHECK": (STATUS, "en"),
    "INFO": (INFO, "id"), "TAMBAH": (INFO, "id"),
    "SAMBAT": (COMPLAINT, None), "ADUAN": (COMPLAINT, None), "LAPOR": (COMPLAINT, None),
}
_KEYWORD = re.compile(r"^\s*([A-Za-z]+)(?:[\s,;:.#-]+(.*))?$", re.DOTALL)
_INFO_ARGUMENT = re.compile(r"^\s*((?:[#]?\d[\d\s.\-]*\d))(?:[\s,;:.-]+(.*))?$", re.DOTALL)
_TRAILING_MARKS = re.compile(r"[\s.!?,;:]+$")


@dataclass(frozen=True)
class Command:
    """A parsed SMS: the command, its ticket code text and free text, and the language it was asked in."""

    name: str
    code: str | None = None
    text: str = ""
    language: str | None = None


def parse_command(message: str) -> Command:
    """Tell what an incoming text asks for.

    Args:
        message: the SMS body as received.

    Returns:
        A :class:`Command`; anything that is not a command is a ``complaint`` with the full text.
    """
    text = (message or "").strip()
    if not text:
        return Command(EMPTY)
    if looks_like_code(text):
        return Command(STATUS, code=text)
    bare = _TRAILING_MARKS.sub("", text).upper()
    if bare in _WHOLE_MESSAGE:
        name, language = _WHOLE_MESSAGE[bare]
        return Command(name, language=language)
    match = _KEYWORD.match(text)
    if match and match.group(1).upper() in _WITH_ARGUMENT:
        name, language = _WITH_ARGUMENT[match.group(1).upper()]
        rest = (match.group(2) or "").strip()
        if name == STATUS:
            return Command(STATUS, code=rest, language=language)
        if name == INFO:
            return _info(rest, language)
        return Command(COMPLAINT, text=rest) if rest else Command(EMPTY)
    return Command(COMPLAINT, text=text)


def _info(rest: str, language: str | None) -> Command:
    """``INFO <code> <text>``: the code is the leading run of digits (spaces and dashes allowed)."""
    match = _INFO_ARGUMENT.match(rest)
    if not match:
        return Command(INFO, code=None, text=rest, language=language)
    digits_run = match.group(1)
    # "INFO 4821 7730 lubang" — take the first eight digits as the code even when spaced.
    digits = re.sub(r"\D", "", digits_run)
    if len(digits) > 8:
        # The text began with a number ("INFO 48217730 3 hari"): keep what is past the code as text.
        consumed, count = 0, 0
        for consumed, char in enumerate(digits_run, start=1):
            count += char.isdigit()
            if count == 8:
                break
        text = (digits_run[consumed:] + " " + (match.group(2) or "")).strip()
        return Command(INFO, code=digits_run[:consumed], text=text, language=language)
    return Command(INFO, code=digits_run, text=(match.group(2) or "").strip(), language=language)
