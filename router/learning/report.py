"""The results of an evaluation, printable as text (markdown tables) or as JSON-ready dicts.

Definitions (as bench/router_eval/eval.py):
    coverage   share of agency complaints routed (not sent to review).
    precision  share of routed complaints routed to an acceptable agency (a routed NONE complaint is wrong).
    forced     share of agency complaints whose first choice is acceptable, whatever the confidence.
    none->rev  share of NONE complaints sent to review.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SYSTEMS = ("keywords", "model", "combined")
LABELS = {"keywords": "keywords alone", "model": "model alone", "combined": "combined"}


@dataclass(frozen=True, slots=True)
class Scores:
    """One system's figures on a set of examples."""

    n: int
    routed: int
    wrong: int
    coverage: float
    precision: float
    forced_top1: float
    none_review: float | None = None

    def pair(self) -> dict[str, float]:
        """Return ``{"coverage", "precision"}`` rounded (for the threshold sweep)."""
        return {"coverage": round(self.coverage, 4), "precision": round(self.precision, 4)}

    def to_dict(self) -> dict[str, Any]:
        """Return the figures, rates rounded to 4 places."""
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


@dataclass
class Evaluation:
    """A cross-validated evaluation (see ``router.learning.evaluate.evaluate``).

    Attributes:
        folds, seed: the outer cross-validation.
        examples, agencies, none: how many examples, distinct agencies, and examples of no agency.
        target_precision: the precision each fold's threshold was chosen to reach.
        thresholds: per system (model, combined), the threshold chosen inside each training fold.
        scores: per system (keywords, model, combined), the figures at its own decision.
        confusion: combined decisions: first label -> decision (REVIEW = queue) -> count.
        sweep: per threshold, per system, coverage and precision.
    """

    folds: int
    seed: int
    examples: int
    agencies: int
    none: int
    target_precision: float
    thresholds: dict[str, list[float]] = field(default_factory=dict)
    scores: dict[str, Scores] = field(default_factory=dict)
    confusion: dict[str, dict[str, int]] = field(default_factory=dict)
    sweep: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return everything as JSON-ready dicts and lists."""
        return {
            "folds": self.folds, "seed": self.seed, "examples": self.examples, "agencies": self.agencies,
            "none": self.none, "target_precision": self.target_precision, "thresholds": self.thresholds,
            "scores": {name: scores.to_dict() for name, scores in self.scores.items()},
            "confusion": self.confusion, "sweep": self.sweep,
        }

    def summary_table(self) -> str:
        """Markdown: one row per system."""
        lines = ["| system | coverage | precision (wrong/routed) | forced top-1 | NONE -> review |",
                 "|---|---|---|---|---|"]
        for name in SYSTEMS:
            s = self.scores[name]
            none = "-" if s.none_review is None else f"{s.none_review:.1%}"
            lines.append(f"| {LABELS[name]} | {s.coverage:.1%} | {s.precision:.1%} ({s.wrong}/{s.routed}) "
                         f"| {s.forced_top1:.1%} | {none} |")
        return "\n".join(lines)

    def sweep_table(self) -> str:
        """Markdown: coverage and precision of each system across thresholds."""
        header = " | ".join(f"{LABELS[n]} coverage | {LABELS[n]} precision" for n in SYSTEMS)
        lines = [f"| threshold | {header} |", "|---" * (1 + 2 * len(SYSTEMS)) + "|"]
        for row in self.sweep:
            cells = [f"{row[n]['coverage']:.1%} | {row[n]['precision']:.1%}" for n in SYSTEMS]
            lines.append(f"| {row['threshold']:.2f} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def confusion_table(self) -> str:
        """Markdown: the combined system's confusion matrix (rows: first label; columns: decision)."""
        columns = sorted({c for row in self.confusion.values() for c in row} - {"REVIEW"}) + ["REVIEW"]
        lines = ["| true \\ routed | " + " | ".join(c.split("-")[0][:8] for c in columns) + " |",
                 "|---" * (len(columns) + 1) + "|"]
        for row in sorted(self.confusion):
            cells = [str(self.confusion[row].get(c, ".")) for c in columns]
            lines.append(f"| {row} | " + " | ".join(cells) + " |")
        return "\n".join(lines)

    def to_text(self) -> str:
        """Return the whole evaluation as markdown text."""
        chosen = "; ".join(f"{LABELS[n]} {', '.join(f'{t:.3f}' for t in ts)}" for n, ts in self.thresholds.items())
        return (
            f"{self.folds}-fold cross-validation (seed {self.seed}) on {self.examples} examples, {self.agencies} "
            f"agencies, {self.none} of no agency; thresholds chosen inside each training fold for precision "
            f">= {self.target_precision:g}: {chosen}.\n\n{self.summary_table()}\n\n"
            f"Across thresholds:\n\n{self.sweep_table()}\n\n"
            f"Confusion matrix (combined):\n\n{self.confusion_table()}\n"
        )
