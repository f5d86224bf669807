"""The router learns from the city: a model trained on the city's own labelled complaints beside the keywords.

Pure functions over text, config and examples (no database, nothing of the project outside ``router``)::

    from router.learning import read_archive, agencies_from_config, train, decide, dumps, loads, evaluate
    reading = read_archive(csv_bytes, agencies_from_config(config_text))     # rows, unknown agencies + lines
    model = train([row.example() for row in reading.rows], table, settings)   # threshold by cross-validation
    answer = decide(text, table, model, settings, active={"DISHUB", ...})     # agency/None, similar, model
    blob = dumps(model); model = loads(blob, table)                           # skops, no pickle
    print(evaluate(examples, table, folds=5).to_text())                       # keywords / model / combined
"""

from router.learning.archive import (
    AgencyRef,
    ArchiveError,
    ArchiveReading,
    ArchiveRow,
    UnknownAgency,
    agencies_from_config,
    read_archive,
)
from router.learning.curve import CurvePoint, curve_table, learning_curve
from router.learning.decide import LearnedDecision, Similar, decide, uses_model
from router.learning.evaluate import evaluate, examples_from_rows
from router.learning.model import LearnedModel, train
from router.learning.report import Evaluation, Scores
from router.learning.serialize import TRUSTED_TYPES, ModelFormatError, dumps, loads, metadata
from router.learning.settings import Example, LearningError, LearningSettings, content_hash

__all__ = [
    "AgencyRef", "ArchiveError", "ArchiveReading", "ArchiveRow", "CurvePoint", "Evaluation", "Example",
    "LearnedDecision", "LearnedModel", "LearningError", "LearningSettings", "ModelFormatError", "Scores", "Similar",
    "TRUSTED_TYPES", "UnknownAgency", "agencies_from_config", "content_hash", "curve_table", "decide", "dumps",
    "evaluate", "examples_from_rows", "learning_curve", "loads", "metadata", "read_archive", "train", "uses_model",
]
