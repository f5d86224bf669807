"""The router learns from the city: a model trained on the city's own labelled complaints beside the keywords.

Pure functions over text, config and examples (no database, nothing of the project outside ``router``)::

    from router.learning import read_archive, agencies_from_config, train, decide, dumps, loads, evaluate
    reading = read_archive(csv_bytes, agencies_from_config(config_text))     # rows, unknown agencies + lines
    model = train([row.example() for row in reading.rows], table, settings)   # threshold by cross-validation
    answer = decide(text, table, model, settings, active={"DISHUB", ...})     # agency/None, similar, model
    blob = dumps(model); model = loads(blob, table)                           # skops, no pickle
    print(evaluate(examples, table, folds=5).to_text())                       # keywords / model / combined
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import Any

# Names are imported on first use (PEP 562): settings and archives need no scikit-learn, which takes seconds.
_WHERE = {
    "archive": ("AgencyRef", "ArchiveError", "ArchiveReading", "ArchiveRow", "UnknownAgency", "agencies_from_config",
                "read_archive"),
    "curve": ("CurvePoint", "curve_table", "learning_curve"),
    "decide": ("LearnedDecision", "Similar", "decide", "uses_model"),
    "evaluate": ("evaluate", "examples_from_rows"),
    "model": ("LearnedModel", "train"),
    "report": ("Evaluation", "Scores"),
    "serialize": ("TRUSTED_TYPES", "ModelFormatError", "dumps", "loads", "metadata"),
    "settings": ("Example", "LearningError", "LearningSettings", "content_hash"),
}
_MODULE = {name: module for module, names in _WHERE.items() for name in names}

__all__ = sorted(_MODULE)


def __getattr__(name: str) -> Any:
    """Import ``name`` from its module the first time it is asked for."""
    module = _MODULE.get(name)
    if module is None:
        raise AttributeError(f"module 'router.learning' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"router.learning.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


class _Package(types.ModuleType):
    """Importing a submodule binds it on its package; ``decide`` and ``evaluate`` must stay the functions."""

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and name in _MODULE:
            return  # the submodule stays reachable as sys.modules["router.learning.<name>"]
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
