"""The learned model: a linear SVM over text and keyword features, calibrated by temperature scaling, with its
threshold chosen by cross-validation inside the training examples, and the examples kept for "similar".

Training (``train``): fit the vocabulary on the examples; cross-validate (``settings.folds`` folds, stratified
by agency where each agency has enough examples, seeded) to get out-of-fold margins; fit the softmax
temperature on them (so probabilities are calibrated); choose the least confidence that reaches
``settings.target_precision`` on the out-of-fold probabilities; refit on all examples.

Routing one text costs one pass of the normaliser (memoised), a dictionary lookup per n-gram, and a product
of the few non-zero features with the weights, kept features x agencies so the rows are contiguous.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.svm import LinearSVC

from router.decision import Decision
from router.learning.features import TextVectorizer, keyword_features
from router.learning.scope import out_of_scope_weights
from router.learning.settings import Example, LearningError, LearningSettings, content_hash
from router.learning.threshold import choose_threshold, fit_temperature, softmax
from router.table import RoutingTable

# Most postings (example, n-gram) one similarity lookup reads; see LearnedModel._similar.
SIMILAR_POSTINGS = 4000


@dataclass
class LearnedModel:
    """A trained model and what it needs to route and explain.

    Attributes:
        version: a label for this model (the caller's, or a hash of the examples and settings).
        classes: the agency codes it can choose, in column order.
        codes: the routing table's agency codes at training time (order of the keyword features).
        vectorizer: vocabulary and idf of the text features.
        text_weights: text features x classes (float32).
        keyword_weights: keyword features x classes (float32; no rows for a text-only model).
        intercept: per class.
        temperature: softmax temperature fitted on out-of-fold margins.
        threshold: least confidence routed without review.
        keyword_weight: scale of the keyword features.
        examples: word-block tf-idf rows of the training examples (CSC, unit rows) for similarity.
        refs: each training example's reference; labels: its agency.
        against: word-block rows (CSC, unit rows) of complaints an agency sent back ("bukan wewenang");
            against_refs, against_labels: their references and the agency that bounced each.
        metadata: example count, cross-validated figures, settings (see ``train``).
    """

    version: str
    classes: list[str]
    codes: list[str]
    vectorizer: TextVectorizer
    text_weights: np.ndarray
    keyword_weights: np.ndarray
    intercept: np.ndarray
    temperature: float
    threshold: float
    keyword_weight: float
    examples: sparse.csc_matrix
    refs: list[str]
    labels: list[str]
    metadata: dict[str, Any] = field(default_factory=dict)
    against: sparse.csc_matrix | None = None
    against_refs: list[str] = field(default_factory=list)
    against_labels: list[str] = field(default_factory=list)
    _oos: dict[str, float] = field(default_factory=dict, repr=False)
    _counts: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def example_count(self) -> int:
        """How many examples it was trained on."""
        return len(self.labels)

    def probabilities(self, tokens: list[str], decision: Decision) -> np.ndarray:
        """Return the calibrated probability of each class for one text's tokens and keyword decision."""
        return self.score(tokens, decision, 0)[0]

    def similar(self, tokens: list[str], count: int = 3) -> list[tuple[str, str, float]]:
        """Return up to ``count`` (ref, agency, cosine similarity) of the closest training examples, best first."""
        return self._similar(*self.vectorizer.row(tokens), count)

    def score(self, tokens: list[str], decision: Decision, similar: int = 3) -> tuple[np.ndarray, list]:
        """Return (class probabilities, similar examples) of one text, building its features once."""
        probs, close, _ = self.explain(tokens, decision, similar)
        return probs, close

    def explain(self, tokens: list[str], decision: Decision, similar: int = 3) -> tuple[np.ndarray, list, list]:
        """Return (class probabilities, similar examples, similar bounced complaints) of one text.

        The bounced ones are (ref, agency that sent it back, similarity), best first, at most three.
        """
        columns, values = self.vectorizer.row(tokens)
        margins = self.intercept + values @ self.text_weights[columns]
        if len(self.keyword_weights):
            evidence = keyword_features(decision, self.codes, self._oos) * self.keyword_weight
            margins = margins + evidence @ self.keyword_weights
        close = self._similar(columns, values, similar)
        bounced = []
        if self.against is not None and self.against_labels:
            bounced = _nearest(self.against, self.against_refs, self.against_labels, columns, values,
                               self.vectorizer.char_start, 3)
        return softmax(margins, self.temperature)[0], close, bounced

    def _similar(self, columns: np.ndarray, values: np.ndarray, count: int) -> list[tuple[str, str, float]]:
        """Up to ``count`` (ref, agency, cosine) of the training examples closest to one text's features."""
        if count <= 0 or not self.example_count:
            return []
        return _nearest(self.examples, self.refs, self.labels, columns, values, self.vectorizer.char_start, count)

    def bind(self, table: RoutingTable) -> LearnedModel:
        """Attach the out-of-scope weights of ``table`` (used by the keyword features); returns self."""
        self._oos = out_of_scope_weights(table)
        self._counts = dict(Counter(self.labels))
        return self

    def examples_of(self, agency: str) -> int:
        """How many training examples of ``agency`` the model has."""
        return self._counts.get(agency, 0)


def _nearest(index: sparse.csc_matrix, refs: list[str], labels: list[str], columns: np.ndarray,
             values: np.ndarray, char_start: int, count: int) -> list[tuple[str, str, float]]:
    """Cosine similarity of the word block of one text against the rows of ``index``, through its CSC columns
    (an inverted index: for each query n-gram, the rows that have it); up to ``count`` best, best first.

    The rarest n-grams of the query are taken first, up to ``SIMILAR_POSTINGS`` postings in all, so a lookup
    costs the same however large the model grows; common n-grams weigh little in a cosine.
    """
    split = int(np.searchsorted(columns, char_start))
    if count <= 0 or not split or not index.shape[0]:
        return []
    columns, values = columns[:split], values[:split]
    indptr = index.indptr
    starts, lengths = indptr[columns], indptr[columns + 1] - indptr[columns]
    if int(lengths.sum()) > SIMILAR_POSTINGS:
        order = np.argsort(lengths, kind="stable")
        keep = order[: max(1, int(np.searchsorted(np.cumsum(lengths[order]), SIMILAR_POSTINGS, "right")))]
        starts, lengths, values = starts[keep], lengths[keep], values[keep]
    total = int(lengths.sum())
    if not total:
        return []
    positions = np.repeat(starts - (np.cumsum(lengths) - lengths), lengths) + np.arange(total)
    contributions = index.data[positions] * np.repeat(values, lengths)
    scores = np.bincount(index.indices[positions], weights=contributions, minlength=index.shape[0])
    touched = np.flatnonzero(scores > 0)
    if not len(touched):
        return []
    count = min(count, len(touched))
    top = touched[np.argpartition(-scores[touched], count - 1)[:count]]
    top = top[np.lexsort((top, -scores[top]))]
    return [(refs[i], labels[i], round(float(scores[i]), 4)) for i in top]


def train(examples: list[Example], table: RoutingTable, settings: LearningSettings | None = None, *,
          version: str | None = None, use_keywords: bool = True, against: Sequence[Example] = ()) -> LearnedModel:
    """Train a model on labelled examples.

    Examples with ``agency`` None (no city agency handles them) are never fitted, but take part in choosing
    the threshold: routing one counts as a wrong route, so a set with such examples gets a stricter threshold.

    Args:
        examples: the city's labelled complaints.
        table: the routing table (its normaliser and keyword scores are features).
        settings: ``router.learning`` settings (folds, seed, target precision ...).
        version: the model's version label; default a hash of the examples and settings.
        use_keywords: False trains on the text alone ("model alone" in evaluations).
        against: complaints an agency sent back ("bukan wewenang"), ``agency`` being the agency that bounced
            each. A bounced complaint that was reassigned is also an example of its new agency, and so a
            negative example of the one that bounced it in that agency's one-vs-rest fit; every bounce is also
            kept in an index of its own, so that ``decide`` sends to review a complaint the model would route
            to an agency that bounced a near-identical one (see ``LearningSettings.bounce_similarity``).

    Returns:
        The trained model, bound to ``table``; ``metadata`` holds the example count, the threshold, the
        temperature, and the cross-validated coverage, precision and forced top-1 of the model and of the
        keywords alone on the same examples.

    Raises:
        LearningError: fewer than two agencies among the examples.
    """
    settings = settings or LearningSettings()
    usable = [e for e in examples if e.agency] + [e for e in examples if not e.agency]
    classes = sorted({e.agency for e in usable if e.agency})
    fitted = sum(1 for e in usable if e.agency)
    if len(classes) < 2:
        raise LearningError(f"need examples of at least two agencies, got {len(classes)}")
    codes = [agency.code for agency in table.agencies]
    oos = out_of_scope_weights(table)
    tokens = [table.normalizer.tokens(e.text) for e in usable]
    decisions = [table.route(e.text) for e in usable]
    vectorizer = TextVectorizer().fit(tokens, min_df=1 if len(usable) < 2000 else 2)
    weight = settings.keyword_weight if use_keywords else 0.0
    evidence = np.array([keyword_features(d, codes, oos) for d in decisions]) * weight if use_keywords else None
    features = vectorizer.matrix(tokens, extra=evidence)
    del tokens, evidence
    index = similarity_index(features[:fitted, : vectorizer.char_start])
    against = [e for e in against if e.agency]
    bounced = None
    if against:
        rows = vectorizer.matrix([table.normalizer.tokens(e.text) for e in against])
        bounced = similarity_index(rows[:, : vectorizer.char_start])
    truth = np.array([classes.index(e.agency) if e.agency else len(classes) for e in usable])
    margins = _out_of_fold_margins(features, truth, len(classes), settings)
    temperature = fit_temperature(margins[:fitted], truth[:fitted])
    probs = softmax(margins, temperature)
    first = probs.argmax(axis=1)
    correct = [classes[c] in e.labels for c, e in zip(first, usable, strict=True)]
    choice = choose_threshold(probs.max(axis=1), correct, settings.target_precision)
    routed = probs.max(axis=1) >= choice.threshold
    weights, intercept = _fit(features[:fitted], truth[:fitted], len(classes), settings)
    keyword_routed = [d.agency is not None for d, e in zip(decisions, usable, strict=True) if e.agency]
    keyword_right = [d.agency in e.labels for d, e in zip(decisions, usable, strict=True) if d.agency]
    keyword_forced = [bool(d.candidates) and d.candidates[0]["agency"] in e.labels
                      for d, e in zip(decisions, usable, strict=True) if e.agency]
    metadata = {
        "examples": fitted, "none_examples": len(usable) - fitted, "agencies": len(classes),
        "against_examples": len(against),
        "threshold": choice.threshold,
        "temperature": temperature, "target_precision": settings.target_precision, "target_met": choice.target_met,
        "use_keywords": use_keywords, "settings": asdict(settings),
        "cv": {
            "folds": settings.folds,
            "model": {"coverage": round(float(np.mean(routed[:fitted])), 4), "precision": round(choice.precision, 4),
                      "forced_top1": round(float(np.mean(correct[:fitted])), 4)},
            "keywords": {"coverage": round(float(np.mean(keyword_routed)), 4),
                         "precision": round(float(np.mean(keyword_right)) if keyword_right else 1.0, 4),
                         "forced_top1": round(float(np.mean(keyword_forced)), 4)},
        },
    }
    if version is None:
        hashes = sorted(e.content_hash for e in usable) + sorted("against " + e.content_hash for e in against)
        digest = content_hash("\n".join(hashes), repr(asdict(settings)))
        version = f"{digest[:12]}{'' if use_keywords else '-text'}"
    model = LearnedModel(
        version=version, classes=classes, codes=codes, vectorizer=vectorizer,
        text_weights=np.ascontiguousarray(weights[:, : vectorizer.width].T, dtype=np.float32),
        keyword_weights=np.ascontiguousarray(weights[:, vectorizer.width :].T, dtype=np.float32),
        intercept=intercept, temperature=temperature, threshold=choice.threshold, keyword_weight=weight,
        examples=index, refs=[e.ref for e in usable[:fitted]],
        labels=[e.agency or "" for e in usable[:fitted]], metadata=metadata,
        against=bounced, against_refs=[e.ref for e in against], against_labels=[e.agency or "" for e in against],
    )
    return model.bind(table)


def similarity_index(words: sparse.csr_matrix, most: int = 1000) -> sparse.csc_matrix:
    """Return the word-block rows as CSC columns (an inverted index), leaving out n-grams in more than
    ``max(most, 5%)`` of the examples: they weigh little in a cosine and would make every lookup long. The
    rows keep their full-length normalisation, so similarities are the cosine over the rarer n-grams."""
    index = words.tocsc()
    limit = max(most, len(words.indptr) // 20)
    lengths = np.diff(index.indptr)
    if (lengths > limit).any():
        keep = np.repeat(lengths <= limit, lengths)
        index = sparse.csc_matrix((index.data * keep, index.indices, index.indptr), shape=index.shape)
        index.eliminate_zeros()
    return index


def folds_of(truth: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return (train, test) index pairs: stratified by class when every class could fill the folds often
    enough (each class has at least 2 examples), else plain shuffled folds; deterministic for ``seed``."""
    folds = max(2, min(folds, len(truth)))
    counts = np.bincount(truth)
    splitter: KFold | StratifiedKFold
    if counts[counts > 0].min() >= 2 and counts.max() >= folds:
        splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    else:
        splitter = KFold(folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "the least populated class has only n members"
        return list(splitter.split(np.zeros(len(truth)), truth))


def _out_of_fold_margins(features: sparse.csr_matrix, truth: np.ndarray, n_classes: int,
                         settings: LearningSettings) -> np.ndarray:
    """Margins of each example from a model trained without its fold (classes absent from a fold: -inf);
    examples of no agency (truth ``n_classes``) are spread over the folds but never fitted."""
    margins = np.full((len(truth), n_classes), -np.inf)
    for train_rows, test_rows in folds_of(truth, settings.folds, settings.seed):
        train_rows = train_rows[truth[train_rows] < n_classes]
        weights, intercept = _fit(features[train_rows], truth[train_rows], n_classes, settings)
        margins[test_rows] = features[test_rows] @ weights.T + intercept
    empty = ~np.isfinite(margins).any(axis=1)
    margins[empty] = 0.0
    return margins


def _fit(features: sparse.csr_matrix, truth: np.ndarray, n_classes: int,
         settings: LearningSettings) -> tuple[np.ndarray, np.ndarray]:
    """Fit the SVM; return (weights classes x features, intercept) over all ``n_classes`` columns.

    A class absent from ``truth`` gets intercept -inf; with two classes present the single decision function
    becomes two opposite margins.
    """
    present = np.unique(truth)
    weights = np.zeros((n_classes, features.shape[1]))
    intercept = np.full(n_classes, -np.inf)
    if len(present) == 0:
        return weights, np.zeros(n_classes)
    if len(present) == 1:
        intercept[present[0]] = 0.0
        return weights, intercept
    svm = LinearSVC(C=settings.svm_c, dual=True, max_iter=5000, tol=1e-3, random_state=settings.seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning on tiny, separable sets
        svm.fit(features, truth)
    coef, bias = svm.coef_, svm.intercept_
    if len(present) == 2:
        coef, bias = np.vstack([-coef, coef]), np.r_[-bias, bias]
    weights[present] = coef
    intercept[present] = bias
    return weights, intercept
