"""Malang's 57 kelurahan under its 5 kecamatan, from the shipped list (see kelurahan_malang.tsv for its source)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("kelurahan_malang.tsv")
_PREFIX = re.compile(r"^(?:kelurahan|kel)\b\.?\s*", re.IGNORECASE)
_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Kelurahan:
    """One kelurahan: a stable key (``oro-oro-dowo``), its name and its kecamatan."""

    key: str
    name: str
    kecamatan: str

    @property
    def label(self) -> str:
        """How people read it: ``Oro-oro Dowo, Kec. Klojen``."""
        return f"{self.name}, Kec. {self.kecamatan}"


@cache
def all_kelurahan() -> tuple[Kelurahan, ...]:
    """Every kelurahan, grouped by kecamatan in file order."""
    rows = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#") or line.startswith("key\t"):
            continue
        key, name, kecamatan = line.split("\t")
        rows.append(Kelurahan(key=key, name=name, kecamatan=kecamatan))
    return tuple(rows)


def by_kecamatan() -> dict[str, list[Kelurahan]]:
    """Kecamatan name -> its kelurahan, for a grouped list (``<optgroup>``)."""
    groups: dict[str, list[Kelurahan]] = {}
    for kelurahan in all_kelurahan():
        groups.setdefault(kelurahan.kecamatan, []).append(kelurahan)
    return groups


@cache
def _index() -> dict[str, Kelurahan]:
    return {_fold(kelurahan.key): kelurahan for kelurahan in all_kelurahan()}


def _fold(text: str) -> str:
    return _NOT_ALNUM.sub("", _PREFIX.sub("", text.strip().lower()).lower())


def find_kelurahan(text: str | None) -> Kelurahan | None:
    """The kelurahan a key or a name means, forgiving case, spaces, dashes and a "Kel." prefix."""
    if not text or not text.strip():
        return None
    return _index().get(_fold(text))


def kelurahan_by_key(key: str | None) -> Kelurahan | None:
    """The kelurahan with exactly this key, or None."""
    return next((kelurahan for kelurahan in all_kelurahan() if kelurahan.key == key), None) if key else None
