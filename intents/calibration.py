"""Pure functions that turn raw scores into calibrated confidences and routing thresholds."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Platt:
    """confidence = sigmoid(a * score + m * margin + b), fitted on held-out (score, margin,
    was-correct) triples. `margin` is a candidate's class probability minus the best other
    class's (positive for the top candidate): a clear winner is more often right than a close
    call with the same score. With m = 0 this is plain Platt scaling."""

    a: float = 1.0
    b: float = 0.0
    m: float = 0.0

    def __call__(self, score, margin=None):
        z = self.a * np.asarray(score, dtype=np.float64) + self.b
        if margin is not None and self.m:
            z = z + self.m * np.asarray(margin, dtype=np.float64)
        z = np.clip(z, -50, 50)
        return 1.0 / (1.0 + np.exp(-z))

    def to_json(self) -> dict:
        return {"a": self.a, "b": self.b, "m": self.m}

    @classmethod
    def from_json(cls, d: dict) -> "Platt":
        return cls(float(d["a"]), float(d["b"]), float(d.get("m", 0.0)))


def fit_platt(scores: np.ndarray, correct: np.ndarray, margin: np.ndarray | None = None) -> Platt:
    """Logistic fit of correctness on score (and margin, when given). Degenerate inputs give a
    steep identity-like map; a margin that does not add to the score's signal is left out."""
    scores = np.asarray(scores, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    if len(scores) == 0 or correct.all() or not correct.any():
        return Platt(a=10.0, b=-5.0)
    from sklearn.linear_model import LogisticRegression

    if margin is not None:
        F = np.column_stack([scores, np.asarray(margin, dtype=np.float64)])
        lr = LogisticRegression(C=100.0).fit(F, correct.astype(int))
        a, m = float(lr.coef_[0, 0]), float(lr.coef_[0, 1])
        if a > 0 and m >= 0:
            return Platt(a=a, b=float(lr.intercept_[0]), m=m)
    lr = LogisticRegression(C=100.0).fit(scores.reshape(-1, 1), correct.astype(int))
    a = float(lr.coef_[0, 0])
    if a <= 0:  # a score that does not rise with correctness carries no signal; stay monotone
        return Platt(a=10.0, b=-5.0)
    return Platt(a=a, b=float(lr.intercept_[0]))


def precision_lower_bound(correct: int, n: int, confidence: float = 0.95) -> float:
    """One-sided Clopper–Pearson lower bound on a proportion: with `correct` of `n` answers right,
    the true precision is at least this with probability `confidence`. 0 when n is 0."""
    if n <= 0 or correct <= 0:
        return 0.0
    from scipy.stats import beta

    return float(beta.ppf(1.0 - confidence, correct, n - correct + 1))


@dataclass(frozen=True)
class AnswerCut:
    """What answering at `threshold` did on calibration messages."""

    threshold: float
    answered: int
    correct: int
    lower_bound: float  # Clopper–Pearson lower bound on precision

    @property
    def precision(self) -> float:
        return self.correct / self.answered if self.answered else 0.0


def answer_cuts(conf: np.ndarray, correct: np.ndarray, confidence: float = 0.95) -> list[AnswerCut]:
    """Every cut between distinct confidence values, most confident first."""
    conf = np.asarray(conf, dtype=np.float64)
    correct = np.asarray(correct, dtype=bool)
    if len(conf) == 0:
        return []
    order = np.argsort(-conf, kind="stable")
    c, ok = conf[order], correct[order]
    tp = np.cumsum(ok)
    last_of_value = np.r_[c[1:] != c[:-1], True]
    from scipy.stats import beta

    n = np.arange(1, len(c) + 1)
    with np.errstate(invalid="ignore"):
        lb = np.where(tp > 0, beta.ppf(1.0 - confidence, np.maximum(tp, 1), n - tp + 1), 0.0)
    return [AnswerCut(float(c[i]), int(n[i]), int(tp[i]), float(lb[i])) for i in np.where(last_of_value)[0]]


def answer_threshold(conf: np.ndarray, correct: np.ndarray, target: float,
                     confidence: float = 0.95) -> AnswerCut | None:
    """The lowest threshold whose answers reach `target` precision with `confidence`: the
    Clopper–Pearson lower bound of their precision is at least the target, so a small set cannot
    promise more than it shows (with no error at all, 99% at 95% confidence takes 299 answers).

    Items are calibration messages; `correct` is False for wrong intents and for out-of-scope
    messages. None when no threshold reaches the target.
    """
    good = [c for c in answer_cuts(conf, correct, confidence) if c.lower_bound >= target]
    return good[-1] if good else None


def best_supported(conf: np.ndarray, correct: np.ndarray, confidence: float = 0.95) -> AnswerCut | None:
    """The cut with the highest precision lower bound: the most the data can promise."""
    cuts = answer_cuts(conf, correct, confidence)
    return max(cuts, key=lambda c: (c.lower_bound, c.answered)) if cuts else None


def scope_threshold(conf_in: np.ndarray, correct_in: np.ndarray, conf_oos: np.ndarray,
                    keep_share: float = 0.99, recall_weight: float = 0.5) -> float:
    """Threshold below which a query is treated as out of scope.

    It never turns away more than 1 - `keep_share` of the correctly classified held-out in-scope
    queries: their count is large and stable, while out-of-scope examples are usually few, so a
    handful of them must not move the threshold far. Without out-of-scope examples, the threshold
    is exactly that quantile. With them, it is the threshold within that limit that maximises
    in-scope accuracy + `recall_weight` x out-of-scope recall (below it a query escalates; above
    it, it is at least offered as a "Did you mean…?", whose cost when wrong is one click).
    """
    conf_in = np.asarray(conf_in, dtype=np.float64)
    correct_in = np.asarray(correct_in, dtype=bool)
    conf_oos = np.asarray(conf_oos, dtype=np.float64)
    if len(conf_in) == 0:
        return 0.0
    good = conf_in[correct_in]
    limit = float(np.quantile(good, 1.0 - keep_share)) if len(good) else 0.0
    if len(conf_oos) == 0:
        return limit
    cands = np.unique(np.r_[conf_in, conf_oos, 0.0])
    best_t, best = 0.0, -1.0
    for t in cands[cands <= limit]:
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
