"""The router's answer for one complaint: where it goes, how sure, and the evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Candidate:
    """One agency's evidence for a complaint.

    Attributes:
        agency: the agency code.
        score: sum of the weights of its matched keywords minus its matched negative keywords.
        matched: the keywords as written in config.yaml, in the order they occur in the text;
            negative keywords that fired are listed with a leading ``-``.
    """

    agency: str
    score: float
    matched: list[str]

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict ``{"agency", "score", "matched"}``."""
        return {"agency": self.agency, "score": round(self.score, 4), "matched": list(self.matched)}


@dataclass(frozen=True, slots=True)
class Decision:
    """Where a complaint goes and why.

    Attributes:
        agency: the agency code, or None for the super-admin's review queue.
        confidence: 0..1 from the margin between the best and second-best scores:
            ``best / (best + second + smoothing)``, which equals ``0.5 + 0.5 * (best - second - smoothing)
            / (best + second + smoothing)``: a tie is always below 0.5, and it reaches 0.5 when the best
            leads by exactly ``smoothing``.
        matched: the keywords that matched for the chosen agency; for the review queue, those of the
            best candidate (empty when nothing matched).
        candidates: every agency with a positive score, best first, as dicts
            ``{"agency", "score", "matched"}``.
        out_of_scope: out-of-scope terms that matched (``router.out_of_scope``: PLN, the police ...);
            their weight competes with the best agency like a second candidate.
    """

    agency: str | None
    confidence: float
    matched: list[str] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    out_of_scope: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"agency", "confidence", "matched", "candidates"}``, ready for ``json.dumps``.

        ``"out_of_scope"`` is added only when such terms matched.
        """
        answer = {
            "agency": self.agency,
            "confidence": self.confidence,
            "matched": list(self.matched),
            "candidates": [dict(candidate) for candidate in self.candidates],
        }
        if self.out_of_scope:
            answer["out_of_scope"] = list(self.out_of_scope)
        return answer

    def explain(self) -> str:
        """Return a short human explanation, e.g. for ``sambat route`` without ``--json``."""
        outside = f"\n  not a city matter? {', '.join(self.out_of_scope)}" if self.out_of_scope else ""
        if not self.candidates:
            return ("review queue: no agency keyword matched" + outside) if outside else \
                "review queue: no keyword matched"
        head = (
            f"{self.agency} (confidence {self.confidence:.2f})"
            if self.agency
            else (f"review queue (confidence {self.confidence:.2f} below threshold)")
        )
        lines = [head]
        for candidate in self.candidates:
            terms = ", ".join(candidate["matched"])
            lines.append(f"  {candidate['agency']:<16} score {candidate['score']:>6.2f}  {terms}")
        return "\n".join(lines) + outside
