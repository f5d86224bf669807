"""Normalisation table: informal complaint text in, canonical tokens out."""

from __future__ import annotations

import pytest

from router import RoutingTable

CASES = [
    ("case and punctuation", "JALAN, Rusak!!!", ["jalan", "rusak"]),
    ("repeated letters", "rusakkkk parahhh", ["rusak", "parah"]),
    ("doubled letter on unknown word", "sampahh", ["sampah"]),
    ("abbreviations", "jln rsk dpn rmh", ["jalan", "rusak", "depan", "rumah"]),
    ("numbers kept apart", "no12 gg3", ["nomor", "12", "gang", "3"]),
    ("reduplication with 2", "gorong2", ["gorong", "gorong"]),
    ("hyphenated reduplication", "gorong-gorong", ["gorong", "gorong"]),
    ("affixes: ber-", "berlubang", ["lubang"]),
    ("affixes: per-an-nya", "perbaikannya", ["baik"]),
    ("colloquial variant then affix", "berlobang", ["lubang"]),
    ("stem override where Sastrawi is wrong", "kerusakan", ["rusak"]),
    ("stem kept whole where it would merge", "perumahan", ["perumahan"]),
    ("abbreviation expands to a phrase", "pju", ["terang", "jalan", "umum"]),
    ("civil registry abbreviations", "KK ktp", ["kartu", "keluarga", "ktp"]),
    ("third-party slang list", "gimana", ["bagaimana"]),
    ("third-party entry shielded", "aspal", ["aspal"]),
    ("Javanese", "uwuh numpuk", ["sampah", "tumpuk"]),
    ("Javanese suffix -ne", "lampune mati", ["lampu", "mati"]),
    ("colloquial nasal prefix", "ngangkut", ["angkut"]),
    ("typo corrected to a keyword word", "smpah", ["sampah"]),
    ("typo of a long word, two edits", "drainsae", ["drainase"]),
    ("short unknown words are not corrected", "smph", ["smph"]),
    ("place names are dropped", "jalan Bondowoso bergelombang", ["jalan", "gelombang"]),
    ("place names that are common words stay", "sabung ayam", ["sabung", "ayam"]),
    ("accents stripped", "jalán rúsak", ["jalan", "rusak"]),
    ("emoji and symbols ignored", "sampah 🤮🤮 !!!", ["sampah"]),
    ("empty", "", []),
]


@pytest.mark.parametrize(("text", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_tokens(shipped_table: RoutingTable, text: str, expected: list[str]) -> None:
    assert shipped_table.normalizer.tokens(text) == expected
