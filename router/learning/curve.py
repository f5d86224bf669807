"""The learning curve: replay labelled complaints in time order as a city would live them.

Each complaint is first routed (the keyword router alone until ``min_examples`` are known, then the latest
model), then its label is learned; the model is retrained every ``retrain_every`` new examples. For every
window of ``window`` complaints the curve reports the share that needed a person: sent to review, or routed
to a wrong agency (and, for comparison, the same share for the keyword router alone).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from router.learning.decide import decide
from router.learning.model import LearnedModel, train
from router.learning.settings import Example, LearningSettings
from router.table import RoutingTable


@dataclass(frozen=True, slots=True)
class CurvePoint:
    """One window of the replay: complaints ``start``..``end`` (1-based, inclusive); ``model_examples`` is the
    size of the model that routed the window's last complaint (0: the keyword router alone)."""

    start: int
    end: int
    unrouted: int
    misrouted: int
    needs_person: float
    keywords_needs_person: float
    model_examples: int

    def to_dict(self) -> dict[str, Any]:
        """Return the point as a dict (shares rounded to 4 places)."""
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def learning_curve(examples: list[Example], table: RoutingTable, settings: LearningSettings | None = None, *,
                   window: int = 100) -> list[CurvePoint]:
    """Replay ``examples`` in the given order: route each, then learn it; report per ``window`` complaints.

    Args:
        examples: labelled complaints in time order (``agency`` None: no agency handles it; always needs a
            person, as review is the right answer).
        table: the routing table.
        settings: ``min_examples``, ``retrain_every`` and the training settings.
        window: complaints per reported point.

    Returns:
        One ``CurvePoint`` per window (the last may be shorter).
    """
    settings = settings or LearningSettings()
    model: LearnedModel | None = None
    learned: list[Example] = []
    since_training = 0
    points: list[CurvePoint] = []
    unrouted = misrouted = keyword_person = 0
    for number, example in enumerate(examples, start=1):
        answer = decide(example.text, table, model, settings, similar=0)
        if answer.agency is None:
            unrouted += 1
        elif answer.agency not in example.labels:
            misrouted += 1
        keyword = table.route(example.text).agency
        keyword_person += keyword is None or keyword not in example.labels
        if number % window == 0 or number == len(examples):
            size = (number - 1) % window + 1
            points.append(CurvePoint(number - size + 1, number, unrouted, misrouted,
                                     (unrouted + misrouted) / size, keyword_person / size,
                                     model.example_count if model else 0))
            unrouted = misrouted = keyword_person = 0
        learned.append(example)
        since_training += 1
        trainable = sum(1 for e in learned if e.agency)
        if since_training >= settings.retrain_every and trainable >= settings.min_examples:
            model = train(learned, table, settings, version=f"replay-{number}")
            since_training = 0
    return points


def curve_table(points: list[CurvePoint]) -> str:
    """Markdown: one row per window."""
    lines = ["| complaints | unrouted | misrouted | needs a person | keywords alone | model trained on |",
             "|---|---|---|---|---|---|"]
    for p in points:
        lines.append(f"| {p.start}-{p.end} | {p.unrouted} | {p.misrouted} | {p.needs_person:.1%} "
                     f"| {p.keywords_needs_person:.1%} | {p.model_examples or '-'} |")
    return "\n".join(lines)
