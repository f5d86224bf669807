"""Small tables and labelled examples made for the learning tests (no files, no database)."""

from __future__ import annotations

import random

from router import RoutingTable, load_table
from router.learning import Example

CONFIG = """
router:
  threshold: 0.55
  out_of_scope: {pln: 3, polisi: 3}
agencies:
  - code: ROADS
    name: Dinas Jalan
    keywords: {jalan rusak: 3}
  - code: WASTE
    name: Dinas Kebersihan
    aliases: [DKP, Dinas Kebersihan dan Pertamanan]
    keywords: {sampah: 3}
  - code: WATER
    name: Perusahaan Air
    keywords: {air mati: 3}
"""

TOPICS = {
    "ROADS": ["aspal", "berlubang", "jalan", "retak", "ambles", "kerikil"],
    "WASTE": ["sampah", "bau", "tumpukan", "truk", "angkut", "tps"],
    "WATER": ["air", "keruh", "pipa", "bocor", "meteran", "kran"],
}
COMMON = ["tolong", "pak", "depan", "rumah", "sudah", "lama", "mohon", "warga"]


def table() -> RoutingTable:
    """The small routing table above."""
    return load_table(CONFIG, source="test.yaml")


def examples(count: int, seed: int = 3, noise: float = 0.0) -> list[Example]:
    """``count`` separable examples: topic words of one agency among common words; ``noise`` of them get
    another agency's words instead (hard cases)."""
    rng = random.Random(seed)
    made = []
    codes = sorted(TOPICS)
    for i in range(count):
        agency = codes[i % len(codes)]
        words_of = rng.choice([c for c in codes if c != agency]) if rng.random() < noise else agency
        words = rng.sample(TOPICS[words_of], 3) + rng.sample(COMMON, 3)
        rng.shuffle(words)
        made.append(Example(" ".join(words), agency, f"T{i:04d}"))
    return made
