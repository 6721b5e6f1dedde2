"""Training: fit the classifier, calibrate confidences and thresholds on a held-out part, refit."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot.model import TriageModel
from bot.policy import Thresholds
from bot.settings import Settings
from bot.training_data import OUT_OF_SCOPE, TrainingData
from intents.calibration import answer_threshold, fit_platt, oos_answer_cap, scope_threshold
from intents.classifier import IntentClassifier
from escalation.urgency import UrgencyThresholds
from intents.encoder import Embedder, EncoderInfo
from kb_index.retrieval import FaqIndex
from kb_index.store import FaqEntry, faq_id_of


PROB_WEIGHTS = (0.3, 0.5, 0.7, 1.0)


def choose_prob_weight(prob: np.ndarray, near: np.ndarray, correct: np.ndarray,
                       is_oos: np.ndarray | None = None) -> float:
    """The mix of class probability and nearest-example similarity that best ranks correct
    decisions above wrong ones and above out-of-scope queries (mean of the two ROC AUCs on
    out-of-sample scores, so a few out-of-scope examples count as much as many in-scope ones)."""
    from sklearn.metrics import roc_auc_score

    is_oos = np.zeros(len(correct), bool) if is_oos is None else is_oos
    groups = [~is_oos, correct | is_oos]  # correct vs wrong in scope; correct vs out of scope
    groups = [g for g in groups if correct[g].any() and not correct[g].all()]
    if not groups:
        return 0.5

    def quality(w: float) -> float:
        score = w * prob + (1 - w) * near
        return float(np.mean([roc_auc_score(correct[g], score[g]) for g in groups]))

    return max(PROB_WEIGHTS, key=quality)


def stratified_folds(labels: Sequence[str], k: int, seed: int) -> list[np.ndarray]:
    """Stratified fold assignment: each label's examples dealt round-robin after a shuffle."""
    rng = np.random.default_rng(seed)
    fold = np.zeros(len(labels), dtype=int)
    by: dict[str, list[int]] = defaultdict(list)
    for i, lab in enumerate(labels):
        by[lab].append(i)
    offset = 0
    for lab in sorted(by):
        idx = np.array(by[lab])
        rng.shuffle(idx)
        fold[idx] = (np.arange(len(idx)) + offset) % k
        offset += len(idx)
    return [np.where(fold == f)[0] for f in range(k)]


def calibration_splits(labels: Sequence[str], settings: Settings) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, held-out) pairs for calibration: K folds on small data (every example is held out
    once, so thresholds rest on many points), one stratified hold-out on large data (speed)."""
    if len(labels) <= settings.cv_calibration_max_examples:
        k = settings.calibration_folds
        all_idx = np.arange(len(labels))
        return [(np.setdiff1d(all_idx, f), f) for f in stratified_folds(labels, k, settings.seed) if len(f)]
    return [stratified_holdout(labels, settings.holdout_fraction, settings.seed)]


def stratified_holdout(labels: Sequence[str], fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, held-out). Labels with fewer than 3 examples stay wholly in training."""
    rng = np.random.default_rng(seed)
    by_label: dict[str, list[int]] = defaultdict(list)
    for i, lab in enumerate(labels):
        by_label[lab].append(i)
    held: list[int] = []
    for lab in sorted(by_label):
        idx = np.array(by_label[lab])
        if len(idx) < 3:
            continue
        rng.shuffle(idx)
        h = min(max(1, int(round(fraction * len(idx)))), len(idx) - 2)
        held.extend(idx[:h].tolist())
    held_arr = np.array(sorted(held), dtype=np.int64)
    mask = np.ones(len(labels), bool)
    mask[held_arr] = False
    return np.where(mask)[0], held_arr


@dataclass(frozen=True)
class HoldoutReport:
    n: int
    in_scope_accuracy: float
    oos_recall: float | None
    answer_coverage: float
    answer_precision: float | None
    answer_target_reached: bool

    def to_json(self) -> dict:
        return self.__dict__.copy()


def _sub_faqs(faqs: list[FaqEntry], keep_texts: set[str]) -> list[FaqEntry]:
    out = []
    for e in faqs:
        qs = [q for q in e.questions if q in keep_texts]
        if qs:
            out.append(FaqEntry(e.id, qs, e.answers, e.lang, e.tags, e.complexity, e.priority))
    return out


def _faq_vectors(faqs: list[FaqEntry], text_vec: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {e.id: np.vstack([text_vec[q] for q in e.questions]) for e in faqs}


def _classifier(settings: Settings, prob_weight: float = 0.5) -> IntentClassifier:
    return IntentClassifier(prob_weight=prob_weight, seed=settings.seed)


MIN_LANGUAGE_HELD_OUT = 150


def _per_language(texts, ho, conf, correct, is_oos, t_answer, t_confirm, settings) -> dict[str, tuple[float, float]]:
    """Thresholds calibrated on each language's own held-out messages, where there are enough
    (the encoder may be much better at one language than another). The answer threshold never
    drops below the global one: one language's small sample cannot promise more precision."""
    from bot.language import detect_language

    langs = np.array([detect_language(texts[i]) for i in ho])
    out: dict[str, tuple[float, float]] = {}
    for lang in sorted(set(langs.tolist())):
        m = langs == lang
        if (m & ~is_oos).sum() < MIN_LANGUAGE_HELD_OUT:
            continue
        a = answer_threshold(conf[m], correct[m], settings.answer_precision)
        a = max(a, t_answer) if a is not None else 1.0
        c = scope_threshold(conf[m & ~is_oos], correct[m & ~is_oos], conf[m & is_oos],
                            keep_share=settings.scope_keep_share, recall_weight=settings.scope_recall_weight)
        out[lang] = (float(a), float(min(c, a)))
    return out


def fit_model(data: TrainingData, X: np.ndarray, embedder: Embedder, settings: Settings) -> TriageModel:
    """Fit on examples whose embeddings are `X` (same order as `data.examples`)."""
    texts = [e.text for e in data.examples]
    labels = np.array([e.label for e in data.examples])
    in_scope = sorted(set(labels.tolist()) - {OUT_OF_SCOPE})
    if len(in_scope) < 2:
        from bot.errors import DataError

        raise DataError(f"need at least two intents or FAQ entries to train, found {len(in_scope)}")
    text_vec = {t: X[i] for i, t in enumerate(texts)}
    splits = calibration_splits(labels.tolist(), settings)

    # 1. Out-of-sample scores: each calibration item is scored by a classifier that never saw it,
    #    and FAQ phrasings are searched in an index built without them.
    ho_parts, prob_parts, near_parts, pred_parts, top_scores, top_ok, floor_scores = [], [], [], [], [], [], []
    clf_h = None
    for tr, ho in splits:
        clf_h = _classifier(settings).fit(X[tr], [texts[i] for i in tr], labels[tr], vocabulary_texts=texts)
        s = clf_h.score(X[ho], [texts[i] for i in ho])
        ho_parts.append(ho)
        prob_parts.append(s.top_probs[:, 0])
        near_parts.append(s.top_near[:, 0])
        pred_parts.append(np.array([row[0] for row in s.top_labels]))
        faq_tr = _sub_faqs(data.faqs, {texts[i] for i in tr})
        index = FaqIndex(embedder).build(faq_tr, _faq_vectors(faq_tr, text_vec))
        for hs, truth in zip(index.search(X[ho], [texts[i] for i in ho], k=10), labels[ho]):
            fid = faq_id_of(truth)
            if hs:
                top_scores.append(hs[0].score)
                top_ok.append(hs[0].faq_id == fid)
            if fid is not None:
                floor_scores.append(next((h.score for h in hs if h.faq_id == fid), 0.0))
    ho = np.concatenate(ho_parts)
    prob, near = np.concatenate(prob_parts), np.concatenate(near_parts)
    pred = np.concatenate(pred_parts)
    truth = labels[ho]
    is_oos = truth == OUT_OF_SCOPE
    correct = (pred == truth) & ~is_oos

    # 2. Choose how much the nearest-example similarity counts (it helps reject unseen topics when
    #    the encoder knows the language, and hurts where it does not), calibrate, then thresholds.
    prob_weight = choose_prob_weight(prob, near, correct, is_oos)
    raw = prob_weight * prob + (1 - prob_weight) * near
    platt = fit_platt(raw, correct)
    conf = platt(raw)
    t_answer = answer_threshold(conf, correct, settings.answer_precision)
    reached = t_answer is not None
    if t_answer is not None and is_oos.any():
        t_answer = max(t_answer, oos_answer_cap(conf[is_oos], settings.max_out_of_scope_answered))
    if t_answer is None:
        t_answer = 1.0  # never answer without a person confirming: no threshold met the target
    t_confirm = min(scope_threshold(conf[~is_oos], correct[~is_oos], conf[is_oos],
                                    keep_share=settings.scope_keep_share,
                                    recall_weight=settings.scope_recall_weight), t_answer)
    by_language = _per_language(texts, ho, conf, correct, is_oos, t_answer, t_confirm, settings)
    ret_platt = fit_platt(np.array(top_scores), np.array(top_ok, dtype=bool))
    # An FAQ answer needs retrieval support at least as strong as 95% of true matches get.
    floor = float(np.quantile(floor_scores, 0.05)) if floor_scores else 0.0

    answered = conf >= t_answer
    report = HoldoutReport(
        n=int(len(ho)),
        in_scope_accuracy=float(np.mean(correct[~is_oos] & (conf[~is_oos] >= t_confirm))) if (~is_oos).any() else 0.0,
        oos_recall=float(np.mean(conf[is_oos] < t_confirm)) if is_oos.any() else None,
        answer_coverage=float(np.mean(answered[~is_oos])) if (~is_oos).any() else 0.0,
        answer_precision=float(np.mean(correct[answered])) if answered.any() else None,
        answer_target_reached=reached,
    )

    # 3. Final fit on everything, warm-started from the held-out fit.
    clf = _classifier(settings, prob_weight).fit(X, texts, labels, vocabulary_texts=texts, warm_start_from=clf_h)
    meta = dict(data.intent_meta)
    return TriageModel(
        encoder=embedder.info(),
        classifier=clf,
        calibration=platt,
        retrieval_calibration=ret_platt,
        thresholds=Thresholds(answer=float(t_answer), confirm=float(t_confirm), retrieval_floor=floor,
                              by_language=by_language),
        meta=meta,
        faqs=list(data.faqs),
        faq_vectors=_faq_vectors(data.faqs, text_vec),
        report={"holdout": report.to_json(), "answer_precision_target": settings.answer_precision,
                "n_examples": len(texts), "prob_weight": prob_weight, "n_labels": len(in_scope),
                "has_out_of_scope_examples": bool((labels == OUT_OF_SCOPE).any())},
    )


def fit_labels(texts: list[str], labels: list[str], X: np.ndarray, settings: Settings,
               positive: str) -> tuple[IntentClassifier | None, dict]:
    """A classifier over message-level labels (urgency, complexity), with out-of-fold accuracy and
    the recall/precision of the `positive` class reported. The most likely class counts."""
    if len(set(labels)) < 2 or len(texts) < 10:
        return None, {}
    y = np.array(labels)
    pred = np.empty(len(texts), dtype=object)
    for fold in stratified_folds(labels, 5, settings.seed):
        tr = np.setdiff1d(np.arange(len(texts)), fold)
        if len(set(y[tr].tolist())) < 2:
            continue
        clf = IntentClassifier(seed=settings.seed).fit(X[tr], [texts[i] for i in tr], y[tr], vocabulary_texts=texts)
        P = clf.predict_proba(X[fold], [texts[i] for i in fold])
        pred[fold] = np.array(clf.classes_)[P.argmax(axis=1)]
    pos, flagged = y == positive, pred == positive
    report = {"n": len(texts), "oof_accuracy": float(np.mean(pred == y)),
              f"oof_{positive.lower()}_recall": float(np.mean(flagged[pos])) if pos.any() else None,
              f"oof_{positive.lower()}_precision": float(np.mean(pos[flagged])) if flagged.any() else None}
    return IntentClassifier(seed=settings.seed).fit(X, texts, y), report


def fit_urgency(texts: list[str], labels: list[str], X: np.ndarray, settings: Settings
                ) -> tuple[IntentClassifier | None, UrgencyThresholds, dict]:
    """Train the message-urgency classifier on `- priority:` examples. No threshold is tuned: with a
    few hundred examples, out-of-fold probabilities run lower than the final model's."""
    model, report = fit_labels(texts, labels, X, settings, "P0")
    return model, UrgencyThresholds(), report


def train(data: TrainingData, embedder: Embedder, settings: Settings, progress: bool = False) -> TriageModel:
    texts = [e.text for e in data.examples]
    ptexts = [e.text for e, _ in data.priority_examples]
    # Complexity is learnt from the `- complexity:` blocks and, where those exist, also from every
    # intent example labelled with its intent's complexity: most messages are plain questions, and
    # the model must see plenty of them not to call an ordinary question complex.
    cpairs = [(e.text, c.value) for e, c in data.complexity_examples]
    if cpairs:
        seen = {t for t, _ in cpairs}
        cpairs += [(e.text, data.intent_meta[e.label].complexity.value) for e in data.examples
                   if e.label in data.intent_meta and e.text not in seen]
    ctexts = [t for t, _ in cpairs]
    X_all = embedder.encode_document(texts + ptexts + ctexts, progress=progress)
    n, m = len(texts), len(texts) + len(ptexts)
    model = fit_model(data, X_all[:n], embedder, settings)
    urgency, thresholds, report = fit_urgency(ptexts, [p.value for _, p in data.priority_examples],
                                              X_all[n:m], settings)
    model.urgency, model.urgency_thresholds, model.urgency_texts = urgency, thresholds, ptexts
    model.report["urgency"] = report
    model.complexity, model.report["complexity"] = fit_labels(
        ctexts, [c for _, c in cpairs], X_all[m:], settings, "complex")
    return model


def check_encoder(model_encoder: EncoderInfo, configured: EncoderInfo) -> None:
    from bot.errors import EncoderError

    if not model_encoder.same_encoder(configured):
        raise EncoderError(
            f"model was trained with encoder {model_encoder.name!r} (sha256 {model_encoder.weights_sha256[:12]}…, "
            f"dim {model_encoder.dim}) but the configured encoder is {configured.name!r} "
            f"(sha256 {configured.weights_sha256[:12]}…, dim {configured.dim}); set TRIAGE_ENCODER to the "
            f"training encoder or retrain")
