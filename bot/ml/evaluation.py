"""Evaluation metrics over decisions. Pure: decisions and gold labels in, a typed report out."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from bot.core.vocabulary import OUT_OF_SCOPE, IntentMeta
from bot.ml.policy import Decision, Route


@dataclass
class IntentScore:
    intent: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass
class EvalReport:
    n: int
    n_in_scope: int
    n_out_of_scope: int
    in_scope_accuracy: float
    out_of_scope_recall: float | None
    answer_coverage: float
    answer_precision: float | None
    out_of_scope_answered: float | None
    route_shares: dict[str, float]
    per_intent: list[IntentScore]
    priority_labels: list[str] = field(default_factory=list)
    priority_confusion: list[list[int]] | None = None  # rows: gold P0..P2, columns: predicted
    priority_accuracy: float | None = None
    p0_recall: float | None = None
    p0_precision: float | None = None
    p0_not_to_person: int | None = None  # gold P0 messages routed anywhere but to a person
    p0_answered: int | None = None  # gold P0 messages the bot answered outright
    by_language: dict[str, dict] = field(default_factory=dict)
    complexity_labels: list[str] = field(default_factory=list)
    complexity_confusion: list[list[int]] | None = None  # rows: gold simple/medium/complex
    complex_not_to_person: int | None = None  # gold complex messages not routed to a person
    #: Route outcomes per gold complexity (simple / medium / complex / out_of_scope), overall and
    #: per language: what a simple question, a medium one, a complex one and an unknown one got.
    by_complexity: dict[str, dict] = field(default_factory=dict)
    #: What the model's thresholds rest on (`bot.ml.calibrate.CalibrationReport`), when known.
    calibration: dict | None = None
    risk_coverage: list[tuple[float, float, float]] = field(default_factory=list)  # (threshold, coverage, precision)
    misclassified: list[dict] = field(default_factory=list)
    confusion_labels: list[str] = field(default_factory=list)
    confusion: list[list[int]] = field(default_factory=list)

    def summary(self) -> dict:
        d = asdict(self)
        for k in ("per_intent", "risk_coverage", "misclassified", "confusion", "confusion_labels"):
            d.pop(k)
        return d

    def to_json(self) -> dict:
        return asdict(self)


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f


def risk_coverage(conf: np.ndarray, correct: np.ndarray, in_scope: np.ndarray, points: int = 50):
    """(threshold, share of in-scope queries answered, answer precision) as the threshold moves."""
    out = []
    for t in np.unique(np.quantile(conf, np.linspace(0, 1, points))) if len(conf) else []:
        ans = conf >= t
        cov = float(np.mean(ans[in_scope])) if in_scope.any() else 0.0
        prec = float(np.mean(correct[ans])) if ans.any() else 1.0
        out.append((float(t), cov, prec))
    return out


def _confusion(pairs, labels: list[str], predicted) -> np.ndarray:
    """Rows: gold label; columns: `predicted(decision)`."""
    m = np.zeros((len(labels), len(labels)), dtype=int)
    for gold, d in pairs:
        m[labels.index(gold), labels.index(predicted(d))] += 1
    return m


def _p0_figures(pairs: Sequence[tuple[str, Decision]]) -> dict:
    gold = [g == "P0" for g, _ in pairs]
    pred = [d.priority.value == "P0" for _, d in pairs]
    if not pairs:
        return {}
    tp = sum(a and b for a, b in zip(gold, pred))
    return {
        "p0_recall": tp / sum(gold) if any(gold) else None,
        "p0_precision": tp / sum(pred) if any(pred) else None,
        "p0_not_to_person": sum(1 for g, (_, d) in zip(gold, pairs) if g and d.route is not Route.ESCALATE),
        "p0_answered": sum(1 for g, (_, d) in zip(gold, pairs) if g and d.route is Route.ANSWER),
    }


def _outcomes(pairs: Sequence[tuple[str, Decision]]) -> dict:
    n = len(pairs)
    ans_ok = sum(1 for g, d in pairs if d.route is Route.ANSWER and d.intent == g)
    ans_bad = sum(1 for g, d in pairs if d.route is Route.ANSWER and d.intent != g)
    conf_ok = sum(1 for g, d in pairs if d.route is Route.CONFIRM and d.intent == g)
    conf_bad = sum(1 for g, d in pairs if d.route is Route.CONFIRM and d.intent != g)
    esc = sum(1 for _, d in pairs if d.route is Route.ESCALATE)
    rate = lambda x: x / n if n else None  # noqa: E731
    return {"n": n, "answered_right": ans_ok, "answered_wrong": ans_bad, "confirmed_right": conf_ok,
            "confirmed_other": conf_bad, "escalated": esc,
            "answered_right_share": rate(ans_ok), "confirmed_right_share": rate(conf_ok), "escalated_share": rate(esc),
            "wrong_share_of_answered": ans_bad / (ans_ok + ans_bad) if ans_ok + ans_bad else None}


def outcomes_by_complexity(decisions: Sequence[Decision], gold: Sequence[str],
                           meta: Mapping[str, IntentMeta]) -> dict[str, dict]:
    """Route outcomes grouped by the gold label's complexity (its metadata; `out_of_scope` apart),
    overall and per language. Targets read off it: simple questions answered rightly, medium ones
    confirmed with the right intent, complex ones escalated, out-of-scope ones never answered."""
    def group(label: str) -> str:
        return OUT_OF_SCOPE if label == OUT_OF_SCOPE else meta.get(label, IntentMeta()).complexity.value

    out: dict[str, dict] = {}
    for name in ("simple", "medium", "complex", OUT_OF_SCOPE):
        pairs = [(g, d) for g, d in zip(gold, decisions) if group(g) == name]
        if not pairs:
            continue
        row = _outcomes(pairs)
        row["by_language"] = {lang: _outcomes([(g, d) for g, d in pairs if d.lang == lang])
                              for lang in sorted({d.lang for _, d in pairs})}
        out[name] = row
    return out


def evaluate_decisions(decisions: Sequence[Decision], gold: Sequence[str],
                       priority_pairs: Sequence[tuple[str, Decision]] = (),
                       complexity_pairs: Sequence[tuple[str, Decision]] = (),
                       meta: Mapping[str, IntentMeta] | None = None,
                       calibration: dict | None = None) -> EvalReport:
    """`gold` holds intent labels (`out_of_scope` for negatives); `priority_pairs` are
    (gold priority, decision) for every message that has a priority label; `meta` (the triage
    metadata of the labels) adds the outcomes per complexity."""
    pred = [d.intent if d.intent is not None else OUT_OF_SCOPE for d in decisions]
    gold = list(gold)
    g = np.array(gold)
    p = np.array(pred)
    in_scope = g != OUT_OF_SCOPE
    oos = ~in_scope
    correct = (p == g) & in_scope
    routes = np.array([d.route.value for d in decisions])
    answered = routes == Route.ANSWER.value
    conf = np.array([d.confidence for d in decisions], dtype=float)

    labels = sorted(set(gold) | set(pred))
    per = []
    for lab in labels:
        tp = int(np.sum((p == lab) & (g == lab)))
        fp = int(np.sum((p == lab) & (g != lab)))
        fn = int(np.sum((p != lab) & (g == lab)))
        pr, rc, f1 = _prf(tp, fp, fn)
        per.append(IntentScore(lab, pr, rc, f1, int(np.sum(g == lab))))
    pos = {lab: i for i, lab in enumerate(labels)}
    cm = np.zeros((len(labels), len(labels)), dtype=int)
    for a, b in zip(gold, pred):
        cm[pos[a], pos[b]] += 1

    prio_labels, prio_cm, prio_acc = [], None, None
    if priority_pairs:
        prio_labels = ["P0", "P1", "P2"]
        m = _confusion(priority_pairs, prio_labels, lambda d: d.priority.value)
        prio_cm = m.tolist()
        prio_acc = float(np.trace(m) / m.sum()) if m.sum() else None
    p0 = _p0_figures(priority_pairs)
    cx_labels, cx_cm, cx_missed = [], None, None
    if complexity_pairs:
        cx_labels = ["simple", "medium", "complex"]
        cx_cm = _confusion(complexity_pairs, cx_labels, lambda d: d.complexity.value).tolist()
        cx_missed = sum(1 for g, d in complexity_pairs if g == "complex" and d.route is not Route.ESCALATE)

    by_lang = {}
    langs = np.array([d.lang for d in decisions])
    for lang in sorted(set(langs.tolist())):
        m_ = langs == lang
        ins, oo = m_ & in_scope, m_ & oos
        by_lang[lang] = {
            "n": int(m_.sum()),
            "in_scope_accuracy": float(np.mean(correct[ins])) if ins.any() else None,
            "out_of_scope_recall": float(np.mean(p[oo] == OUT_OF_SCOPE)) if oo.any() else None,
            "answer_coverage": float(np.mean(answered[ins])) if ins.any() else None,
            "answer_precision": float(np.mean(correct[m_ & answered])) if (m_ & answered).any() else None,
            "out_of_scope_answered": float(np.mean(answered[oo])) if oo.any() else None,
        }
    mis = [{"text": d.text, "gold": gl, "predicted": pl, "confidence": round(float(d.confidence), 4),
            "route": d.route.value} for d, gl, pl in zip(decisions, gold, pred) if gl != pl]
    return EvalReport(
        n=len(gold),
        n_in_scope=int(in_scope.sum()),
        n_out_of_scope=int(oos.sum()),
        in_scope_accuracy=float(np.mean(correct[in_scope])) if in_scope.any() else 0.0,
        out_of_scope_recall=float(np.mean(p[oos] == OUT_OF_SCOPE)) if oos.any() else None,
        answer_coverage=float(np.mean(answered[in_scope])) if in_scope.any() else 0.0,
        answer_precision=float(np.mean(correct[answered])) if answered.any() else None,
        out_of_scope_answered=float(np.mean(answered[oos])) if oos.any() else None,
        route_shares={r.value: float(np.mean(routes == r.value)) for r in Route},
        per_intent=per,
        priority_labels=prio_labels,
        priority_confusion=prio_cm,
        priority_accuracy=prio_acc,
        by_language=by_lang,
        complexity_labels=cx_labels,
        complexity_confusion=cx_cm,
        complex_not_to_person=cx_missed,
        by_complexity=outcomes_by_complexity(decisions, gold, meta) if meta is not None else {},
        calibration=calibration,
        **p0,
        risk_coverage=risk_coverage(conf, correct, in_scope),
        misclassified=mis,
        confusion_labels=labels,
        confusion=cm.tolist(),
    )
