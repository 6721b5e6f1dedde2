"""Pure functions that turn raw scores into calibrated confidences and routing thresholds."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Platt:
    """confidence = sigmoid(a * score + b), fitted on held-out (score, was-correct) pairs."""

    a: float = 1.0
    b: float = 0.0

    def __call__(self, score):
        z = np.clip(self.a * np.asarray(score, dtype=np.float64) + self.b, -50, 50)
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict:
        return {"a": self.a, "b": self.b}

    @classmethod
    def from_json(cls, d: dict) -> "Platt":
        return cls(float(d["a"]), float(d["b"]))


def fit_platt(scores: np.ndarray, correct: np.ndarray) -> Platt:
    """Logistic fit of correctness on score. Degenerate inputs give a steep identity-like map."""
    scores = np.asarray(scores, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    if len(scores) == 0 or correct.all() or not correct.any():
        return Platt(a=10.0, b=-5.0)
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=100.0).fit(scores.reshape(-1, 1), correct.astype(int))
    a = float(lr.coef_[0, 0])
    if a <= 0:  # a score that does not rise with correctness carries no signal; stay monotone
        return Platt(a=10.0, b=-5.0)
    return Platt(a=a, b=float(lr.intercept_[0]))


def answer_threshold(conf: np.ndarray, correct: np.ndarray, target: float) -> float | None:
    """Lowest threshold whose answered set reaches `target` precision, counting one extra error.

    The extra error keeps small held-out sets honest: 99% needs at least ~100 clean answers.
    Items are held-out queries; `correct` is False for wrong intents and for out-of-scope queries.
    Returns None when no threshold reaches the target.
    """
    conf = np.asarray(conf, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    if len(conf) == 0:
        return None
    order = np.argsort(-conf, kind="stable")
    c, ok = conf[order], correct[order]
    tp = np.cumsum(ok)
    n = np.arange(1, len(c) + 1)
    prec = tp / (n + 1)
    # Only cut between distinct confidence values.
    last_of_value = np.r_[c[1:] != c[:-1], True]
    good = np.where((prec >= target) & last_of_value)[0]
    if len(good) == 0:
        return None
    return float(c[good[-1]])


def scope_threshold(conf_in: np.ndarray, correct_in: np.ndarray, conf_oos: np.ndarray,
                    keep_share: float = 0.95, recall_weight: float = 0.5) -> float:
    """Threshold below which a query is treated as out of scope.

    With out-of-scope examples, maximise in-scope accuracy + `recall_weight` x out-of-scope
    recall. Below this threshold a query escalates; above it, it is at least offered as a
    "Did you mean…?", whose cost when wrong is one click, so recall counts less than accuracy.
    Without out-of-scope examples, keep `keep_share` of the correctly classified held-out
    in-scope queries.
    """
    conf_in = np.asarray(conf_in, dtype=np.float64)
    correct_in = np.asarray(correct_in, dtype=bool)
    conf_oos = np.asarray(conf_oos, dtype=np.float64)
    if len(conf_in) == 0:
        return 0.0
    if len(conf_oos) == 0:
        good = conf_in[correct_in]
        return float(np.quantile(good, 1.0 - keep_share)) if len(good) else 0.0
    cands = np.unique(np.r_[conf_in, conf_oos, 0.0])
    best_t, best = 0.0, -1.0
    for t in cands:
        acc = float(np.mean(correct_in & (conf_in >= t)))
        rec = float(np.mean(conf_oos < t))
        if acc + recall_weight * rec > best:
            best, best_t = acc + recall_weight * rec, float(t)
    # Cut half-way to the next lower score so a held-out in-scope item at exactly t stays in.
    below = cands[cands < best_t]
    return float((best_t + below.max()) / 2) if len(below) else best_t


def oos_answer_cap(conf_oos: np.ndarray, max_share: float) -> float:
    """Lowest threshold that answers at most `max_share` of the out-of-scope queries."""
    conf_oos = np.sort(np.asarray(conf_oos, dtype=np.float64))[::-1]
    allowed = int(np.floor(max_share * len(conf_oos)))
    if allowed >= len(conf_oos):
        return 0.0
    # Answering needs conf >= t, so t sits just above the (allowed+1)-th highest score.
    return float(np.nextafter(conf_oos[allowed], np.inf))
