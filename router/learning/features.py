"""Features of a complaint for the learned model: the router's own tokens as word and character n-grams, plus
the keyword router's per-agency scores.

Text goes through the routing table's normaliser first (the same folding of slang, affixes and typos the
keyword router uses), so "jln berlobang" and "jalan berlubang" give the same features. Then:

- word n-grams: unigrams and bigrams of the canonical tokens;
- character n-grams: 3- to 5-grams of each token padded with spaces (like scikit-learn's ``char_wb``), which
  keeps unknown spellings close to known ones;
- tf-idf: sublinear term frequency (1 + log tf) times smoothed idf, each block (words, characters) scaled to
  unit length, as ``TfidfVectorizer(sublinear_tf=True)`` does;
- keyword scores: for every agency log(1 + score) of its keyword candidate, the keyword confidence on the
  keyword router's first candidate, and log(1 + weight) of the out-of-scope terms that matched.

One function builds a document's features, for training (many) and routing (one), so the two cannot drift; a
vocabulary is a plain ``dict`` and the idf a numpy array, which skops stores without custom types.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
from scipy import sparse

from router.decision import Decision
from router.learning.scope import out_of_scope_weight

CHAR_SIZES = (3, 4, 5)
_MEMO_LIMIT = 100_000


def char_grams(token: str) -> list[str]:
    """Return the character n-grams (``c xyz``) of one token padded with spaces, sizes ``CHAR_SIZES``."""
    padded = f" {token} "
    return ["c " + padded[i : i + size] for size in CHAR_SIZES for i in range(len(padded) - size + 1)]


def word_grams(tokens: Sequence[str]) -> list[str]:
    """Return the word unigrams (``w token``) and bigrams (``b first second``) of a token list."""
    grams = [f"w {token}" for token in tokens]
    grams.extend(f"b {first} {second}" for first, second in zip(tokens, tokens[1:], strict=False))
    return grams


def text_terms(tokens: Sequence[str]) -> tuple[Counter[str], Counter[str]]:
    """Return the word n-gram and character n-gram counts of a token list.

    Args:
        tokens: canonical tokens from ``Normalizer.tokens``.

    Returns:
        (word n-grams, character n-grams), see ``word_grams`` and ``char_grams``.
    """
    chars: Counter[str] = Counter()
    for token in tokens:
        chars.update(char_grams(token))
    return Counter(word_grams(tokens)), chars


def keyword_features(decision: Decision, codes: Sequence[str], oos_weights: dict[str, float]) -> np.ndarray:
    """Return the keyword router's evidence as a dense vector of ``len(codes) + 2`` numbers.

    Args:
        decision: the keyword router's decision for the text.
        codes: the agency codes in model order.
        oos_weights: out-of-scope term label -> weight (see ``out_of_scope_weights``).

    Returns:
        log(1 + score) per agency, then the keyword confidence placed on the first candidate's agency is
        folded in as one number (the confidence), then log(1 + out-of-scope weight).
    """
    vector = np.zeros(len(codes) + 2)
    index = {code: i for i, code in enumerate(codes)}
    for candidate in decision.candidates:
        position = index.get(candidate["agency"])
        if position is not None:
            vector[position] = math.log1p(max(candidate["score"], 0.0))
    vector[-2] = decision.confidence
    vector[-1] = math.log1p(out_of_scope_weight(decision, oos_weights))
    return vector


class TextVectorizer:
    """Word and character n-gram tf-idf over canonical tokens, with a vocabulary fitted on examples.

    Attributes:
        vocabulary: n-gram -> column.
        idf: smoothed idf per column, ``log((1 + n) / (1 + df)) + 1``.
        char_start: the first character n-gram column (columns before it are word n-grams).
    """

    def __init__(self, vocabulary: dict[str, int] | None = None, idf: np.ndarray | None = None,
                 char_start: int = 0) -> None:
        self.vocabulary = vocabulary or {}
        self.idf = idf if idf is not None else np.zeros(0)
        self.char_start = char_start
        self._memo: dict[str, np.ndarray] = {}

    @property
    def width(self) -> int:
        """Number of text columns."""
        return len(self.vocabulary)

    def fit(self, documents: Sequence[Sequence[str]], min_df: int = 1) -> TextVectorizer:
        """Fit the vocabulary and idf on token lists; n-grams in fewer than ``min_df`` documents are dropped."""
        word_df: Counter[str] = Counter()
        char_df: Counter[str] = Counter()
        for tokens in documents:
            words, chars = text_terms(tokens)
            word_df.update(words.keys())
            char_df.update(chars.keys())
        word_terms = sorted(t for t, df in word_df.items() if df >= min_df)
        char_terms = sorted(t for t, df in char_df.items() if df >= min_df)
        self.vocabulary = {term: i for i, term in enumerate(word_terms + char_terms)}
        self.char_start = len(word_terms)
        df = np.array([word_df[t] for t in word_terms] + [char_df[t] for t in char_terms], dtype=np.float64)
        self.idf = np.log((1.0 + len(documents)) / (1.0 + df)) + 1.0
        self._memo = {}
        return self

    def row(self, tokens: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Return (columns ascending, values) of one document: sublinear tf-idf, each block of unit length.

        The known character n-gram columns of each token are memoised, so a steady stream of messages costs
        a few dictionary lookups per word and one sort.
        """
        vocabulary = self.vocabulary
        memo = self._memo
        if len(memo) > _MEMO_LIMIT:
            memo.clear()
        parts = [np.fromiter((c for c in map(vocabulary.get, word_grams(tokens)) if c is not None), np.int32)]
        for token in tokens:
            known = memo.get(token)
            if known is None:
                found = (vocabulary.get(gram) for gram in char_grams(token))
                known = memo[token] = np.fromiter((c for c in found if c is not None), np.int32)
            parts.append(known)
        found = np.concatenate(parts)
        if not len(found):
            return found, np.zeros(0)
        found.sort()
        new = np.empty(len(found), dtype=bool)
        new[0] = True
        np.not_equal(found[1:], found[:-1], out=new[1:])
        starts = np.flatnonzero(new)
        columns = found[starts]
        counts = np.diff(starts, append=len(found))
        values = (1.0 + np.log(counts)) * self.idf[columns]
        split = int(np.searchsorted(columns, self.char_start))
        for block in (values[:split], values[split:]):
            norm = math.sqrt(float(np.dot(block, block)))
            if norm > 0:
                block /= norm
        return columns, values

    def matrix(self, documents: Sequence[Sequence[str]], extra: np.ndarray | None = None) -> sparse.csr_matrix:
        """Return the tf-idf rows of token lists as a CSR matrix (documents x ``width``), with the dense
        columns ``extra`` (documents x k) appended after the text columns when given (one matrix, no copy)."""
        extra_width = 0 if extra is None else extra.shape[1]
        tail = np.arange(self.width, self.width + extra_width, dtype=np.int32)
        indptr = [0]
        columns: list[np.ndarray] = []
        values: list[np.ndarray] = []
        for i, tokens in enumerate(documents):
            cols, vals = self.row(tokens)
            if extra is not None:
                cols, vals = np.concatenate([cols, tail]), np.concatenate([vals, extra[i]])
            columns.append(cols)
            values.append(vals)
            indptr.append(indptr[-1] + len(cols))
        data = np.concatenate(values) if values else np.zeros(0)
        indices = np.concatenate(columns) if columns else np.zeros(0, dtype=np.int32)
        shape = (len(documents), self.width + extra_width)
        matrix = sparse.csr_matrix((data, indices, np.asarray(indptr)), shape=shape)
        matrix.eliminate_zeros()
        return matrix
