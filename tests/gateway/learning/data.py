"""Labelled complaints for the learning tests, over the agencies of the shipped config.yaml."""

from __future__ import annotations

import random

TOPICS = {
    "DPUPRPKP": ["aspal", "berlubang", "jalan", "retak", "ambles", "kerikil", "paving", "selokan", "drainase"],
    "DLH": ["sampah", "bau", "tumpukan", "truk", "angkut", "tps", "limbah", "kotor", "plastik"],
    "DISHUB": ["lampu", "pju", "traffic", "parkir", "angkot", "rambu", "macet", "terminal", "padam"],
}
COMMON = ["tolong", "pak", "depan", "rumah", "sudah", "lama", "mohon", "warga", "kami", "segera", "gang", "rt"]


def labelled(count: int, seed: int = 5) -> list[tuple[str, str]]:
    """``count`` distinct (text, agency) pairs, agencies in turn: topic words among common words."""
    rng = random.Random(seed)
    codes = sorted(TOPICS)
    made: list[tuple[str, str]] = []
    seen: set[str] = set()
    while len(made) < count:
        agency = codes[len(made) % len(codes)]
        words = rng.sample(TOPICS[agency], 3) + rng.sample(COMMON, 4)
        rng.shuffle(words)
        text = " ".join(words)
        if text not in seen:
            seen.add(text)
            made.append((text, agency))
    return made


def archive(rows: list[tuple[str, str]], delimiter: str = ",", bom: bool = False) -> bytes:
    """An archive CSV of ``rows`` (header ``no``, ``text``, ``agency``), UTF-8, with a BOM when asked."""
    lines = [delimiter.join(("no", "text", "agency"))]
    lines += [delimiter.join((str(i), text, agency)) for i, (text, agency) in enumerate(rows, start=1)]
    return ("\ufeff" if bom else "").encode() + ("\n".join(lines) + "\n").encode("utf-8")
