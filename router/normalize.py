"""Turn informal complaint text into canonical word stems the keyword automaton can match.

Steps, per word: lower case and strip accents; split letters from digits ("no12" -> "no", "12") and
read a trailing 2 as reduplication ("gorong2" -> "gorong gorong"); squeeze letters repeated three times
or more ("rusakkkk" -> "rusak"); drop Malang place names that are not also common words (addresses are
kept apart, so "jalan Bondowoso bergelombang" meets "jalan bergelombang"); rewrite informal and
abbreviated words ("jln" -> "jalan", "pju" -> "penerangan jalan umum"); strip affixes, colloquial nasal
prefixes included, with Sastrawi or a light rule ("berlubang" -> "lubang", "ngangkut" -> "angkut"); and,
for an unknown word of at least ``fuzzy_min_length`` letters, take the keyword word one or two edits away
("smpah" -> "sampah"). Keywords in config.yaml go through the same steps (without typo correction),
so "jalan berlubang" in the config and "jln berlobang" in an SMS meet as "jalan lubang".

Every word's result is memoised, so steady-state cost per message is one regex pass and dict lookups. A token
longer than ``MAX_WORD`` letters (a URL's tail, base64, a key held down) is no word any keyword could meet: it is
kept as it is, unstemmed and unmemoised, so one long token costs its length, never its length squared (affix
stripping peels a prefix at a time and Sastrawi tries many affix splits).
"""

from __future__ import annotations

import re
import unicodedata

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from router.lexicon import Lexicon

_TOKEN = re.compile(r"[a-z]+2(?![0-9])|[a-z]+|[0-9]+")
_TRIPLE = re.compile(r"([a-z])\1{2,}")
_DOUBLE = re.compile(r"([a-z])\1")
_PREFIXES = ("ber", "ter", "di", "ke", "se", "me", "pe")
_SUFFIXES = ("nya", "kah", "lah", "an", "in", "ku", "mu", "ne")
# Colloquial nasal prefixes: "ngangkut" -> angkut, "nyumbat" -> sumbat, "nambal" -> tambal, "mukul" -> pukul.
_NASALS = (("nge", ""), ("ng", ""), ("ny", "s"), ("n", "t"), ("m", "p"))
_MEMO_LIMIT = 200_000
MAX_WORD = 40  # letters; longer tokens are passed through as they are


class Normalizer:
    """Memoising text normaliser bound to one lexicon and one keyword vocabulary.

    Args:
        lexicon: the word lists (see ``router.lexicon``).
        fuzzy_min_length: shortest unknown word that may be corrected as a typo.
    """

    def __init__(self, lexicon: Lexicon, fuzzy_min_length: int = 5) -> None:
        self.lexicon = lexicon
        self.fuzzy_min_length = fuzzy_min_length
        self._vocabulary: frozenset[str] = frozenset()
        self._typo_targets: dict[str, list[str]] = {}
        self._memo: dict[str, tuple[str, ...]] = {}

    def set_vocabulary(self, words: set[str]) -> None:
        """Set the keyword words (as written, before stemming) that typos may be corrected to."""
        self._vocabulary = frozenset(words)
        self._typo_targets = {}
        for target in sorted(w for w in self._vocabulary if len(w) >= self.fuzzy_min_length):
            self._typo_targets.setdefault(target[0], []).append(target)
        self._memo.clear()

    def tokens(self, text: str) -> list[str]:
        """Return the canonical tokens of ``text``, in order.

        Args:
            text: a complaint, any length, any case.

        Returns:
            Canonical stems and digit runs, e.g. ``["jalan", "rusak", "depan", "rumah", "12"]``.
        """
        text = text.lower()
        if not text.isascii():
            text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
        memo = self._memo
        if len(memo) > _MEMO_LIMIT:
            memo.clear()
        out: list[str] = []
        for word in _TOKEN.findall(text):
            if len(word) > MAX_WORD:
                out.append(word)
                continue
            canonical = memo.get(word)
            if canonical is None:
                canonical = memo[word] = self._canonical(word)
            out.extend(canonical)
        return out

    def surface(self, word: str) -> tuple[str, ...]:
        """Return the formal words for one word before stemming (informal rewrite only)."""
        formal = self.lexicon.informal.get(word)
        return tuple(re.findall(r"[a-z0-9]+", formal)) if formal else (word,)

    def stem(self, word: str) -> str:
        """Return the stem of a formal word: an override, else Sastrawi's answer."""
        override = self.lexicon.stem_overrides.get(word)
        if override is not None:
            return override
        if word.isdigit() or len(word) <= 3:
            return word
        return self.lexicon.stemmer.stem(word) or word

    def _canonical(self, word: str) -> tuple[str, ...]:
        """Canonical tokens for one raw token (see the module docstring for the steps)."""
        if word.isdigit():
            return (word,)
        if word.endswith("2") and len(word) > 2:
            single = self._canonical(word[:-1])
            return single + single
        word = _TRIPLE.sub(r"\1", word)
        if word in self.lexicon.places and word not in self.lexicon.root_words and word not in self._vocabulary:
            return ()
        squeezed = _DOUBLE.sub(r"\1", word)
        known = self._resolve(word) or self._resolve(squeezed) or self._strip_affixes(word)
        if known is None:
            stem = self.stem(word)
            if stem != word:
                return (stem,)
            known = self._correct_typo(word)
            if known is None:
                return (word,)
        return tuple(self.stem(part) for part in self.surface(known))

    def _resolve(self, word: str) -> str | None:
        """Return ``word`` if it is known (lexicon or keyword vocabulary), else None."""
        if self.lexicon.is_known(word) or word in self._vocabulary:
            return word
        return None

    def _strip_affixes(self, word: str) -> str | None:
        """Peel one common prefix and/or suffix off an unknown word if that leaves a known word."""
        for suffix in _SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= 3:
                found = self._resolve(word[: -len(suffix)])
                if found:
                    return found
        for prefix in _PREFIXES:
            if word.startswith(prefix) and len(word) - len(prefix) >= 3:
                rest = word[len(prefix) :]
                found = self._resolve(rest) or (self._strip_affixes(rest) if len(rest) > 4 else None)
                if found:
                    return found
        for prefix, replacement in _NASALS:
            if word.startswith(prefix) and len(word) - len(prefix) >= 3:
                found = self._resolve(replacement + word[len(prefix) :])
                if found:
                    return found
        return None

    def _correct_typo(self, word: str) -> str | None:
        """Return the keyword word within one edit (two for 8+ letters) of an unknown word, if any.

        Only keyword words with the same first letter are tried: a typo in the first letter is rare, and
        the restriction keeps the search short when there are tens of thousands of keywords.
        """
        targets = self._typo_targets.get(word[0]) if len(word) >= self.fuzzy_min_length else None
        if not targets:
            return None
        max_edits = 2 if len(word) >= 8 else 1
        best = process.extractOne(word, targets, scorer=Levenshtein.distance, score_cutoff=max_edits)
        return best[0] if best else None
