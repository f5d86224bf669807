"""A learned model to bytes and back with skops (no pickle): plain lists, dicts and numpy arrays only.

``dumps`` writes the model's parts as builtins and numpy arrays (the sparse example matrix as its three
arrays), so ``loads`` needs to trust no type beyond those skops already trusts plus the explicit
``TRUSTED_TYPES``; a file holding anything else (an estimator, a function ...) is refused with
``ModelFormatError`` before any of it is built.
"""

from __future__ import annotations

import zipfile
from typing import Any

import numpy as np
import skops.io as sio
from scipy import sparse

from router.learning.features import TextVectorizer
from router.learning.model import LearnedModel
from router.table import RoutingTable

FORMAT = 1
# Types trusted beyond skops' defaults (builtins, numpy arrays and dtypes): none. Listed here so that a
# change of what ``dumps`` writes must change this list too.
TRUSTED_TYPES: list[str] = []


class ModelFormatError(ValueError):
    """The bytes are not a model this code wrote: unreadable, another format, or untrusted types inside."""


def dumps(model: LearnedModel) -> bytes:
    """Return the model as skops bytes, with its version and metadata inside (see ``metadata``)."""
    examples = model.examples
    state: dict[str, Any] = {
        "format": FORMAT,
        "version": model.version,
        "metadata": model.metadata,
        "classes": list(model.classes),
        "codes": list(model.codes),
        "vocabulary": _strings(sorted(model.vectorizer.vocabulary, key=model.vectorizer.vocabulary.__getitem__)),
        "idf": model.vectorizer.idf,
        "char_start": model.vectorizer.char_start,
        "text_weights": model.text_weights,
        "keyword_weights": model.keyword_weights,
        "intercept": model.intercept,
        "temperature": float(model.temperature),
        "threshold": float(model.threshold),
        "keyword_weight": float(model.keyword_weight),
        "examples": {"data": examples.data, "indices": examples.indices, "indptr": examples.indptr,
                     "shape": list(examples.shape)},
        "refs": _strings(model.refs),
        "labels": _strings(model.labels),
    }
    if model.against is not None:
        state["against"] = {"data": model.against.data, "indices": model.against.indices,
                            "indptr": model.against.indptr, "shape": list(model.against.shape),
                            "refs": _strings(model.against_refs), "labels": _strings(model.against_labels)}
    return sio.dumps(state, compression=zipfile.ZIP_DEFLATED)


def _strings(values: list[str]) -> np.ndarray:
    """Return strings as one numpy unicode array (stored as one .npy member instead of a node per string)."""
    return np.array(list(values), dtype=str) if values else np.zeros(0, dtype="<U1")


def _state(data: bytes) -> dict[str, Any]:
    """Load and check the state dict, refusing untrusted types."""
    try:
        untrusted = sio.get_untrusted_types(data=data)
    except Exception as error:  # skops raises zipfile, JSON and key errors for foreign bytes
        raise ModelFormatError(f"not a skops model file: {error}") from None
    refused = sorted(set(untrusted) - set(TRUSTED_TYPES))
    if refused:
        raise ModelFormatError(f"refused: untrusted types in the model file: {', '.join(refused)}")
    state = sio.loads(data, trusted=TRUSTED_TYPES)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ModelFormatError(f"not a Sambat router model of format {FORMAT}")
    return state


def metadata(data: bytes) -> dict[str, Any]:
    """Return ``{"version", **metadata}`` of serialised model bytes (example count, threshold, cv figures)."""
    state = _state(data)
    return {"version": state["version"], **state["metadata"]}


def loads(data: bytes, table: RoutingTable) -> LearnedModel:
    """Rebuild a model from ``dumps`` bytes and bind it to ``table``.

    Raises:
        ModelFormatError: unreadable bytes, another format, or a type outside skops' defaults and
            ``TRUSTED_TYPES``.
    """
    state = _state(data)
    try:
        terms = [str(term) for term in state["vocabulary"]]
        vectorizer = TextVectorizer({term: i for i, term in enumerate(terms)}, np.asarray(state["idf"]),
                                    int(state["char_start"]))
        stored = state["examples"]
        examples = sparse.csc_matrix((stored["data"], stored["indices"], stored["indptr"]),
                                     shape=tuple(stored["shape"]))
        model = LearnedModel(
            version=state["version"], classes=list(state["classes"]), codes=list(state["codes"]),
            vectorizer=vectorizer, text_weights=np.asarray(state["text_weights"]),
            keyword_weights=np.asarray(state["keyword_weights"]), intercept=np.asarray(state["intercept"]),
            temperature=float(state["temperature"]), threshold=float(state["threshold"]),
            keyword_weight=float(state["keyword_weight"]), examples=examples,
            refs=[str(r) for r in state["refs"]], labels=[str(label) for label in state["labels"]],
            metadata=dict(state["metadata"]),
        )
        bounced = state.get("against")  # absent in models trained before bounces were kept
        if bounced is not None:
            model.against = sparse.csc_matrix((bounced["data"], bounced["indices"], bounced["indptr"]),
                                              shape=tuple(bounced["shape"]))
            model.against_refs = [str(r) for r in bounced["refs"]]
            model.against_labels = [str(label) for label in bounced["labels"]]
    except (KeyError, TypeError, ValueError) as error:
        raise ModelFormatError(f"not a complete Sambat router model: {error!r}") from None
    return model.bind(table)
