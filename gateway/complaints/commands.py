"""SMS commands: what a citizen's text asks for. Pure functions over text, no database.

Keywords are anchored and forgiving in the rapidsms way: leading spaces, any case, and any of
``[\\s,;:.#-]`` (or the code's first digit: ``Cek66283615``) after the keyword. Indonesian first, English
aliases; the alias used decides the reply's language. STOP, HELP and the like count only as the whole message,
so "stop lampu mati" is a complaint.

Codes are found as people type them (issue 15): after CEK/STATUS anywhere in the words that follow
("cek tiket saya 6628-3615", "CEK 6628 3615 tolong dipercepat"); and in a short sentence without a keyword
("gimana 66283615 pak") when the number looks like a ticket code and nothing else (eight digits, not starting
with 0, its check digit right, not an amount like "Rp 50.000.000" nor part of a longer number such as a phone
number). Such a sentence is a ``status`` command marked ``embedded``: the caller answers it only when the
ticket exists, and files it as a complaint otherwise.

A complaint also carries a ``hint`` for the caller, who knows the citizen's tickets: ``short`` (thanks, "ok",
"👍", "?": never a complaint on its own), ``yes`` ("YA", "sudah beres") and ``dispute`` ("belum", "masih",
"tidak benar": the answer is not fixed).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from stdnum import damm

from models.tickets import CODE_LENGTH, looks_like_code

STATUS, INFO, HELP, STOP, START, COMPLAINT, EMPTY = "status", "info", "help", "stop", "start", "complaint", "empty"
SHORT, YES, DISPUTE = "short", "yes", "dispute"  # hints on a complaint (see the module's docstring)

# keyword -> (command, language of the reply)
_WHOLE_MESSAGE = {
    "BANTUAN": (HELP, "id"), "HELP": (HELP, "en"), "TOLONG": (HELP, "id"), "MENU": (HELP, "id"),
    "STOP": (STOP, None), "BERHENTI": (STOP, "id"), "UNSUBSCRIBE": (STOP, "en"),
    "MULAI": (START, "id"), "START": (START, "en"), "UNSTOP": (START, "en"),
}
_WITH_ARGUMENT = {
    "CEK": (STATUS, "id"), "CEKTIKET": (STATUS, "id"), "STATUS": (STATUS, None), "CHECK": (STATUS, "en"),
    # the usual slips on a keypad: a doubled or dropped letter, a swap
    "CEKK": (STATUS, "id"), "CEEK": (STATUS, "id"), "CK": (STATUS, "id"), "CKE": (STATUS, "id"),
    "CHEK": (STATUS, "id"), "CEKSTATUS": (STATUS, "id"), "STATUSS": (STATUS, None), "STATS": (STATUS, None),
    "STATUES": (STATUS, None), "STAUTS": (STATUS, None), "STTS": (STATUS, None), "STATSU": (STATUS, None),
    "INFO": (INFO, "id"), "TAMBAH": (INFO, "id"),
    "SAMBAT": (COMPLAINT, None), "ADUAN": (COMPLAINT, None), "LAPOR": (COMPLAINT, None),
}
_KEYWORD = re.compile(r"^\s*([A-Za-z]+)(?:[\s,;:.#!?-]+(.*)|(\d.*))?$", re.DOTALL)
_INFO_ARGUMENT = re.compile(r"^\s*((?:[#]?\d[\d\s.\-]*\d))(?:[\s,;:.-]+(.*))?$", re.DOTALL)
_TRAILING_MARKS = re.compile(r"[\s.!?,;:]+$")


@dataclass(frozen=True)
class Command:
    """A parsed SMS: the command, its ticket code text and free text, and the language it was asked in."""

    name: str
    code: str | None = None
    text: str = ""
    language: str | None = None
    embedded: bool = False  # a status asked by a code inside a sentence: answered only if the ticket exists
    hint: str | None = None  # on a complaint: SHORT, YES or DISPUTE


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
        rest = (match.group(2) or match.group(3) or "").strip()
        if name == STATUS:
            return _status(rest, language)
        if name == INFO:
            return _info(rest, language)
        return Command(COMPLAINT, text=rest, hint=hint_of(rest)) if rest else Command(EMPTY)
    embedded = embedded_code(text)
    if embedded is not None:
        return Command(STATUS, code=embedded, text=text, embedded=True)
    return Command(COMPLAINT, text=text, hint=hint_of(text))


# A run of digits, single separators (space, dot, dash, slash, underscore) allowed between them.
_DIGIT_RUN = re.compile(r"\d+(?:[ .\-_/]\d+)*")
_AMOUNT = re.compile(r"(?:rp|idr)\.?\s*$", re.IGNORECASE)
_THOUSANDS = re.compile(r"^\d{1,3}(?:[.,]\d{3})+$")
EMBEDDED_MAX_WORDS = 10  # a code "alone inside a sentence": longer texts are complaints that mention a number


def _runs(text: str) -> list[tuple[int, str, list[str]]]:
    """Each run of digits: where it starts, as typed, and its groups of digits."""
    return [(found.start(), found.group(0), re.findall(r"\d+", found.group(0))) for found in _DIGIT_RUN.finditer(text)]


def find_code(text: str) -> str | None:
    """The first eight digits in the text that make a code, as typed groups add up ("6628 3615", "6628-3615").

    A run longer than a code is split at a group boundary when its leading groups make exactly eight digits
    ("6628 3615 2 hari"); a longer unbroken number is not a code.
    """
    for _, _, groups in _runs(text):
        total, taken = 0, []
        for group in groups:
            total += len(group)
            taken.append(group)
            if total >= CODE_LENGTH:
                break
        if total == CODE_LENGTH:
            return "".join(taken)
    return None


def embedded_code(text: str) -> str | None:
    """A ticket code inside a short sentence without a keyword, or None (see the module's docstring)."""
    if len(text.split()) > EMBEDDED_MAX_WORDS:
        return None
    for start, typed, groups in _runs(text):
        digits = "".join(groups)
        if len(digits) != CODE_LENGTH or digits[0] == "0" or not damm.is_valid(digits):
            continue
        before, after = text[:start], text[start + len(typed):]
        if before[-1:].isalnum() or after[:1].isalnum():  # inside a word or a longer number: "A12345678"
            continue
        if _AMOUNT.search(before) or _THOUSANDS.match(typed) or after.lstrip().startswith((",-", ".-", "rb", "ribu")):
            continue
        if not (len(groups) == 1 or [len(group) for group in groups] in ([4, 4], [2, 2, 2, 2])):
            continue  # "66 283 615" is no way to write a code
        return digits
    return None


def _status(rest: str, language: str | None) -> Command:
    """``CEK <code>``: the code anywhere in what follows; no digits at all is a bare CEK (the usage)."""
    if not re.search(r"\d", rest):
        return Command(STATUS, code=None, language=language)
    code = find_code(rest)
    if code is None:  # digits, but not eight of them: told it was not found, with the code's length
        code = "".join(_runs(rest)[0][2])
    return Command(STATUS, code=code, language=language)


# --- hints: what a short reply from a citizen with a ticket means ---------------------------------------

_HONORIFICS = {"pak", "bu", "bpk", "ibu", "bapak", "min", "admin", "mas", "mbak", "kak", "gan", "om", "bos",
               "nggih", "njih", "ya", "yaa", "ya.", "sekali", "banyak", "lur", "dulur", "kakak", "sis", "bro"}
_THANKS = {"terima kasih", "terimakasih", "trimakasih", "trima kasih", "terima kaseh", "makasih", "makasi",
           "maksih", "mksh", "mks", "mkasih", "suwun", "matur suwun", "matursuwun", "nuwun", "thx", "thanks",
           "thank you", "tq", "ty", "tks", "trims", "ok", "oke", "okay", "okey", "okee", "okeh", "oce", "siap",
           "sip", "sipp", "baik", "baiklah", "noted", "mantap", "mantab", "good", "alhamdulillah", "amin", "aamiin",
           "iya", "y", "ya", "yes", "sudah", "sdh", "udah", "dah", "beres", "sudah beres", "ya sudah", "oke sip",
           "ok siap", "siap terima kasih", "ok terima kasih", "oke terima kasih", "ok makasih", "oke makasih",
           "baik terima kasih", "sudah beres terima kasih", "ya terima kasih", "iya terima kasih", "siap laksanakan",
           "ditunggu", "oke ditunggu", "ok ditunggu", "siap ditunggu"}
_THANKS_WORDS = {word for phrase in _THANKS for word in phrase.split()}
_YES = {"ya", "iya", "y", "yes", "yaa", "iyaa", "sudah", "sdh", "udah", "dah", "beres", "sudah beres", "udah beres",
        "ya sudah", "ya beres", "ya sudah beres", "sudah selesai", "ya sudah selesai", "selesai", "sudah bagus",
        "sudah diperbaiki", "ya terima kasih", "iya terima kasih", "sudah beres terima kasih", "ok sudah",
        "oke sudah", "sudah terima kasih"}
_DISPUTE = ("belum beres", "belum selesai", "belum diperbaiki", "belum ada", "tidak benar", "tdk benar", "gak bener",
            "ga bener", "nggak bener", "tidak beres", "belum", "blm", "belom", "blum", "durung", "masih", "msh",
            "bohong", "not yet")
_NO = {"tidak", "tdk", "gak", "ga", "nggak", "enggak", "no", "not yet", "belum", "blm"}  # "no" only alone
SHORT_LETTERS = 4  # a text of at most this many letters ("p", "ok", "hmm", "?") is never a complaint alone


def _words(text: str) -> str:
    """Lower case, letters and spaces only, honorifics dropped: "Terima kasih, Pak!" -> "terima kasih"."""
    letters = "".join(char if char.isalpha() else " " for char in text.lower())
    return " ".join(word for word in letters.split() if word not in _HONORIFICS or len(letters.split()) == 1)


def hint_of(text: str) -> str | None:
    """What a citizen's short reply means, if anything: DISPUTE, YES, SHORT, or None (a complaint)."""
    words = _words(text)
    if re.search(r"\d", text):
        return None
    joined = " ".join(words.split()[:3])
    if words in _NO or (joined and len(words.split()) <= 12
                        and any(joined == phrase or joined.startswith(phrase + " ") for phrase in _DISPUTE)):
        return DISPUTE
    if words in _YES:
        return YES
    if words in _THANKS or set(words.split()) <= _THANKS_WORDS or len(words.replace(" ", "")) <= SHORT_LETTERS \
            or _symbols_only(text):
        return SHORT
    return None


def _symbols_only(text: str) -> bool:
    """Only emoji, punctuation and spaces: "👍", "??", "🙏🙏"."""
    return all(unicodedata.category(char)[0] in "PSZC" or char in "\u200d\ufe0f" for char in text)


def is_dispute(text: str) -> bool:
    """An INFO text that says the answer is not fixed: a dispute word anywhere ("lubang masih ada")."""
    words = f" {_words(text)} "
    return any(f" {phrase} " in words for phrase in _DISPUTE)


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
