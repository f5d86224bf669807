"""Word lists the normaliser uses: informal-to-formal pairs, stem overrides, root words and place names.

Everything here is read once per process from ``router/data`` and shared by every routing table. Order
of authority for informal words: Sambat's own complaint-domain list (``domain.tsv``), then the MIT
indo-collex dictionary, then the MIT louisowen6 slang list (``data/third_party``, credited in its
SOURCE.txt). A third-party pair is skipped when its key is a real root word (``aspal`` is asphalt, not
"asli tetapi palsu"), when the key is more than one word, or when its expansion is long or punctuated.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from Sastrawi.Stemmer.StemmerFactory import StemmerFactory

DATA_DIR = Path(__file__).parent / "data"
THIRD_PARTY_DIR = DATA_DIR / "third_party"

_WORD = re.compile(r"^[a-z0-9]+$")
_EXPANSION = re.compile(r"^[a-z0-9]+(?:[ -][a-z0-9]+){0,2}$")


@dataclass(frozen=True, slots=True)
class Lexicon:
    """The read-only word lists behind normalisation.

    Attributes:
        informal: informal or abbreviated word -> formal text (one to three words).
        stem_overrides: word -> stem, consulted before the Sastrawi stemmer.
        root_words: Sastrawi's dictionary of Indonesian root words.
        places: Malang place-name words, never corrected as typos.
        stemmer: the Sastrawi stemmer (its own cache is not used; the normaliser memoises).
    """

    informal: dict[str, str]
    stem_overrides: dict[str, str]
    root_words: frozenset[str]
    places: frozenset[str]
    stemmer: object

    def is_known(self, word: str) -> bool:
        """Return True if ``word`` is a real word, a place, or has a formal rewrite."""
        return word in self.root_words or word in self.informal or word in self.places or word in self.stem_overrides


def _data_lines(path: Path) -> list[str]:
    """Return the non-empty, non-comment lines of a UTF-8 data file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.lstrip().startswith("#")]


def _read_pairs(path: Path) -> dict[str, str]:
    """Read a tab-separated ``informal<TAB>formal`` file (comment lines start with ``#``)."""
    pairs: dict[str, str] = {}
    for line in _data_lines(path):
        key, _, value = line.partition("\t")
        pairs[key.strip().lower()] = value.strip().lower()
    return pairs


def _third_party_pairs(root_words: frozenset[str]) -> dict[str, str]:
    """Merge the two MIT lists (indo-collex wins), dropping pairs unsafe for routing."""
    slang = json.loads((THIRD_PARTY_DIR / "combined_slang_words.txt").read_text(encoding="utf-8"))
    with (THIRD_PARTY_DIR / "indocollex-informal-formal-dictionary.tsv").open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))[1:]
    merged = {key.strip().lower(): value.strip().lower() for key, value in slang.items()}
    merged.update((row[0].strip().lower(), row[1].strip().lower()) for row in rows if len(row) == 2)
    return {
        key: value
        for key, value in merged.items()
        if _WORD.match(key) and not key.isdigit() and _EXPANSION.match(value) and key not in root_words and key != value
    }


@cache
def default_lexicon() -> Lexicon:
    """Load (once per process) the word lists shipped in ``router/data``."""
    stemmer = StemmerFactory().create_stemmer()
    root_words = frozenset(stemmer.delegatedStemmer.dictionary.words)
    informal = _third_party_pairs(root_words)
    informal.update(_read_pairs(DATA_DIR / "domain.tsv"))
    places = frozenset(
        word for line in _data_lines(DATA_DIR / "places.txt") for word in re.findall(r"[a-z]+", line.lower())
    )
    return Lexicon(
        informal=informal,
        stem_overrides=_read_pairs(DATA_DIR / "stems.tsv"),
        root_words=root_words,
        places=places,
        stemmer=stemmer.delegatedStemmer,
    )
