"""Read a city's archive of past dispositions: a CSV export with ``text`` and ``agency`` columns.

The usual export of an old system: a header row naming at least ``text`` and ``agency`` (any case, any other
columns ignored), the delimiter ``,`` ``;`` or tab (detected), UTF-8 with or without a byte-order mark. The
agency may be written as the code, the full name, or an alias (old names of agencies merged into today's one
included), in any case and spacing. Unknown agencies are reported with their line numbers; the caller decides
whether to import the rest (``--skip-unknown``) or nothing.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from router.learning.settings import Example, content_hash

DELIMITERS = (",", ";", "\t")
REQUIRED = ("text", "agency")


class ArchiveError(ValueError):
    """The archive cannot be read at all (encoding, no header with text and agency, ambiguous aliases)."""


@dataclass(frozen=True, slots=True)
class AgencyRef:
    """An agency as the archive may name it: its code, full name and aliases (old names included)."""

    code: str
    name: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ArchiveRow:
    """One resolved row: the line it starts on, the text, the agency code, the agency as written, its hash."""

    line: int
    text: str
    agency: str
    written: str
    content_hash: str

    def example(self, ref: str | None = None) -> Example:
        """Return it as a training ``Example`` (ref defaults to ``line N``)."""
        return Example(self.text, self.agency, ref if ref is not None else f"line {self.line}")


@dataclass(frozen=True, slots=True)
class UnknownAgency:
    """An agency the archive names that no code, name or alias matches (as first written; other spellings that
    differ only in case or spacing are counted with it), with every line it occurs on."""

    written: str
    lines: tuple[int, ...]


@dataclass(frozen=True)
class ArchiveReading:
    """What ``read_archive`` found.

    Attributes:
        rows: rows whose agency resolved, in file order.
        unknown: unknown agencies, in order of first occurrence, with their lines.
        skipped: lines with an empty text or agency (nothing to learn).
        delimiter: the delimiter used.
    """

    rows: list[ArchiveRow]
    unknown: list[UnknownAgency] = field(default_factory=list)
    skipped: list[int] = field(default_factory=list)
    delimiter: str = ","


def agency_key(name: str) -> str:
    """Return the matching key of an agency name: case-folded, whitespace collapsed."""
    return " ".join(name.split()).casefold()


def agency_index(agencies: Iterable[AgencyRef]) -> dict[str, str]:
    """Return key -> code for every code, name and alias; raise ``ArchiveError`` if a key names two agencies."""
    index: dict[str, str] = {}
    for agency in agencies:
        for name in (agency.code, agency.name, *agency.aliases):
            key = agency_key(name)
            if not key:
                continue
            if index.get(key, agency.code) != agency.code:
                raise ArchiveError(f"agency name {name!r} is given for both {index[key]} and {agency.code}")
            index[key] = agency.code
    return index


def agencies_from_config(yaml_text: str) -> list[AgencyRef]:
    """Return the ``agencies:`` of a config.yaml text as ``AgencyRef`` (``code``, ``name``, ``aliases:`` list)."""
    loaded: Any = yaml.safe_load(yaml_text) or {}
    refs = []
    for entry in loaded.get("agencies") or []:
        aliases = entry.get("aliases") or []
        if isinstance(aliases, str):
            aliases = [aliases]
        refs.append(AgencyRef(str(entry["code"]), str(entry.get("name") or ""), tuple(str(a) for a in aliases)))
    return refs


def detect_delimiter(header: str, sample: str) -> str:
    """Return the delimiter: the one that splits the header into ``text`` and ``agency`` columns; if several
    do, csv.Sniffer's choice among them on ``sample``, else the one occurring most in the header."""
    fitting = [d for d in DELIMITERS if set(REQUIRED) <= {c.strip().casefold() for c in next(csv.reader([header],
                                                                                              delimiter=d), [])}]
    if len(fitting) == 1:
        return fitting[0]
    if not fitting:
        raise ArchiveError(f"line 1: the header needs columns {' and '.join(REQUIRED)} "
                           f"separated by ',', ';' or tab; got {header.strip()[:80]!r}")
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters="".join(fitting)).delimiter
    except csv.Error:
        sniffed = ""
    return sniffed if sniffed in fitting else max(fitting, key=header.count)


def read_archive(data: bytes | str, agencies: Sequence[AgencyRef]) -> ArchiveReading:
    """Read an archive CSV and resolve each row's agency.

    Args:
        data: the file's bytes (UTF-8, BOM or not) or its text.
        agencies: today's agencies with their names and aliases (see ``agencies_from_config``).

    Returns:
        An ``ArchiveReading``: resolved rows, unknown agencies with their line numbers, skipped empty lines.

    Raises:
        ArchiveError: not UTF-8, no header with ``text`` and ``agency``, or an alias naming two agencies.
    """
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            line = data[: error.start].count(b"\n") + 1
            raise ArchiveError(f"line {line}: not UTF-8 text ({error.reason})") from None
    text = data.removeprefix("\ufeff")
    index = agency_index(agencies)
    header = text.split("\n", 1)[0]
    delimiter = detect_delimiter(header, text[:65536])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns = {name.strip().casefold(): i for i, name in reversed(list(enumerate(next(reader))))}
    at_text, at_agency = columns["text"], columns["agency"]
    rows: list[ArchiveRow] = []
    unknown: dict[str, list[int]] = {}
    spelled: dict[str, str] = {}  # key -> the first spelling of an unknown agency
    skipped: list[int] = []
    line = reader.line_num + 1
    for record in reader:
        start, line = line, reader.line_num + 1
        if not any(cell.strip() for cell in record):
            continue
        body = record[at_text].strip() if at_text < len(record) else ""
        written = record[at_agency].strip() if at_agency < len(record) else ""
        if not body or not written:
            skipped.append(start)
            continue
        code = index.get(agency_key(written))
        if code is None:
            first = spelled.setdefault(agency_key(written), written)
            unknown.setdefault(first, []).append(start)
            continue
        rows.append(ArchiveRow(start, body, code, written, content_hash(body, code)))
    found = [UnknownAgency(written, tuple(lines)) for written, lines in unknown.items()]
    return ArchiveReading(rows, found, skipped, delimiter)
