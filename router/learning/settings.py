"""Settings of the learned router (``router.learning`` in config.yaml) and the labelled example it learns from."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any


class LearningError(ValueError):
    """Learning cannot proceed (e.g. fewer than two agencies among the examples, or invalid settings)."""


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled complaint.

    Attributes:
        text: the complaint as the citizen wrote it.
        agency: the agency code that handled it; None means no agency handles it (used by evaluation only,
            never trained on: it should go to review).
        ref: how to name it to a person (ticket code, archive line ...); shown among similar complaints.
        also: other agencies that are also acceptable (evaluation only; training uses ``agency``).
    """

    text: str
    agency: str | None
    ref: str = ""
    also: tuple[str, ...] = field(default_factory=tuple)

    @property
    def labels(self) -> tuple[str, ...]:
        """Every acceptable agency, ``agency`` first; empty when no agency handles it."""
        return ((self.agency,) + self.also) if self.agency else ()

    @property
    def content_hash(self) -> str:
        """A stable hash of the agency and the whitespace-collapsed text (see ``content_hash``)."""
        return content_hash(self.text, self.agency or "")


def content_hash(text: str, agency: str) -> str:
    """Return the SHA-256 hex digest of an example's agency code and text with whitespace collapsed.

    The same complaint with the same agency always hashes the same, whatever its line in the file or its
    surrounding spaces, so importing a file twice adds nothing.
    """
    body = f"{agency.strip().upper()}\n{' '.join(text.split())}"
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class LearningSettings:
    """``router.learning`` in config.yaml.

    Attributes:
        enabled: False keeps the keyword router alone.
        min_examples: below this many examples the keyword router decides alone.
        target_precision: precision the confidence threshold is chosen to reach, by cross-validation.
        retrain_every: the scheduler retrains after this many new examples.
        folds: cross-validation folds used to choose the threshold when training.
        seed: seed of the fold assignment (training is deterministic for a given seed).
        svm_c: regularisation of the linear SVM (larger fits the examples more closely).
        keyword_weight: scale of the keyword-score features against the text features.
        min_agency_examples: when the keyword router alone routes to an agency the model has fewer examples
            of than this, the keyword decision stands (a young model does not override agencies it barely knows).
        bounce_similarity: a complaint the model would route to an agency that sent back ("bukan wewenang") a
            past complaint at least this similar (cosine of word n-grams) goes to review instead, unless that
            agency also accepted a complaint at least as similar.
    """

    enabled: bool = True
    min_examples: int = 100
    target_precision: float = 0.92
    retrain_every: int = 50
    folds: int = 5
    seed: int = 0
    svm_c: float = 0.5
    keyword_weight: float = 0.5
    min_agency_examples: int = 5
    bounce_similarity: float = 0.8

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None, where: str = "router.learning") -> LearningSettings:
        """Build settings from the ``router.learning`` mapping; every key is optional, unknown keys refused.

        Raises:
            LearningError: an unknown key or a value of the wrong type or range; the message names the key.
        """
        known = {f.name: f for f in fields(cls)}
        values = dict(values or {})
        for key in values:
            if key not in known:
                raise LearningError(f"{where}.{key}: unknown setting (known: {', '.join(known)})")
        settings = cls(**values)
        settings.check(where)
        return settings

    def check(self, where: str = "router.learning") -> None:
        """Raise ``LearningError`` if a value is out of range."""
        if not isinstance(self.enabled, bool):
            raise LearningError(f"{where}.enabled must be true or false")
        for name, low in (("min_examples", 0), ("retrain_every", 1), ("folds", 2), ("seed", 0),
                          ("min_agency_examples", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise LearningError(f"{where}.{name} must be an integer >= {low}")
        for name, low, high in (("target_precision", 0.0, 1.0), ("svm_c", 0.0, math.inf),
                                ("keyword_weight", 0.0, math.inf), ("bounce_similarity", 0.0, 1.0)):
            value = getattr(self, name)
            ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            if not ok or not low < value <= high:
                raise LearningError(f"{where}.{name} must be a number > {low:g}" +
                                    (f" and <= {high:g}" if math.isfinite(high) else ""))
