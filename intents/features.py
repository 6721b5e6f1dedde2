"""Lexical TF-IDF features, serialisable as a JSON vocabulary plus an idf array.

Two analyzers: word-bounded character n-grams (robust to typos and rare terms) and words, with
Chinese runs segmented by jieba so that Chinese gets word features too.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache
from itertools import repeat

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer

_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# Han runs, or runs of other word characters: "App老是闪退" is "App" + "老是闪退" (then jieba).
_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\W\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+",
                   re.UNICODE)


def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def prepare() -> None:
    """Load the Chinese word segmenter's dictionary now (about 1 s): a server calls this before it
    opens, so its first Chinese message does not wait for it."""
    _jieba().initialize()


def words(text: str) -> list[str]:
    """Lower-cased words; runs of Han characters are segmented with jieba."""
    out: list[str] = []
    for tok in _WORD.findall(text.lower()):
        if _HAN_RUN.fullmatch(tok):
            out.extend(w for w in _jieba().lcut(tok) if w.strip())
        else:
            out.append(tok)
    return out


@lru_cache(maxsize=8)
def _char_analyzer(ngram_range: tuple[int, int]) -> Callable[[str], list[str]]:
    return CountVectorizer(analyzer="char_wb", ngram_range=ngram_range, lowercase=True).build_analyzer()


@lru_cache(maxsize=16384)
def analyse(analyzer: str, ngram_range: tuple[int, int], text: str) -> tuple[tuple[str, ...], np.ndarray]:
    """The distinct n-grams (or words) of `text` and their counts (float32, read-only), in order of
    first appearance. Cached: the intent, urgency and complexity models each read a message's
    n-grams (with the same analyzer, other vocabularies), so a turn analyses its text once
    instead of three times."""
    counted = Counter(words(text) if analyzer == "words" else _char_analyzer(ngram_range)(text))
    counts = np.fromiter(counted.values(), dtype=np.float32, count=len(counted))
    counts.flags.writeable = False  # shared by every caller through the cache
    return tuple(counted), counts


def unit_tfidf(counts: np.ndarray, idf: np.ndarray, indptr: np.ndarray) -> np.ndarray:
    """Sublinear TF-IDF weights of sparse rows, each row scaled to unit length: `counts` and `idf`
    per stored entry, `indptr` the rows' bounds (CSR)."""
    data = (1.0 + np.log(np.asarray(counts, dtype=np.float32))) * idf
    rows = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
    norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=len(indptr) - 1)).astype(np.float32)
    return (data / norms[rows]).astype(np.float32)


class Tfidf:
    """Sublinear TF-IDF over `analyzer` ("char_wb" n-grams or "words"), L2-normalised."""

    def __init__(self, analyzer: str = "char_wb", ngram_range: tuple[int, int] = (1, 4), min_df: int = 1,
                 max_features: int | None = 60000):
        self.analyzer = analyzer
        self.ngram_range = tuple(ngram_range)
        self.min_df = min_df
        self.max_features = max_features

    def fit(self, texts: Sequence[str]) -> "Tfidf":
        kw = dict(analyzer=words) if self.analyzer == "words" else dict(analyzer="char_wb", ngram_range=self.ngram_range,
                                                                          lowercase=True)
        cv = CountVectorizer(min_df=self.min_df, max_features=self.max_features, dtype=np.float32, **kw)
        counts = cv.fit_transform(texts)
        self.vocabulary_ = {k: int(v) for k, v in cv.vocabulary_.items()}
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        self.idf_ = (np.log((1 + counts.shape[0]) / (1 + df)) + 1.0).astype(np.float32)
        return self

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """Sublinear TF-IDF rows of `texts`, L2-normalised (what `CountVectorizer` with this
        vocabulary, then the weighting, gives; built directly: a message is one short row, and
        the vectorizer's own checks cost more than the row)."""
        indptr = np.zeros(len(texts) + 1, dtype=np.int64)
        indices: list[int] = []
        counts: list[int] = []
        for i, text in enumerate(texts):
            row = sorted(self._known(text))
            indices += [j for j, _ in row]
            counts += [c for _, c in row]
            indptr[i + 1] = len(indices)
        idx = np.asarray(indices, dtype=np.int32)
        return sparse.csr_matrix((unit_tfidf(counts, self.idf_[idx], indptr), idx, indptr),
                                 shape=(len(texts), len(self.idf_)))

    def _known(self, text: str) -> list[tuple[int, int]]:
        """(feature, count) of the text's n-grams (or words) in the vocabulary."""
        vocab = self.vocabulary_
        grams, counts = analyse(self.analyzer, self.ngram_range, text)
        return [(j, int(c)) for gram, c in zip(grams, counts.tolist()) if (j := vocab.get(gram)) is not None]

    def dot(self, texts: Sequence[str], W: np.ndarray) -> np.ndarray:
        """`transform(texts) @ W` (W: features x columns), without building the sparse matrix:
        for a message, making and checking a one-row sparse matrix and dispatching its product
        cost more than the product (a turn takes six of them: three models, two analyzers)."""
        out = np.zeros((len(texts), W.shape[1]), dtype=np.float32)
        lookup = self.vocabulary_.get
        for i, text in enumerate(texts):
            grams, counts = analyse(self.analyzer, self.ngram_range, text)
            # The vocabulary looked up in one C-level pass (-1: not in it), in the analysis's order.
            idx = np.fromiter(map(lookup, grams, repeat(-1)), dtype=np.int64, count=len(grams))
            known = idx >= 0
            if not known.any():
                continue
            idx = idx[known]
            out[i] = unit_tfidf(counts[known], self.idf_[idx], np.array([0, len(idx)])) @ W[idx]
        return out

    def to_json(self) -> dict:
        return {"analyzer": self.analyzer, "ngram_range": list(self.ngram_range), "min_df": self.min_df,
                "max_features": self.max_features, "vocabulary": self.vocabulary_}

    @classmethod
    def from_json(cls, d: dict, idf: np.ndarray) -> "Tfidf":
        obj = cls(d.get("analyzer", "char_wb"), tuple(d["ngram_range"]), d["min_df"], d["max_features"])
        obj.vocabulary_ = {k: int(v) for k, v in d["vocabulary"].items()}
        obj.idf_ = np.asarray(idf, dtype=np.float32)
        return obj
