"""Training: optionally fine-tune the encoder, fit the classifier, calibrate confidences and
thresholds on messages the model never trained on, and bundle everything as a `TriageModel`.

Calibration rests on one of two sources: a calibration set written apart from the training data
(`calibration.yml` in the data directory, or `--calibrate-on`), which looks like real traffic; or,
without one, a hold-out of the training data itself (K-fold out-of-fold scores on small data,
one stratified hold-out on large data or when the encoder is fine-tuned).
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.core.i18n import detect_language, registry
from bot.core.settings import TrainingSettings
from bot.core.vocabulary import FAQ_ANY, OUT_OF_SCOPE, IntentMeta, faq_id_of
from bot.ml.calibrate import HeldOutScores, calibrate
from bot.ml.model import TriageModel, TunedEncoder
from bot.ml.policy import resolve_faq_any
from bot.ml.training_data import TrainingData, check_calibration
from escalation.urgency import UrgencyThresholds
from intents.classifier import IntentClassifier
from intents.encoder import Embedder
from kb_index.retrieval import FaqIndex
from kb_index.store import FaqEntry

Log = Callable[[str], None]


@dataclass(frozen=True)
class CalibrationSet:
    """Labelled messages kept apart from training, and where they came from."""

    data: TrainingData
    source: str


def calibration_set(data_dir: Path, calibrate_on: Path | None = None) -> CalibrationSet | None:
    """The calibration set for training on `data_dir`: `calibrate_on` (a file or directory) when
    given, else the calibration.yml files inside `data_dir`, else None."""
    from bot.ml.training_data import calibration_files, load_calibration_data

    if calibrate_on is not None:
        return CalibrationSet(load_calibration_data(calibrate_on), f"calibration set {calibrate_on}")
    files = calibration_files(data_dir)
    if not files:
        return None
    return CalibrationSet(load_calibration_data(files), "calibration set " + ", ".join(str(f) for f in files))


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


def stratified_holdout(labels: Sequence[str], fraction: float, seed: int,
                       fractions: dict[str, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, held-out). Labels with fewer than 3 examples stay wholly in training;
    `fractions` may hold out a different share of some labels."""
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
        f = (fractions or {}).get(lab, fraction)
        h = min(max(1, int(round(f * len(idx)))), len(idx) - 2)
        held.extend(idx[:h].tolist())
    held_arr = np.array(sorted(held), dtype=np.int64)
    mask = np.ones(len(labels), bool)
    mask[held_arr] = False
    return np.where(mask)[0], held_arr


def calibration_splits(labels: Sequence[str], settings: TrainingSettings, single: bool = False
                       ) -> tuple[list[tuple[np.ndarray, np.ndarray]], str]:
    """(train, held-out) pairs for calibration without a calibration set, and their description:
    K folds on small data (every example is held out once), one stratified hold-out on large data
    or when `single` (a fine-tuned encoder must not have seen the messages it is calibrated on)."""
    if len(labels) <= settings.cv_calibration_max_examples and not single:
        k = settings.calibration_folds
        all_idx = np.arange(len(labels))
        splits = [(np.setdiff1d(all_idx, f), f) for f in stratified_folds(labels, k, settings.seed) if len(f)]
        return splits, f"{k}-fold out-of-fold scores of the training data"
    # Out-of-scope examples are few and the scope threshold rests on them: hold out half of them.
    oos_share = max(settings.holdout_fraction, 0.5)
    split = stratified_holdout(labels, settings.holdout_fraction, settings.seed, {OUT_OF_SCOPE: oos_share})
    return [split], (f"a {settings.holdout_fraction:.0%} stratified hold-out of the training data "
                     f"({oos_share:.0%} of its out-of-scope examples)")


def sub_faqs(faqs: Sequence[FaqEntry], keep_texts: set[str]) -> list[FaqEntry]:
    """The FAQ entries restricted to the phrasings in `keep_texts` (entries left empty drop out)."""
    out = []
    for e in faqs:
        qs = [q for q in e.questions if q in keep_texts]
        if qs:
            out.append(FaqEntry(e.id, qs, e.answers, e.lang, e.tags, e.complexity, e.priority))
    return out


def _faq_vectors(faqs: list[FaqEntry], text_vec: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {e.id: np.vstack([text_vec[q] for q in e.questions]) for e in faqs}


def _classifier(settings: TrainingSettings) -> IntentClassifier:
    return IntentClassifier(seed=settings.seed)


def score_held_out(clf: IntentClassifier, index: FaqIndex, X: np.ndarray, texts: Sequence[str],
                   truth: Sequence[str]) -> HeldOutScores:
    """Scores of messages the classifier and the index were built without (with FAQ entries
    answered through retrieval, as the engine resolves them)."""
    all_hits, near = index.search_near(X, list(texts), k=10)
    s = resolve_faq_any(clf.score(X, list(texts), k=1), all_hits, near, clf.prob_weight, clf.scope_weight)
    top, top_ok, true_scores = [], [], []
    for hs, gold in zip(all_hits, truth):
        fid = faq_id_of(gold)
        top.append(hs[0].score if hs else 0.0)
        top_ok.append(bool(hs) and hs[0].faq_id == fid)
        if fid is not None:
            true_scores.append(next((h.score for h in hs if h.faq_id == fid), 0.0))
    return HeldOutScores(
        truth=np.array(list(truth), dtype=object), lang=np.array([detect_language(t) for t in texts], dtype=object),
        pred=np.array([row[0] for row in s.top_labels], dtype=object), prob=s.top_probs[:, 0], near=s.top_near[:, 0],
        margin=s.top_margin[:, 0],
        retrieval_top=np.array(top, dtype=np.float64), retrieval_top_ok=np.array(top_ok, dtype=bool),
        retrieval_true=np.array(true_scores, dtype=np.float64))


def classifier_labels(labels: np.ndarray, n_faqs: int, settings: TrainingSettings) -> np.ndarray:
    """The classifier's labels: FAQ entries as classes of their own, or, above
    `faq_classifier_max_entries` entries, as one class (`FAQ_ANY`) with retrieval naming the entry
    (training then grows with the phrasings, not with entries × phrasings)."""
    if n_faqs <= settings.faq_classifier_max_entries:
        return labels
    return np.array([FAQ_ANY if faq_id_of(label) else label for label in labels.tolist()], dtype=object)


def sample_faq_rows(idx: np.ndarray, labels: np.ndarray, cap: int, seed: int) -> np.ndarray:
    """`idx` with its FAQ rows (labels of FAQ entries or `FAQ_ANY`) cut to a seeded sample of at
    most `cap`; other rows all kept; sorted."""
    idx = np.asarray(idx, dtype=np.int64)
    is_faq = np.array([lab == FAQ_ANY or faq_id_of(lab) is not None for lab in labels[idx].tolist()], dtype=bool)
    if is_faq.sum() <= cap:
        return idx
    faq = idx[is_faq]
    pick = np.random.default_rng(seed).choice(len(faq), cap, replace=False)
    return np.sort(np.concatenate([idx[~is_faq], faq[pick]]))


def with_titles(data: TrainingData) -> dict[str, IntentMeta]:
    """Triage metadata with button titles for every intent, in every language its examples use:
    the intent's own `title` metadata where given, else its first example in that language
    (FAQ entries are titled from their live phrasings instead)."""
    meta = dict(data.intent_meta)
    firsts: dict[str, dict[str, str]] = defaultdict(dict)
    for e in data.examples:
        if e.label != OUT_OF_SCOPE and faq_id_of(e.label) is None:
            firsts[e.label].setdefault(detect_language(e.text), e.text)
    for label, by_lang in firsts.items():
        m = meta.get(label, IntentMeta())
        titles = dict(m.titles) if "*" in m.titles else {**by_lang, **m.titles}
        meta[label] = IntentMeta(m.complexity, m.priority, m.domain, m.small_talk, titles)
    return meta


def fit_model(data: TrainingData, X: np.ndarray, embedder: Embedder, settings: TrainingSettings,
              calibration: tuple[CalibrationSet, np.ndarray] | None = None,
              splits: tuple[list[tuple[np.ndarray, np.ndarray]], str] | None = None) -> TriageModel:
    """Fit on examples whose embeddings are `X` (same order as `data.examples`). Calibrates on
    `calibration` (a set and its embeddings) when given, else on `splits` of the training data
    (default: `calibration_splits`)."""
    texts = [e.text for e in data.examples]
    labels = np.array([e.label for e in data.examples])
    in_scope = sorted(set(labels.tolist()) - {OUT_OF_SCOPE})
    if len(in_scope) < 2:
        from bot.core.errors import DataError

        raise DataError(f"need at least two intents or FAQ entries to train, found {len(in_scope)}")
    text_vec = {t: X[i] for i, t in enumerate(texts)}
    meta = with_titles(data)
    clf_labels = classifier_labels(labels, len(data.faqs), settings)
    retrieval_mode = FAQ_ANY in set(clf_labels.tolist())

    # In retrieval mode the classifier learns from a sample of the FAQ phrasings (the index holds them all).
    sample = (lambda idx: sample_faq_rows(idx, clf_labels, settings.faq_sample_max, settings.seed)) \
        if retrieval_mode else (lambda idx: np.asarray(idx, dtype=np.int64))
    keep = sample(np.arange(len(texts)))
    vocab = [texts[i] for i in keep]
    if calibration is not None:
        cal, X_cal = calibration
        shared = _classifier(settings).fit_vocabulary(vocab)
        lex_keep = shared.lexical(vocab)  # the held-out fit and the final one read the same rows
        clf_h = _classifier(settings).fit(X[keep], vocab, clf_labels[keep], vocabulary_from=shared, lexical=lex_keep)
        index = FaqIndex(embedder, registry()).build(data.faqs, _faq_vectors(data.faqs, text_vec))
        scores = score_held_out(clf_h, index, X_cal, [e.text for e in cal.data.examples],
                                [e.label for e in cal.data.examples])
        source, centroids = cal.source, index.centroids
    else:
        parts, clf_h, lex_keep, centroids = [], None, None, None
        split_list, source = splits or calibration_splits(labels.tolist(), settings)
        shared = _classifier(settings).fit_vocabulary(vocab)
        for tr, ho in split_list:
            faq_tr = sub_faqs(data.faqs, {texts[i] for i in tr})
            tr, ho = sample(tr), sample(ho)
            clf_h = _classifier(settings).fit(X[tr], [texts[i] for i in tr], clf_labels[tr], vocabulary_from=shared)
            index = FaqIndex(embedder, registry()).build(faq_tr, _faq_vectors(faq_tr, text_vec))
            parts.append(score_held_out(clf_h, index, X[ho], [texts[i] for i in ho], labels[ho].tolist()))
            centroids = index.centroids  # lists of most phrasings: good for all of them
        scores = HeldOutScores.concat(parts)

    small_talk = lambda label: meta.get(label, IntentMeta()).small_talk  # noqa: E731
    cal = calibrate(scores, meta, settings, source, small_talk)
    # The final classifier sees every training example (warm-started from the last held-out fit).
    clf = IntentClassifier(prob_weight=cal.prob_weight, scope_weight=cal.scope_weight, seed=settings.seed).fit(
        X[keep], vocab, clf_labels[keep], warm_start_from=clf_h, vocabulary_from=clf_h, lexical=lex_keep)
    return TriageModel(
        encoder=embedder.base_info(),
        classifier=clf,
        calibration=cal.confidence,
        scope_calibration=cal.scope,
        retrieval_calibration=cal.retrieval,
        thresholds=cal.thresholds,
        meta=meta,
        faqs=list(data.faqs),
        faq_vectors=_faq_vectors(data.faqs, text_vec),
        faq_centroids=centroids,
        report={"calibration": cal.report.to_json(), "answer_precision_target": settings.answer_precision,
                "n_examples": len(texts), "prob_weight": cal.prob_weight, "scope_weight": cal.scope_weight,
                "n_labels": len(in_scope), "has_out_of_scope_examples": bool((labels == OUT_OF_SCOPE).any()),
                "faq_answered_by": "retrieval" if retrieval_mode else "classifier"},
    )


def _oof_labels(texts: list[str], y: np.ndarray, X: np.ndarray, settings: TrainingSettings, positive: str,
                class_weight: str | None) -> tuple[np.ndarray, np.ndarray, IntentClassifier, object]:
    """Out-of-fold (most likely label, probability of `positive`) per example."""
    pred = np.empty(len(texts), dtype=object)
    p_pos = np.zeros(len(texts))
    # The vocabulary comes from all the texts (as before) and their features are computed once.
    base = IntentClassifier(seed=settings.seed).fit_vocabulary(texts)
    L = base.lexical(texts)
    for fold in stratified_folds(y.tolist(), 5, settings.seed):
        tr = np.setdiff1d(np.arange(len(texts)), fold)
        if len(set(y[tr].tolist())) < 2:
            continue
        clf = IntentClassifier(seed=settings.seed, class_weight=class_weight).fit(
            X[tr], [texts[i] for i in tr], y[tr], vocabulary_from=base, lexical=L[tr])
        P = clf.predict_proba(X[fold], [texts[i] for i in fold], lexical=L[fold])
        pred[fold] = np.array(clf.classes_)[P.argmax(axis=1)]
        if positive in clf.classes_:
            p_pos[fold] = P[:, clf.classes_.index(positive)]
    return pred, p_pos, base, L


def fit_labels(texts: list[str], labels: list[str], X: np.ndarray, settings: TrainingSettings,
               positive: str, class_weight: str | None = None, p_any_recall: float | None = None
               ) -> tuple[IntentClassifier | None, dict, float]:
    """A classifier over message-level labels (urgency, complexity), with out-of-fold accuracy and
    the recall/precision of the `positive` class reported (the most likely class counts). With
    `p_any_recall`, also the probability of `positive` above which a message is flagged whatever
    the most likely class, so that out of fold at least that share of its examples is caught
    (1.01, off, when the most likely class already catches that many)."""
    if len(set(labels)) < 2 or len(texts) < 10:
        return None, {}, 1.01
    y = np.array(labels)
    pred, p_pos, base, L = _oof_labels(texts, y, X, settings, positive, class_weight)
    pos, flagged = y == positive, pred == positive
    report = {"n": len(texts), "oof_accuracy": float(np.mean(pred == y)),
              f"oof_{positive.lower()}_recall": float(np.mean(flagged[pos])) if pos.any() else None,
              f"oof_{positive.lower()}_precision": float(np.mean(pos[flagged])) if flagged.any() else None}
    p_any = 1.01
    if p_any_recall is not None and pos.any() and np.mean(flagged[pos]) < p_any_recall:
        missed = np.sort(p_pos[pos & ~flagged])[::-1]
        need = int(np.ceil(p_any_recall * pos.sum())) - int((flagged & pos).sum())
        p_any = float(missed[min(need, len(missed)) - 1]) if need > 0 else 1.01
        caught = flagged | (p_pos >= p_any)
        report[f"oof_{positive.lower()}_any_threshold"] = p_any
        report[f"oof_{positive.lower()}_recall_with_threshold"] = float(np.mean(caught[pos]))
        report[f"oof_{positive.lower()}_precision_with_threshold"] = float(np.mean(pos[caught]))
    final = IntentClassifier(seed=settings.seed, class_weight=class_weight).fit(X, texts, y, vocabulary_from=base,
                                                                                lexical=L)
    return final, report, p_any


def fit_urgency(texts: list[str], labels: list[str], X: np.ndarray, settings: TrainingSettings
                ) -> tuple[IntentClassifier | None, UrgencyThresholds, dict]:
    """Train the message-urgency classifier (balanced classes: routine examples outnumber the
    labelled urgent ones many times over). A message is P0 when P0 is its most likely urgency, or
    when its P0 probability reaches the level at which, out of fold, `urgency_p0_recall` of the
    labelled P0 examples are caught: a missed P0 costs far more than a false alarm."""
    model, report, p_any = fit_labels(texts, labels, X, settings, "P0", class_weight="balanced",
                                      p_any_recall=settings.urgency_p0_recall)
    return model, UrgencyThresholds(p0_any=p_any), report


def reusable_vectors(previous: TriageModel, embedder: Embedder) -> tuple[dict[str, np.ndarray], str]:
    """The FAQ phrasing vectors of a previous model that this training may reuse instead of
    encoding them again, and a line saying which: only when both use the same encoder weights
    and neither a fine-tuned one (otherwise the vectors would differ)."""
    if previous.tuned is not None:
        return {}, "not reusing the previous model's vectors: its encoder was fine-tuned"
    if previous.encoder != embedder.base_info() or embedder.info() != embedder.base_info():
        now = embedder.info()
        return {}, (f"not reusing the previous model's vectors: it was trained with {previous.encoder.name} "
                    f"({previous.encoder.weights_sha256[:12]}, {previous.encoder.precision}), this training uses "
                    f"{now.name} ({now.weights_sha256[:12]}, {now.precision})")
    out = {q: v[i] for e in previous.faqs for i, q in enumerate(e.questions)
           if (v := previous.faq_vectors.get(e.id)) is not None and len(v) == len(e.questions)}
    return out, f"reusing {len(out):,} FAQ phrasing vectors of the previous model"


def encode_reusing(embedder: Embedder, texts: list[str], reuse: dict[str, np.ndarray] | None, progress: bool,
                   log: Log) -> np.ndarray:
    """Embeddings of `texts`, taking those in `reuse` (text -> vector) and encoding the rest."""
    if not reuse:
        return embedder.encode_document(texts, progress=progress)
    todo = sorted({t for t in texts if t not in reuse})
    log(f"{sum(t in reuse for t in texts):,} of {len(texts):,} texts already encoded; encoding {len(todo):,} more")
    fresh = dict(zip(todo, embedder.encode_document(todo, progress=progress))) if todo else {}
    dim = embedder.info().dim
    return np.vstack([fresh[t] if t in fresh else reuse[t] for t in texts]).astype(np.float32) if texts else \
        np.zeros((0, dim), np.float32)


def _tune(embedder: Embedder, texts: list[str], labels: list[str], settings: TrainingSettings, progress: bool,
          log: Log) -> tuple[Embedder, TunedEncoder]:
    from bot.ml.finetuning import tune_encoder

    return tune_encoder(embedder, texts, labels, settings, progress=progress, log=log)


def train(data: TrainingData, embedder: Embedder, settings: TrainingSettings, progress: bool = False,
          calibration: CalibrationSet | None = None, fine_tune: bool | None = None,
          log: Log | None = None, previous: TriageModel | None = None) -> TriageModel:
    """Train a model. `fine_tune` (default: the `fine_tune` setting) tunes the encoder first where
    it can be tuned (sentence-transformers encoders). `previous`, a model trained before with the
    same encoder, lends the vectors of the FAQ phrasings it holds (a large knowledge base is
    retrained after a few edits without encoding every phrasing again)."""
    from bot.ml.finetuning import can_fine_tune

    log = log or (lambda _msg: None)
    if calibration is not None:
        check_calibration(data, calibration.data)
    texts = [e.text for e in data.examples]
    labels = [e.label for e in data.examples]
    tune = fine_tune if fine_tune is not None else settings.fine_tune
    if tune is None:  # auto: where the figures show it pays (docs/benchmarks.md)
        per_label = sum(lab != OUT_OF_SCOPE for lab in labels) / max(1, len(data.in_scope_labels))
        tune = per_label >= settings.fine_tune_min_examples
        if can_fine_tune(embedder):
            log(f"fine-tuning {'on' if tune else 'off'}: {per_label:.0f} examples per intent on average "
                f"({'at least' if tune else 'fewer than'} {settings.fine_tune_min_examples:.0f}; "
                "--fine-tune/--no-fine-tune decides otherwise)")
    if tune and not can_fine_tune(embedder):
        if fine_tune:
            from bot.core.errors import EncoderError

            raise EncoderError(f"the {embedder.info().name} encoder cannot be fine-tuned (a sentence-transformers "
                               "model directory can)")
        tune = False
    splits = None if calibration is not None else calibration_splits(labels, settings, single=tune)
    tuned = None
    if tune:
        # A fine-tuned encoder must not have seen the messages it is calibrated on: without a
        # calibration set it is tuned on the training part of the hold-out split only.
        idx = np.arange(len(texts)) if splits is None else splits[0][0][0]
        embedder, tuned = _tune(embedder, [texts[i] for i in idx], [labels[i] for i in idx], settings, progress, log)
    ptexts = [e.text for e, _ in data.priority_examples]
    # Complexity is learnt from the `- complexity:` blocks and, where those exist, also from every
    # intent example labelled with its intent's complexity: most messages are plain questions, and
    # the model must see plenty of them not to call an ordinary question complex. Examples are
    # encoded once (the labelled blocks' own texts apart).
    cblock = [(e.text, c.value) for e, c in data.complexity_examples]
    cal_texts = [e.text for e in calibration.data.examples] if calibration is not None else []
    reuse = None
    if previous is not None:
        reuse, why = reusable_vectors(previous, embedder) if tuned is None else (
            {}, "not reusing the previous model's vectors: this training fine-tunes the encoder")
        log(why)
    X_all = encode_reusing(embedder, texts + ptexts + [t for t, _ in cblock] + cal_texts, reuse, progress, log)
    n, m, c = len(texts), len(texts) + len(ptexts), len(texts) + len(ptexts) + len(cblock)
    X, cal_arg = X_all[:n], ((calibration, X_all[c:]) if calibration is not None else None)
    model = fit_model(data, X, embedder, settings, calibration=cal_arg, splits=splits)
    model.tuned = tuned
    # The urgency and complexity models read the examples of every intent (FAQ entries included),
    # in retrieval mode a sample of the FAQ phrasings.
    label_arr = np.array(labels, dtype=object)
    aux = np.arange(n)
    if len(data.faqs) > settings.faq_classifier_max_entries:
        aux = sample_faq_rows(aux, label_arr, settings.faq_sample_max, settings.seed)
    ctexts, clabels, cX = [t for t, _ in cblock], [v for _, v in cblock], [X_all[m:c]]
    if cblock:
        seen = set(ctexts)
        more = [i for i in aux.tolist() if data.examples[i].label in data.intent_meta and texts[i] not in seen]
        ctexts += [texts[i] for i in more]
        clabels += [data.intent_meta[data.examples[i].label].complexity.value for i in more]
        cX.append(X[more])
    # Urgency is learnt from the `- priority:` blocks and also from every intent example labelled
    # with its intent's priority (out-of-scope ones as P2), classes weighted alike: without them,
    # "thanks, bye" or "my deposit is late" lies far from every urgency example and its most likely
    # urgency is anybody's guess (it was often P0).
    plabels = [p.value for _, p in data.priority_examples]
    utexts, ulabels, uX = list(ptexts), list(plabels), [X_all[n:m]]
    if ptexts:
        seen = set(ptexts)
        keep = [i for i in aux.tolist()
                if (data.examples[i].label == OUT_OF_SCOPE or data.examples[i].label in data.intent_meta)
                and texts[i] not in seen]
        utexts += [texts[i] for i in keep]
        ulabels += ["P2" if data.examples[i].label == OUT_OF_SCOPE
                    else data.intent_meta[data.examples[i].label].priority.value for i in keep]
        uX.append(X[keep])
    urgency, thresholds, report = fit_urgency(utexts, ulabels, np.vstack(uX), settings)
    report["n_priority_examples"] = len(ptexts)
    model.urgency, model.urgency_thresholds, model.urgency_texts = urgency, thresholds, utexts
    model.report["urgency"] = report
    model.complexity, model.report["complexity"], _ = fit_labels(ctexts, clabels, np.vstack(cX), settings, "complex")
    if tuned is not None:
        model.report["fine_tuning"] = tuned.summary
    return model
