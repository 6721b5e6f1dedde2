"""Intent classifier over sentence embeddings and character n-grams.

A multinomial logistic regression reads the embedding and character n-gram TF-IDF of a text.
Its raw confidence for a class mixes the class probability with how close the text lies to that
class's nearest training examples; the nearness term is what keeps unseen topics (out of scope)
from borrowing a confident probability. Raw scores are mapped to calibrated confidences by
`intents.calibration` at training time.

Follows scikit-learn's estimator contract: `__init__` stores parameters, `fit` returns self,
learned attributes end in `_`.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from bot.core.vocabulary import FAQ_ANY, OUT_OF_SCOPE
from intents.features import Tfidf


@dataclass(frozen=True)
class Scores:
    """Per query: the in-scope classes ranked, their probabilities and raw mixed scores."""

    top_labels: list[list[str]]
    top_probs: np.ndarray  # (n, k)
    top_near: np.ndarray  # (n, k) mean similarity to the class's nearest training examples
    top_raw: np.ndarray  # (n, k) mixed score in [0, 1], fed to calibration
    top_margin: np.ndarray  # (n, k) probability minus the best other class's (top: p1 - p2; others: pj - p1)
    top_scope: np.ndarray  # (n, k) mixed score that decides scope (weighted by `scope_weight`)


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class IntentClassifier:
    def __init__(self, C: float = 10.0, knn_k: int = 5, prob_weight: float = 0.5,
                 ngram_range: tuple[int, int] = (1, 4), max_iter: int = 300, seed: int = 13,
                 scope_weight: float | None = None, class_weight: str | None = None):
        self.C = C
        self.knn_k = knn_k
        self.prob_weight = prob_weight
        #: The mix for the scope decision (in scope or not), which leans more on nearness than
        #: the choice between intents does; None: the same as `prob_weight`.
        self.scope_weight = scope_weight
        #: "balanced": every class weighs the same in the fit, however many examples it has.
        self.class_weight = class_weight
        self.ngram_range = ngram_range
        self.max_iter = max_iter
        self.seed = seed

    # -- training ----------------------------------------------------------------------------
    def fit_vocabulary(self, texts: Sequence[str]) -> "IntentClassifier":
        """Learn the n-gram vocabularies (and IDF) from `texts`."""
        min_df = 2 if len(texts) > 5000 else 1
        self.chars_ = Tfidf("char_wb", self.ngram_range, min_df=min_df).fit(texts)
        self.words_ = Tfidf("words", min_df=min_df).fit(texts)
        return self

    def lexical(self, texts: Sequence[str]) -> sparse.csr_matrix:
        """The n-gram features of `texts` (character then word TF-IDF)."""
        return sparse.hstack([self.chars_.transform(texts), self.words_.transform(texts)], format="csr")

    def fit(self, X: np.ndarray, texts: Sequence[str], labels: Sequence[str],
            vocabulary_texts: Sequence[str] | None = None,
            warm_start_from: "IntentClassifier | None" = None,
            vocabulary_from: "IntentClassifier | None" = None,
            lexical: sparse.csr_matrix | None = None) -> "IntentClassifier":
        """Fit on embeddings `X` of `texts`. The n-gram vocabulary comes from `vocabulary_texts`
        (default: `texts`), so a held-out fit and the final fit can share it and warm-start;
        `vocabulary_from` reuses another classifier's instead, and `lexical` passes the texts'
        n-gram features already computed with it (fits on folds of the same texts)."""
        from sklearn.linear_model import LogisticRegression

        labels = np.asarray(labels)
        classes = sorted(set(labels.tolist()))
        if len([c for c in classes if c != OUT_OF_SCOPE]) < 2:
            raise ValueError("need at least two in-scope intents to train")
        self.classes_ = classes
        if vocabulary_from is not None:
            self.chars_, self.words_ = vocabulary_from.chars_, vocabulary_from.words_
        else:
            self.fit_vocabulary(list(vocabulary_texts) if vocabulary_texts is not None else list(texts))
        F = self._features(X, texts, lexical)
        y = np.searchsorted(classes, labels)
        lr = LogisticRegression(C=self.C, max_iter=self.max_iter, random_state=self.seed, class_weight=self.class_weight,
                                warm_start=warm_start_from is not None)
        if warm_start_from is not None and warm_start_from.chars_.vocabulary_ == self.chars_.vocabulary_ \
                and warm_start_from.words_.vocabulary_ == self.words_.vocabulary_ \
                and warm_start_from.classes_ == classes:
            lr.coef_ = warm_start_from.coef_.astype(np.float64)
            lr.intercept_ = warm_start_from.intercept_.astype(np.float64)
        lr.fit(F, y)
        coef, intercept = lr.coef_, lr.intercept_
        if coef.shape[0] == 1:  # binary: sklearn keeps one row; softmax([-z/2, z/2]) = [σ(-z), σ(z)]
            coef = np.vstack([-coef / 2, coef / 2])
            intercept = np.r_[-intercept / 2, intercept / 2]
        self.coef_ = coef.astype(np.float32)
        self.intercept_ = intercept.astype(np.float32)
        # Nearness is measured to in-scope examples; that of "some FAQ entry" comes from the
        # retrieval index, which holds every phrasing (bot.ml.policy.resolve_faq_any).
        keep = ~np.isin(labels, [OUT_OF_SCOPE, FAQ_ANY])
        self.train_X_ = np.ascontiguousarray(X[keep], dtype=np.float32)
        self.train_y_ = y[keep].astype(np.int32)
        self._index_classes()
        return self

    def _index_classes(self) -> None:
        # Feature-major copy of the weights: sparse @ dense wants it contiguous, and making it
        # per call would copy the whole matrix for every message.
        self._coef_t = np.ascontiguousarray(self.coef_.T)
        self._class_rows = {int(c): np.where(self.train_y_ == c)[0] for c in np.unique(self.train_y_)}
        self._oos_idx = self.classes_.index(OUT_OF_SCOPE) if OUT_OF_SCOPE in self.classes_ else None

    def _features(self, X: np.ndarray, texts: Sequence[str], lexical: sparse.csr_matrix | None = None
                  ) -> sparse.csr_matrix:
        return sparse.hstack([sparse.csr_matrix(X), self.lexical(texts) if lexical is None else lexical],
                             format="csr")

    # -- inference ---------------------------------------------------------------------------
    @property
    def in_scope_labels(self) -> list[str]:
        return [c for c in self.classes_ if c != OUT_OF_SCOPE]

    def lexical_scores(self, texts: Sequence[str]) -> np.ndarray:
        """The n-grams' part of the class scores (`predict_proba` adds the embedding's): it needs
        no query vectors, so a turn computes it while the encoder runs."""
        W, c = self._coef_t, len(self.words_.idf_)
        d = W.shape[0] - len(self.chars_.idf_) - c
        return self.chars_.dot(texts, W[d:W.shape[0] - c]) + self.words_.dot(texts, W[W.shape[0] - c:])

    def predict_proba(self, X: np.ndarray, texts: Sequence[str], lexical: sparse.csr_matrix | None = None,
                      lexical_scores: np.ndarray | None = None) -> np.ndarray:
        """`lexical`: the texts' n-gram features (`lexical`), or `lexical_scores`: their part of the
        scores, when already computed."""
        # The embedding's part and the n-grams' part of the product apart: stacking a dense row
        # onto a sparse one per message cost more than the product itself.
        W, d = self._coef_t, X.shape[1]
        z = np.asarray(X, dtype=np.float32) @ W[:d]
        if lexical is not None:
            z += lexical @ W[d:]
        else:
            z += self.lexical_scores(texts) if lexical_scores is None else lexical_scores
        return _softmax(z + self.intercept_)

    def score(self, X: np.ndarray, texts: Sequence[str], k: int = 3,
              lexical_scores: np.ndarray | None = None) -> Scores:
        """Top-k in-scope classes per query with probability and raw mixed score."""
        P = self.predict_proba(X, texts, lexical_scores=lexical_scores)
        if self._oos_idx is not None:
            P[:, self._oos_idx] = -1.0  # never a candidate; its mass stays out of the others
        k = min(k, len(self.in_scope_labels))
        top = np.argsort(-P, axis=1)[:, :max(k, 2)]
        probs2 = np.take_along_axis(P, top, axis=1)
        top, probs = top[:, :k], probs2[:, :k]
        margin = probs - probs2[:, :1]
        margin[:, 0] = probs2[:, 0] - probs2[:, 1]
        near_all = np.zeros_like(probs)
        for i in range(len(X)):
            for j in range(k):
                rows = self._class_rows.get(int(top[i, j]))
                if rows is None or len(rows) == 0:
                    continue
                sims = self.train_X_[rows] @ X[i]
                kk = min(self.knn_k, len(sims))
                near_all[i, j] = max(float(np.partition(sims, len(sims) - kk)[-kk:].mean()), 0.0)
        labels = [[self.classes_[c] for c in row] for row in top]
        raw = self.prob_weight * probs + (1 - self.prob_weight) * near_all
        sw = self.prob_weight if self.scope_weight is None else self.scope_weight
        return Scores(labels, probs, near_all, raw, margin, sw * probs + (1 - sw) * near_all)

    def nearest_example(self, label: str, x: np.ndarray) -> int | None:
        """Index (into the training examples of `fit`, out-of-scope ones excluded) of the training
        example of `label` most similar to the query vector `x`, or None when it has none."""
        if label not in self.classes_:
            return None
        rows = self._class_rows.get(self.classes_.index(label))
        if rows is None or len(rows) == 0:
            return None
        return int(rows[np.argmax(self.train_X_[rows] @ x)])

    # -- persistence (JSON + arrays; no pickle) ------------------------------------------------
    def to_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        meta = {
            "params": {"C": self.C, "knn_k": self.knn_k, "prob_weight": self.prob_weight, "scope_weight": self.scope_weight,
                       "class_weight": self.class_weight,
                       "ngram_range": list(self.ngram_range), "max_iter": self.max_iter, "seed": self.seed},
            "classes": self.classes_,
            "chars": self.chars_.to_json(),
            "words": self.words_.to_json(),
        }
        arrays = {"coef": self.coef_, "intercept": self.intercept_, "char_idf": self.chars_.idf_, "word_idf": self.words_.idf_,
                  "train_X": self.train_X_, "train_y": self.train_y_}
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict, arrays: dict[str, np.ndarray]) -> "IntentClassifier":
        p = meta["params"]
        obj = cls(C=p["C"], knn_k=p["knn_k"], prob_weight=p["prob_weight"], scope_weight=p.get("scope_weight"), class_weight=p.get("class_weight"),
                  ngram_range=tuple(p["ngram_range"]), max_iter=p["max_iter"], seed=p["seed"])
        obj.classes_ = list(meta["classes"])
        obj.chars_ = Tfidf.from_json(meta["chars"], arrays["char_idf"])
        obj.words_ = Tfidf.from_json(meta["words"], arrays["word_idf"])
        obj.coef_ = arrays["coef"]
        obj.intercept_ = arrays["intercept"]
        obj.train_X_ = arrays["train_X"]
        obj.train_y_ = arrays["train_y"]
        obj._index_classes()
        return obj
