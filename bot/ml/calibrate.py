"""From out-of-sample scores to calibrated confidences and routing thresholds, with a report of
what they rest on.

Pure: scores of calibration messages in (each scored by a model that never trained on it), the
fitted maps, thresholds and a `CalibrationReport` out. Where the scores come from (a calibration
set written apart from the training data, or a hold-out of the training data) is the caller's
business (`bot.ml.training`).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np

from bot.core.settings import TrainingSettings
from bot.core.vocabulary import OUT_OF_SCOPE, Complexity, IntentMeta
from bot.ml.policy import Thresholds
from intents.calibration import (
    AnswerCut,
    Platt,
    answer_threshold,
    best_supported,
    fit_platt,
    oos_answer_cap,
    scope_threshold,
)

PROB_WEIGHTS = (0.3, 0.5, 0.7, 1.0)
#: A language gets thresholds of its own where it has at least this many in-scope calibration messages.
MIN_LANGUAGE_HELD_OUT = 150


@dataclass
class HeldOutScores:
    """Per calibration message: its gold label and language, and the classifier's top candidate
    (label, class probability, nearest-example similarity); per FAQ-labelled message, the
    retrieval score of its true entry; per message, the retriever's top score and whether its
    entry was right."""

    truth: np.ndarray
    lang: np.ndarray
    pred: np.ndarray
    prob: np.ndarray
    near: np.ndarray
    margin: np.ndarray  # top class probability minus the second's
    retrieval_top: np.ndarray
    retrieval_top_ok: np.ndarray
    retrieval_true: np.ndarray  # score of the true FAQ entry, for FAQ-labelled messages

    @classmethod
    def concat(cls, parts: Sequence["HeldOutScores"]) -> "HeldOutScores":
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__))


@dataclass(frozen=True)
class CalibrationReport:
    """What the thresholds rest on: the source, its size, and what answering did there."""

    source: str
    n: int
    n_in_scope: int
    n_out_of_scope: int
    target: float  # the configured answer precision
    confidence: float  # of the precision lower bound
    target_supported: bool
    applied_target: float | None  # the target the answer threshold was set for; None: confirm only
    answer_threshold: float
    confirm_threshold: float
    answered: int
    answered_correct: int
    precision_lower_bound: float | None
    best_lower_bound: float  # the most these messages can promise at any threshold
    answer_coverage: float
    out_of_scope_answered: int
    in_scope_accuracy: float
    out_of_scope_recall: float | None
    prob_weight: float
    scope_weight: float = 0.5
    out_of_scope_cap: float = 0.01
    out_of_scope_cap_measured: bool = True

    @property
    def precision(self) -> float | None:
        return self.answered_correct / self.answered if self.answered else None

    def to_json(self) -> dict:
        return {**asdict(self), "precision": self.precision}

    @classmethod
    def from_json(cls, d: Mapping) -> "CalibrationReport":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})

    def describe(self) -> list[str]:
        """Plain lines for `triage train` and `triage evaluate`: the source, the answer cut and,
        when the target could not be supported, one line that says so."""
        pct = lambda x: "n/a" if x is None else f"{100 * x:.1f}%"  # noqa: E731
        lines = [f"thresholds rest on: {self.source}, n={self.n} ({self.n_in_scope} in scope, "
                 f"{self.n_out_of_scope} out of scope)"]
        if self.applied_target is None:
            lines.append(f"answer: never (threshold {self.answer_threshold:.3f}); confirm >= {self.confirm_threshold:.3f}")
        else:
            lines.append(
                f"answer >= {self.answer_threshold:.3f}: {self.answered_correct}/{self.answered} right, precision "
                f"{pct(self.precision)} ({self.confidence:.0%} lower bound {pct(self.precision_lower_bound)}), "
                f"coverage {pct(self.answer_coverage)}, out-of-scope answered {self.out_of_scope_answered}; "
                f"confirm >= {self.confirm_threshold:.3f}")
        if self.n_out_of_scope and not self.out_of_scope_cap_measured:
            lines.append(f"note: {self.n_out_of_scope} out-of-scope messages cannot measure the "
                         f"{self.out_of_scope_cap:.0%} cap on out-of-scope answers (that needs "
                         f"{int(np.ceil(1 / self.out_of_scope_cap))}); the precision bound limits them")
        if not self.target_supported:
            fallback = (f"answers carry \"Did this solve it?\" and are held to the {self.applied_target:.0%} follow-up "
                        "target instead" if self.applied_target is not None
                        else "the bot confirms instead of answering")
            lines.append(f"warning: these {self.n} messages cannot support {self.target:.1%} answer precision "
                         f"(at most {pct(self.best_lower_bound)} at {self.confidence:.0%} confidence): {fallback}; "
                         "add calibration messages (calibration.yml) to reach the target")
        return lines


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, score))


def choose_prob_weight(prob: np.ndarray, near: np.ndarray, correct: np.ndarray,
                       is_oos: np.ndarray | None = None) -> float:
    """The mix of class probability and nearest-example similarity that best ranks correct
    decisions above wrong ones and above out-of-scope queries (mean of the two ROC AUCs on
    out-of-sample scores, so a few out-of-scope examples count as much as many in-scope ones)."""
    is_oos = np.zeros(len(correct), bool) if is_oos is None else is_oos
    groups = [~is_oos, correct | is_oos]  # correct vs wrong in scope; correct vs out of scope
    groups = [g for g in groups if correct[g].any() and not correct[g].all()]
    if not groups:
        return 0.5

    def quality(w: float) -> float:
        score = w * prob + (1 - w) * near
        return float(np.mean([_auc(correct[g], score[g]) for g in groups]))

    return max(PROB_WEIGHTS, key=quality)


def choose_scope_weight(prob: np.ndarray, near: np.ndarray, correct: np.ndarray, is_oos: np.ndarray,
                        default: float) -> float:
    """The mix that best tells rightly classified messages from out-of-scope ones (ROC AUC): what
    the scope decision needs. Without out-of-scope messages, `default`."""
    g = correct | is_oos
    if not is_oos.any() or not correct.any():
        return default
    return max(PROB_WEIGHTS, key=lambda w: _auc(correct[g], (w * prob + (1 - w) * near)[g]))


@dataclass(frozen=True)
class Calibrated:
    """Everything calibration decides: the score mixes, the maps to calibrated confidences, the
    thresholds, and the report of what they rest on."""

    prob_weight: float
    scope_weight: float
    confidence: Platt  # mixed score and margin -> P(top intent right)
    scope: Platt  # scope mix -> P(top intent right), on which the scope threshold sits
    retrieval: Platt  # FAQ retrieval score -> confidence (entries new since training)
    thresholds: Thresholds
    report: CalibrationReport


def answerable(pred: np.ndarray, meta: Mapping[str, IntentMeta], is_small_talk: Callable[[str], bool]) -> np.ndarray:
    """Messages whose top candidate the bot could answer outright on confidence alone: a simple
    intent or entry that is not small talk (complex ones go to a person, medium ones are
    confirmed, small talk is answered whatever the threshold)."""
    def ok(label: str) -> bool:
        m = meta.get(label, IntentMeta())
        return m.complexity is Complexity.SIMPLE and not is_small_talk(label)

    return np.array([ok(p) for p in pred.tolist()], dtype=bool)


def _cut(conf, correct, settings: TrainingSettings) -> tuple[AnswerCut | None, float | None, bool]:
    """(cut, target it meets, whether that is the configured target)."""
    cut = answer_threshold(conf, correct, settings.answer_precision, settings.calibration_confidence)
    if cut is not None:
        return cut, settings.answer_precision, True
    fallback = min(settings.followup_answer_precision, settings.answer_precision)
    cut = answer_threshold(conf, correct, fallback, settings.calibration_confidence)
    return cut, (fallback if cut is not None else None), False


def calibrate(scores: HeldOutScores, meta: Mapping[str, IntentMeta], settings: TrainingSettings, source: str,
              is_small_talk: Callable[[str], bool] = lambda label: False) -> Calibrated:
    """Fit the confidence maps and thresholds on calibration messages' scores."""
    s = scores
    is_oos = s.truth == OUT_OF_SCOPE
    correct = (s.pred == s.truth) & ~is_oos
    prob_weight = choose_prob_weight(s.prob, s.near, correct, is_oos)
    raw = prob_weight * s.prob + (1 - prob_weight) * s.near
    platt = fit_platt(raw, correct, s.margin)
    conf = platt(raw, s.margin)
    scope_weight = choose_scope_weight(s.prob, s.near, correct, is_oos, prob_weight)
    scope_raw = scope_weight * s.prob + (1 - scope_weight) * s.near
    scope_platt = fit_platt(scope_raw, correct)
    scope_conf = scope_platt(scope_raw)
    ans = answerable(s.pred, meta, is_small_talk)

    cut, applied, supported = _cut(conf[ans], correct[ans], settings)
    t_answer = cut.threshold if cut is not None else 1.0
    oos_ans = is_oos & ans
    # The cap on out-of-scope messages answered is measured only where the set can resolve it
    # (at least 1/cap out-of-scope messages: one message must be at most the cap). Below that,
    # one near miss would decide the threshold alone; the precision bound, which counts every
    # answered out-of-scope message as a wrong answer, limits them instead.
    cap = settings.max_out_of_scope_answered
    oos_cap_measured = bool(is_oos.any()) and int(is_oos.sum()) * cap >= 1.0
    if cut is not None and oos_ans.any() and oos_cap_measured:
        t_answer = max(t_answer, oos_answer_cap(conf[oos_ans], cap * is_oos.sum() / oos_ans.sum()))
    t_confirm = scope_threshold(scope_conf[~is_oos], correct[~is_oos], scope_conf[is_oos],
                                keep_share=settings.scope_keep_share, recall_weight=settings.scope_recall_weight)
    by_language = _per_language(s.lang, conf, scope_conf, correct, is_oos, ans, t_answer, applied, settings)

    ret_platt = fit_platt(s.retrieval_top, s.retrieval_top_ok.astype(bool))
    # An FAQ answer needs retrieval support at least as strong as 95% of true matches get.
    floor = float(np.quantile(s.retrieval_true, 0.05)) if len(s.retrieval_true) else 0.0

    answered = ans & (conf >= t_answer) & (scope_conf >= t_confirm) & (applied is not None)
    best = best_supported(conf[ans], correct[ans], settings.calibration_confidence)
    n_ans, n_ok = int(answered.sum()), int((answered & correct).sum())
    from intents.calibration import precision_lower_bound

    report = CalibrationReport(
        source=source, n=int(len(s.truth)), n_in_scope=int((~is_oos).sum()), n_out_of_scope=int(is_oos.sum()),
        target=settings.answer_precision, confidence=settings.calibration_confidence,
        target_supported=supported, applied_target=applied,
        answer_threshold=float(t_answer), confirm_threshold=float(t_confirm),
        answered=n_ans, answered_correct=n_ok,
        precision_lower_bound=precision_lower_bound(n_ok, n_ans, settings.calibration_confidence) if n_ans else None,
        best_lower_bound=best.lower_bound if best else 0.0,
        answer_coverage=float(np.mean(answered[~is_oos])) if (~is_oos).any() else 0.0,
        out_of_scope_answered=int((answered & is_oos).sum()),
        in_scope_accuracy=float(np.mean(correct[~is_oos] & (scope_conf[~is_oos] >= t_confirm)))
        if (~is_oos).any() else 0.0,
        out_of_scope_recall=float(np.mean(scope_conf[is_oos] < t_confirm)) if is_oos.any() else None,
        prob_weight=prob_weight, scope_weight=scope_weight,
        out_of_scope_cap=cap, out_of_scope_cap_measured=oos_cap_measured,
    )
    thresholds = Thresholds(answer=float(t_answer), confirm=float(t_confirm), retrieval_floor=floor,
                            by_language=by_language)
    return Calibrated(prob_weight, scope_weight, platt, scope_platt, ret_platt, thresholds, report)


def _per_language(langs, conf, scope_conf, correct, is_oos, ans, t_answer, applied, settings
                  ) -> dict[str, tuple[float, float]]:
    """Thresholds calibrated on each language's own messages, where there are enough (the encoder
    may be much better at one language than another). The answer threshold never drops below the
    global one: one language's smaller sample cannot promise more precision."""
    out: dict[str, tuple[float, float]] = {}
    for lang in sorted(set(langs.tolist())):
        m = langs == lang
        if (m & ~is_oos).sum() < MIN_LANGUAGE_HELD_OUT:
            continue
        a = 1.0
        if applied is not None:
            cut = answer_threshold(conf[m & ans], correct[m & ans], applied, settings.calibration_confidence)
            a = max(cut.threshold, t_answer) if cut is not None else 1.0
        c = scope_threshold(scope_conf[m & ~is_oos], correct[m & ~is_oos], scope_conf[m & is_oos],
                            keep_share=settings.scope_keep_share, recall_weight=settings.scope_recall_weight)
        out[lang] = (float(a), float(c))
    return out
