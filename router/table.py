"""The compiled routing table and the ``route`` function over it.

Keywords of all agencies are normalised once and put in one Aho-Corasick automaton over the canonical
token string (`` jalan lubang depan rumah ``), so matching costs one pass whatever the number of
keywords. Overlapping matches are resolved longest first: a phrase consumes its words, so "lampu
jalan" (Dishub) is not also "jalan" (public works). Each distinct keyword counts once. A match right
after a place marker ("depan rumah sakit") names a place and scores nothing. A negative keyword is
matched like any other (it consumes its words, so "jalan jalan" is not also "jalan") and subtracts its
weight from its agency. Out-of-scope terms (``router.out_of_scope``: PLN, the police ...) score for no
agency: they compete with the best agency like a second candidate, and when they lead, the complaint
goes to review.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import ahocorasick

from router.decision import Candidate, Decision
from router.normalize import Normalizer


@dataclass(frozen=True, slots=True)
class Agency:
    """One agency (OPD) from config.yaml.

    Attributes:
        code: the agency code, e.g. ``DPUPRPKP``.
        name: the full name.
        keywords: keyword or phrase as written -> weight (> 0).
        negative: negative keyword as written -> weight subtracted when it occurs.
        line: the config line the entry starts on.
    """

    code: str
    name: str
    keywords: dict[str, float] = field(default_factory=dict)
    negative: dict[str, float] = field(default_factory=dict)
    line: int = 0


OUT_OF_SCOPE = -1  # the agency index of out-of-scope terms


@dataclass(frozen=True, slots=True)
class Term:
    """One agency's stake in one normalised key of the automaton."""

    agency: int
    weight: float
    label: str
    negative: bool


@dataclass
class RoutingTable:
    """Agencies, settings and the compiled matcher. Build it with ``router.load_table``.

    Attributes:
        agencies: the agencies in config order.
        threshold: least confidence at which a complaint is routed without review.
        smoothing: pseudo-score added to the confidence denominator, so that weak evidence alone stays
            unsure: confidence = best / (best + second + smoothing); a lone weight-1 keyword scores
            1 / (1 + smoothing).
        normalizer: the normaliser keywords were compiled with; texts go through the same one.
        keys: normalised key (space-joined stems) -> the terms that share it.
        place_markers: normalised words after which a match names a place, not the topic ("depan
            stadion", "dekat pasar"): the match consumes its words but scores nothing.
    """

    agencies: list[Agency]
    threshold: float
    smoothing: float
    normalizer: Normalizer
    keys: dict[str, list[Term]]
    place_markers: frozenset[str] = frozenset()
    automaton: ahocorasick.Automaton = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.automaton = ahocorasick.Automaton()
        for key, terms in self.keys.items():
            positive = tuple(t for t in terms if not t.negative)
            negative = tuple(t for t in terms if t.negative)
            self.automaton.add_word(f" {key} ", (len(key) + 2, positive, negative))
        if self.keys:
            self.automaton.make_automaton()

    def route(self, text: str) -> Decision:
        """Route one complaint; see ``router.route``."""
        tokens = self.normalizer.tokens(text)
        if not tokens or not self.keys:
            return Decision(agency=None, confidence=0.0)
        haystack = f" {' '.join(tokens)} "
        hits = [(end - length + 2, end - 1, pos, neg) for end, (length, pos, neg) in self.automaton.iter(haystack)]
        scores: dict[int, float] = {}
        evidence: dict[int, list[tuple[int, str]]] = {}
        seen: set[tuple[int, str]] = set()
        # Characters of the haystack already consumed by a longer match: checking and marking a match costs its
        # own length, so routing stays linear in the text however often a keyword repeats.
        taken = bytearray(len(haystack))
        for start, end, positive, negative in sorted(hits, key=lambda h: (h[0] - h[1], h[0])):
            if taken.find(1, start, end + 1) != -1:
                continue
            taken[start:end + 1] = b"\x01" * (end + 1 - start)
            if self._after_place_marker(haystack, start):
                continue
            for term in positive:
                self._credit(term, term.weight, (start, term.label), scores, evidence, seen)
            for term in negative:
                self._credit(term, -term.weight, (start, f"-{term.label}"), scores, evidence, seen)
        return self._decide(scores, evidence)

    def _after_place_marker(self, haystack: str, start: int) -> bool:
        """True if the word before the match at ``start`` says it is a place ("depan stadion")."""
        if not self.place_markers or start < 2:
            return False
        before = haystack.rfind(" ", 0, start - 1)
        return haystack[before + 1 : start - 1] in self.place_markers

    @staticmethod
    def _credit(
        term: Term,
        weight: float,
        found: tuple[int, str],
        scores: dict[int, float],
        evidence: dict[int, list[tuple[int, str]]],
        seen: set[tuple[int, str]],
    ) -> None:
        """Add one term's weight to its agency, once per distinct term; ``found`` is (position, label)."""
        marker = (term.agency, found[1])
        if marker in seen:
            return
        seen.add(marker)
        scores[term.agency] = scores.get(term.agency, 0.0) + weight
        evidence.setdefault(term.agency, []).append(found)

    def _decide(self, scores: dict[int, float], evidence: dict[int, list[tuple[int, str]]]) -> Decision:
        """Rank agencies with a positive score and apply the threshold."""
        out_of_scope = scores.pop(OUT_OF_SCOPE, 0.0)
        outside = [label for _, label in sorted(evidence.pop(OUT_OF_SCOPE, []))]
        ranked = sorted((i for i, s in scores.items() if s > 0), key=lambda i: (-scores[i], i))
        if not ranked:
            return Decision(agency=None, confidence=0.0, out_of_scope=outside)
        matched = {i: [label for _, label in sorted(evidence[i])] for i in ranked}
        candidates = [Candidate(self.agencies[i].code, scores[i], matched[i]).to_dict() for i in ranked]
        best = scores[ranked[0]]
        second = max(scores[ranked[1]] if len(ranked) > 1 else 0.0, out_of_scope)
        confidence = round(best / (best + second + self.smoothing), 4)
        agency = self.agencies[ranked[0]].code if confidence >= self.threshold else None
        return Decision(agency=agency, confidence=confidence, matched=matched[ranked[0]], candidates=candidates,
                        out_of_scope=outside)


def route(text: str, table: RoutingTable) -> Decision:
    """Decide which agency a complaint goes to, with the evidence.

    Args:
        text: the complaint as the citizen wrote it.
        table: a table from ``router.load_table``.

    Returns:
        A ``Decision``; ``agency`` is None (review queue) when nothing matched or the confidence is
        below ``table.threshold``.
    """
    return table.route(text)
