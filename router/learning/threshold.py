"""Calibration and thresholds: softmax with a temperature fitted on out-of-fold margins, and the least
confidence that reaches a target precision."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar


def softmax(margins: np.ndarray, temperature: float) -> np.ndarray:
    """Return row-wise softmax of ``margins / temperature`` (``-inf`` margins get probability 0)."""
    scaled = np.atleast_2d(margins) / temperature
    scaled = scaled - scaled.max(axis=1, keepdims=True)
    weights = np.exp(scaled)
    return weights / weights.sum(axis=1, keepdims=True)


def fit_temperature(margins: np.ndarray, truth: np.ndarray) -> float:
    """Return the temperature that minimises the log loss of ``softmax(margins / T)`` (temperature scaling).

    Args:
        margins: out-of-fold decision margins, examples x classes.
        truth: the column of the true class per example.
    """
    rows = np.arange(len(truth))

    def loss(log_t: float) -> float:
        probs = softmax(margins, float(np.exp(log_t)))
        return float(-np.mean(np.log(np.clip(probs[rows, truth], 1e-12, None))))

    found = minimize_scalar(loss, bounds=(np.log(0.01), np.log(10.0)), method="bounded")
    return round(float(np.exp(found.x)), 6)


@dataclass(frozen=True, slots=True)
class ThresholdChoice:
    """The threshold chosen and what it gave on the examples it was chosen on.

    Attributes:
        threshold: least confidence routed without review.
        precision: share of routed examples routed right at that threshold.
        coverage: share of examples routed.
        target_met: whether ``precision`` reaches the target; if not, the threshold of the best precision.
    """

    threshold: float
    precision: float
    coverage: float
    target_met: bool


def choose_threshold(confidence: Sequence[float], correct: Sequence[bool], target: float) -> ThresholdChoice:
    """Return the lowest confidence threshold whose routed examples reach ``target`` precision.

    Routing at threshold t routes every example with confidence >= t. Among thresholds that reach the target
    the lowest (largest coverage) wins. If none does, the threshold of the highest precision (then the
    largest coverage) is returned with ``target_met`` False. With no examples the threshold is 1.0.

    Args:
        confidence: the confidence of the first choice per example (out of fold).
        correct: whether that first choice was right.
        target: the precision to reach, 0..1.
    """
    if len(confidence) == 0:
        return ThresholdChoice(1.0, 1.0, 0.0, False)
    order = np.argsort(-np.asarray(confidence, dtype=np.float64), kind="stable")
    conf = np.asarray(confidence, dtype=np.float64)[order]
    hits = np.cumsum(np.asarray(correct, dtype=np.float64)[order])
    routed = np.arange(1, len(conf) + 1)
    # only cut where the confidence changes: every example tied at the threshold is routed too
    last_of_tie = np.r_[conf[1:] != conf[:-1], True]
    precision = hits / routed
    candidates = np.flatnonzero(last_of_tie)
    reaching = candidates[precision[candidates] >= target - 1e-12]
    if len(reaching):
        cut = int(reaching[-1])
        met = True
    else:
        best = precision[candidates].max()
        cut = int(candidates[precision[candidates] >= best - 1e-12][-1])
        met = False
    return ThresholdChoice(round(float(conf[cut]), 6), float(precision[cut]), float(routed[cut] / len(conf)), met)


def coverage_precision(confidence: Sequence[float], correct: Sequence[bool], threshold: float) -> tuple[float, float]:
    """Return (coverage, precision) of routing every example whose confidence >= ``threshold``."""
    conf = np.asarray(confidence, dtype=np.float64)
    right = np.asarray(correct, dtype=bool)
    routed = conf >= threshold
    count = int(routed.sum())
    return (count / len(conf) if len(conf) else 0.0, float(right[routed].mean()) if count else 1.0)
