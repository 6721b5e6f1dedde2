"""Lexical TF-IDF features, serialisable as a JSON vocabulary plus an idf array.

Two analyzers: word-bounded character n-grams (robust to typos and rare terms) and words, with
Chinese runs segmented by jieba so that Chinese gets word features too.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.preprocessing import normalize

_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
# Han runs, or runs of other word characters: "App老是闪退" is "App" + "老是闪退" (then jieba).
_WORD = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\W\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+",
                   re.UNICODE)


def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    return jieba


def words(text: str) -> list[str]:
    """Lower-cased words; runs of Han characters are segmented with jieba."""
    out: list[str] = []
    for tok in _WORD.findall(text.lower()):
        if _HAN_RUN.fullmatch(tok):
            out.extend(w for w in _jieba().lcut(tok) if w.strip())
        else:
            out.append(tok)
    return out


class Tfidf:
    """Sublinear TF-IDF over `analyzer` ("char_wb" n-grams or "words"), L2-normalised."""

    def __init__(self, analyzer: str = "char_wb", ngram_range: tuple[int, int] = (1, 4), min_df: int = 1,
                 max_features: int | None = 60000):
        self.analyzer = analyzer
        self.ngram_range = tuple(ngram_range)
        self.min_df = min_df
        self.max_features = max_features

    def _counter(self, vocabulary=None) -> CountVectorizer:
        kw = dict(analyzer=words) if self.analyzer == "words" else dict(analyzer="char_wb", ngram_range=self.ngram_range,
                                                                          lowercase=True)
        return CountVectorizer(min_df=1 if vocabulary is not None else self.min_df,
                               max_features=None if vocabulary is not None else self.max_features,
                               vocabulary=vocabulary, dtype=np.float32, **kw)

    def fit(self, texts: Sequence[str]) -> "Tfidf":
        cv = self._counter()
        counts = cv.fit_transform(texts)
        self.vocabulary_ = {k: int(v) for k, v in cv.vocabulary_.items()}
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        self.idf_ = (np.log((1 + counts.shape[0]) / (1 + df)) + 1.0).astype(np.float32)
        self._cv = self._counter(self.vocabulary_)
        return self

    def transform(self, texts: Sequence[str]) -> sparse.csr_matrix:
        counts = self._cv.transform(texts).astype(np.float32).tocsr()
        counts.data = (1.0 + np.log(counts.data)) * self.idf_[counts.indices]
        return normalize(counts, copy=False)

    def to_json(self) -> dict:
        return {"analyzer": self.analyzer, "ngram_range": list(self.ngram_range), "min_df": self.min_df,
                "max_features": self.max_features, "vocabulary": self.vocabulary_}

    @classmethod
    def from_json(cls, d: dict, idf: np.ndarray) -> "Tfidf":
        obj = cls(d.get("analyzer", "char_wb"), tuple(d["ngram_range"]), d["min_df"], d["max_features"])
        obj.vocabulary_ = {k: int(v) for k, v in d["vocabulary"].items()}
        obj.idf_ = np.asarray(idf, dtype=np.float32)
        obj._cv = obj._counter(obj.vocabulary_)
        return obj
