"""Cross-validate routing on a list of labelled examples, without a database: keywords alone, the model alone
(text features only) and the two combined.

"Model alone" is the text-only model's probabilities and threshold, no keyword rule at all; "combined" is
``decide`` with the combined model, the function a worker uses. Each outer fold trains both models on the
other folds only (``train`` then chooses each model's threshold by its own inner cross-validation, so the
threshold is chosen inside the training fold). Examples whose ``agency`` is None (no city agency handles
them) are never trained on; routing one counts as a wrong route, sending it to review as right.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from router.learning.decide import OUT_OF_SCOPE, decide
from router.learning.model import folds_of, train
from router.learning.report import SYSTEMS, Evaluation, Scores
from router.learning.settings import Example, LearningSettings
from router.table import RoutingTable

SWEEP = (0.0, 0.2, 0.3, 0.4, 0.5, 0.55, 0.6, 0.7, 0.8, 0.9, 0.95)
REVIEW = "REVIEW"


@dataclass
class Outcome:
    """One system's answer on one held-out example: first choice, confidence, decision, out-of-scope block."""

    top: str | None
    confidence: float
    decided: str | None
    blocked: bool = False


@dataclass
class _Case:
    example: Example
    fold: int
    outcomes: dict[str, Outcome] = field(default_factory=dict)


def evaluate(examples: list[Example], table: RoutingTable, settings: LearningSettings | None = None, *,
             folds: int = 5, seed: int = 0, sweep: tuple[float, ...] = SWEEP) -> Evaluation:
    """Cross-validate keywords alone, model alone and combined on ``examples``.

    Args:
        examples: labelled complaints (``agency`` None: belongs to no agency).
        table: the routing table.
        settings: learning settings for the models (target precision, inner folds, SVM); defaults when None.
        folds: outer folds (stratified by first label where possible).
        seed: seed of the outer fold assignment.
        sweep: thresholds for the coverage/precision table.

    Returns:
        An ``Evaluation`` (``to_text()``, ``to_dict()``).
    """
    settings = settings or LearningSettings()
    labels = [e.agency or "NONE" for e in examples]
    names = sorted(set(labels))
    truth = np.array([names.index(label) for label in labels])
    cases = [_Case(e, -1) for e in examples]
    thresholds: dict[str, list[float]] = {"model": [], "combined": []}
    for fold, (train_rows, test_rows) in enumerate(folds_of(truth, folds, seed)):
        training = [examples[i] for i in train_rows]
        models = {"model": train(training, table, settings, use_keywords=False),
                  "combined": train(training, table, settings, use_keywords=True)}
        for name, model in models.items():
            thresholds[name].append(model.threshold)
        for i in test_rows:
            case = cases[i]
            case.fold = fold
            keywords = table.route(case.example.text)
            top = keywords.candidates[0]["agency"] if keywords.candidates else None
            case.outcomes["keywords"] = Outcome(top, keywords.confidence, keywords.agency)
            probs = models["model"].probabilities(table.normalizer.tokens(case.example.text), keywords)
            best = int(np.argmax(probs))
            top, confidence = models["model"].classes[best], round(float(probs[best]), 4)
            case.outcomes["model"] = Outcome(top, confidence, top if confidence >= models["model"].threshold else None)
            answer = decide(case.example.text, table, models["combined"], settings, similar=0)
            case.outcomes["combined"] = Outcome(answer.top, answer.confidence, answer.agency,
                                                answer.review_reason == OUT_OF_SCOPE)
    return Evaluation(
        folds=folds, seed=seed, examples=len(examples), agencies=len(set(labels) - {"NONE"}),
        none=labels.count("NONE"), target_precision=settings.target_precision, thresholds=thresholds,
        scores={name: _scores(cases, name, None) for name in SYSTEMS},
        confusion=_confusion(cases, "combined"),
        sweep=[{"threshold": t, **{name: _scores(cases, name, t).pair() for name in SYSTEMS}} for t in sweep],
    )


def _routed(outcome: Outcome, threshold: float | None) -> str | None:
    """The agency routed: the decision itself, or at ``threshold`` the first choice if confident enough."""
    if threshold is None:
        return outcome.decided
    return outcome.top if outcome.top and not outcome.blocked and outcome.confidence >= threshold else None


def _scores(cases: list[_Case], name: str, threshold: float | None) -> Scores:
    """Coverage, precision, forced top-1 and NONE-to-review of one system."""
    agency_cases = [c for c in cases if c.example.agency]
    none_cases = [c for c in cases if not c.example.agency]
    routed = [(c, _routed(c.outcomes[name], threshold)) for c in cases]
    routed = [(c, agency) for c, agency in routed if agency]
    right = sum(agency in c.example.labels for c, agency in routed)
    covered = sum(1 for c, _ in routed if c.example.agency)
    forced = sum(c.outcomes[name].top in c.example.labels for c in agency_cases)
    none_review = sum(_routed(c.outcomes[name], threshold) is None for c in none_cases)
    return Scores(
        n=len(cases), routed=len(routed), wrong=len(routed) - right,
        coverage=covered / len(agency_cases) if agency_cases else 0.0,
        precision=right / len(routed) if routed else 1.0,
        forced_top1=forced / len(agency_cases) if agency_cases else 0.0,
        none_review=none_review / len(none_cases) if none_cases else None,
    )


def _confusion(cases: list[_Case], name: str) -> dict[str, dict[str, int]]:
    """First label (NONE for none) -> decision (REVIEW for the queue) -> count."""
    counts = Counter((c.example.agency or "NONE", c.outcomes[name].decided or REVIEW) for c in cases)
    matrix: dict[str, dict[str, int]] = {}
    for (row, column), count in sorted(counts.items()):
        matrix.setdefault(row, {})[column] = count
    return matrix


def examples_from_rows(rows: list[dict[str, Any]]) -> list[Example]:
    """Build examples from dicts ``{"text", "labels": "A+B" | "NONE", "ref"?}`` (the bench's TSV rows)."""
    found = []
    for row in rows:
        labels = [] if row["labels"] == "NONE" else row["labels"].split("+")
        found.append(Example(row["text"], labels[0] if labels else None, row.get("ref", ""), tuple(labels[1:])))
    return found
