"""One decision from the keyword router and the learned model together, with explanations a person can check.

Rules, in order:

1. No model, learning off, or a model trained on fewer than ``min_examples`` examples: the keyword router
   decides alone, exactly as ``router.route`` (``model`` is None in the answer).
2. When the keyword router alone routes to an agency the model has fewer than ``min_agency_examples``
   examples of, that keyword decision stands (a young model must not override agencies it has not learned).
3. Otherwise the model's calibrated probabilities (text and keyword scores as features) rank the agencies;
   the first is routed when its probability reaches the model's cross-validated threshold.
4. A complaint the model would route to an agency that sent back a near-identical past complaint (similarity
   at least ``bounce_similarity``), with no accepted complaint of that agency as similar, goes to review
   (``bounced``): the bounce is evidence against that agency.
5. Whatever decided, out-of-scope evidence (``router.out_of_scope``) at least as heavy as the best agency's
   keyword score, and an agency outside ``active`` (when given), send the complaint to review.

Each answer keeps the keyword router's matched keywords and, with a model, up to three similar past
complaints (reference, agency, cosine similarity of their word n-grams).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from router.decision import Decision
from router.learning.scope import out_of_scope_weight, out_of_scope_weights
from router.learning.settings import LearningSettings
from router.table import RoutingTable

if TYPE_CHECKING:  # the keyword router alone (no model) needs no scikit-learn, whose import takes about a second
    from router.learning.model import LearnedModel

BELOW_THRESHOLD, NO_EVIDENCE, OUT_OF_SCOPE, INACTIVE = "below_threshold", "no_evidence", "out_of_scope", "inactive"
BOUNCED = "bounced"  # the agency sent back ("bukan wewenang") a near-identical complaint


@dataclass(frozen=True, slots=True)
class Similar:
    """A past complaint close to this one: its reference (ticket code ...), agency and cosine similarity."""

    ref: str
    agency: str
    similarity: float

    def to_dict(self) -> dict[str, Any]:
        """Return ``{"ref", "agency", "similarity"}``."""
        return {"ref": self.ref, "agency": self.agency, "similarity": self.similarity}


@dataclass(frozen=True, slots=True)
class LearnedDecision:
    """Where a complaint goes, how sure, and why.

    Attributes:
        agency: the agency code, or None for the review queue.
        confidence: the combined probability of the first agency (the keyword confidence without a model).
        top: the first agency whatever the confidence (None when nothing points anywhere).
        matched: the keyword router's matched keywords for ``top`` (may be empty when the model decided).
        candidates: agencies best first as ``{"agency", "score", "matched"}``; score is the probability with a
            model, the keyword score without.
        similar: up to three similar past complaints (empty without a model).
        bounced: similar past complaints that an agency sent back, as ``Similar`` with that agency (only
            those at least ``bounce_similarity`` similar; empty without a model).
        model: the model version used, or None when the keywords decided alone.
        review_reason: why it went to review (below_threshold, no_evidence, out_of_scope, inactive), else None.
        keywords: the keyword router's own decision.
    """

    agency: str | None
    confidence: float
    top: str | None
    matched: list[str] = field(default_factory=list)
    candidates: list[dict[str, Any]] = field(default_factory=list)
    similar: list[Similar] = field(default_factory=list)
    model: str | None = None
    review_reason: str | None = None
    keywords: Decision | None = None
    bounced: list[Similar] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict: agency, confidence, matched, candidates, similar, model (and review reason)."""
        answer: dict[str, Any] = {
            "agency": self.agency, "confidence": self.confidence, "matched": list(self.matched),
            "candidates": [dict(c) for c in self.candidates], "similar": [s.to_dict() for s in self.similar],
            "model": self.model,
        }
        if self.review_reason:
            answer["review_reason"] = self.review_reason
        if self.bounced:
            answer["bounced"] = [s.to_dict() for s in self.bounced]
        if self.keywords is not None and self.keywords.out_of_scope:
            answer["out_of_scope"] = list(self.keywords.out_of_scope)
        return answer


def uses_model(model: LearnedModel | None, settings: LearningSettings) -> bool:
    """True when ``model`` should decide: learning on and trained on at least ``min_examples`` examples."""
    return model is not None and settings.enabled and model.example_count >= settings.min_examples


def decide(text: str, table: RoutingTable, model: LearnedModel | None = None,
           settings: LearningSettings | None = None, *, active: Collection[str] | None = None,
           similar: int = 3) -> LearnedDecision:
    """Decide which agency a complaint goes to, from the keyword router and (when it may) the learned model.

    Args:
        text: the complaint as written.
        table: the routing table.
        model: the city's current model, or None.
        settings: ``router.learning`` settings (enabled, min_examples); default settings when None.
        active: agency codes that may receive complaints now; None means all.
        similar: how many similar past complaints to return (0 for none).

    Returns:
        A ``LearnedDecision``.
    """
    settings = settings or LearningSettings()
    keywords = table.route(text)
    best_keyword = keywords.candidates[0]["score"] if keywords.candidates else 0.0
    oos = out_of_scope_weight(keywords, model._oos if model is not None else out_of_scope_weights(table)) \
        if keywords.out_of_scope else 0.0
    if not uses_model(model, settings):
        top = keywords.candidates[0]["agency"] if keywords.candidates else None
        reason = None if keywords.agency else (NO_EVIDENCE if top is None and not oos else BELOW_THRESHOLD)
        return _review_rules(LearnedDecision(keywords.agency, keywords.confidence, top, list(keywords.matched),
                                             [dict(c) for c in keywords.candidates], keywords=keywords,
                                             review_reason=reason), oos, best_keyword, active)
    assert model is not None
    tokens = table.normalizer.tokens(text)
    probs, close, near_bounces = model.explain(tokens, keywords, similar)
    bounced = [Similar(*b) for b in near_bounces if b[2] >= settings.bounce_similarity]
    if keywords.agency and model.examples_of(keywords.agency) < settings.min_agency_examples:
        found = [Similar(*s) for s in close]
        return _review_rules(LearnedDecision(keywords.agency, keywords.confidence, keywords.agency,
                                             list(keywords.matched), [dict(c) for c in keywords.candidates], found,
                                             model.version, None, keywords, bounced), oos, best_keyword, active)
    order = sorted(range(len(probs)), key=lambda i: (-probs[i], i))[:5]
    matched = {c["agency"]: c["matched"] for c in keywords.candidates}
    candidates = [{"agency": model.classes[i], "score": round(float(probs[i]), 4),
                   "matched": list(matched.get(model.classes[i], []))} for i in order if probs[i] > 0]
    top = model.classes[order[0]]
    confidence = round(float(probs[order[0]]), 4)
    routed = confidence >= model.threshold
    found = [Similar(*s) for s in close]
    reason = None if routed else BELOW_THRESHOLD
    against = [b for b in bounced if b.agency == top]
    if routed and against:
        nearest = found if similar >= 3 else [Similar(*s) for s in model.similar(tokens, 3)]
        accepted = max((s.similarity for s in nearest if s.agency == top), default=0.0)
        if accepted < against[0].similarity:
            routed, reason = False, BOUNCED
    decision = LearnedDecision(top if routed else None, confidence, top, list(matched.get(top, [])), candidates,
                               found, model.version, reason, keywords, bounced)
    return _review_rules(decision, oos, best_keyword, active)


def _review_rules(decision: LearnedDecision, oos: float, best_keyword: float,
                  active: Collection[str] | None) -> LearnedDecision:
    """Send ``decision`` to review for out-of-scope evidence or an inactive agency."""
    reason = None
    if oos > 0 and oos >= best_keyword:
        reason = OUT_OF_SCOPE
    elif decision.agency is not None and active is not None and decision.agency not in active:
        reason = INACTIVE
    if reason is None:
        return decision
    return LearnedDecision(None, decision.confidence, decision.top, decision.matched, decision.candidates,
                           decision.similar, decision.model, reason, decision.keywords, decision.bounced)
