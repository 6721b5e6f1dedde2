"""Run evaluations: a trained model on a test set, or K-fold cross-validation on one data set."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from bot.core.settings import TrainingSettings
from bot.core.vocabulary import OUT_OF_SCOPE
from bot.ml.engine import TriageEngine
from bot.ml.evaluation import EvalReport, evaluate_decisions
from bot.ml.policy import Decision
from bot.ml.training import CalibrationSet, fit_model, stratified_folds, sub_faqs, train
from bot.ml.training_data import Example, TrainingData
from intents.encoder import Embedder


def _priority_gold(data: TrainingData, ex: Example) -> str | None:
    m = data.intent_meta.get(ex.label)
    return m.priority.value if m is not None else None


def evaluate_engine(engine: TriageEngine, data: TrainingData, progress: bool = False) -> EvalReport:
    """Score `engine` on every labelled example and priority example of `data`."""
    return evaluate_engine_decisions(engine, data, progress)[0]


def evaluate_engine_decisions(engine: TriageEngine, data: TrainingData,
                              progress: bool = False) -> tuple[EvalReport, list[Decision]]:
    """`evaluate_engine`, and the decision for each labelled example (in `data.examples` order)."""
    texts = [e.text for e in data.examples]
    ptexts = [e.text for e, _ in data.priority_examples]
    ctexts = [e.text for e, _ in data.complexity_examples]
    X = engine.embedder.encode_query(texts + ptexts + ctexts, progress=progress)
    decisions = engine.predict(texts + ptexts + ctexts, embeddings=X)
    n, m = len(texts), len(texts) + len(ptexts)
    main, extra, cx = decisions[:n], decisions[n:m], decisions[m:]
    pairs: list[tuple[str, Decision]] = []
    for ex, d in zip(data.examples, main):
        gp = _priority_gold(data, ex)
        if gp is not None:
            pairs.append((gp, d))
    pairs += [(p.value, d) for (_, p), d in zip(data.priority_examples, extra)]
    cpairs = [(c.value, d) for (_, c), d in zip(data.complexity_examples, cx)]
    meta = {**data.intent_meta, **engine.model.meta}
    return evaluate_decisions(main, [e.label for e in data.examples], pairs, cpairs,
                              meta=meta, calibration=engine.model.report.get("calibration")), list(main)


def _subset(data: TrainingData, idx: np.ndarray) -> TrainingData:
    keep = set(int(i) for i in idx)
    examples = [e for i, e in enumerate(data.examples) if i in keep]
    return TrainingData(examples, sub_faqs(data.faqs, {e.text for e in examples}), dict(data.intent_meta), [])


def _known(cal: CalibrationSet, data: TrainingData) -> CalibrationSet:
    """The calibration messages whose label a fold's training data still has."""
    labels = set(data.labels) | {OUT_OF_SCOPE}
    return replace(cal, data=replace(cal.data, examples=[e for e in cal.data.examples if e.label in labels]))


def cross_validate(data: TrainingData, embedder: Embedder, settings: TrainingSettings, k: int,
                   on_fold: Callable[[int, int], None] | None = None, calibration: CalibrationSet | None = None,
                   fine_tune: bool = False) -> EvalReport:
    """K-fold CV; every fold calibrates its own thresholds (on `calibration` when given) and, with
    `fine_tune`, tunes its own encoder. Without fine-tuning, texts are encoded once."""
    if k < 2:
        raise ValueError("cross-validation needs K >= 2")
    texts = [e.text for e in data.examples]
    labels = [e.label for e in data.examples]
    X = None if fine_tune else embedder.encode_document(texts, progress=True)
    X_cal = None
    if calibration is not None and not fine_tune:
        X_cal = embedder.encode_document([e.text for e in calibration.data.examples])
    decisions: list[Decision | None] = [None] * len(texts)
    calibrations = []
    for f, test_idx in enumerate(stratified_folds(labels, k, settings.seed)):
        if on_fold:
            on_fold(f + 1, k)
        train_idx = np.setdiff1d(np.arange(len(texts)), test_idx)
        sub = _subset(data, train_idx)
        if fine_tune:
            cal = _known(calibration, sub) if calibration is not None else None
            model = train(sub, embedder, settings, calibration=cal, fine_tune=True)
            engine = TriageEngine(model, embedder)
            got = engine.predict([texts[i] for i in test_idx])
        else:
            cal_arg = None
            if calibration is not None:
                keep = [i for i, e in enumerate(calibration.data.examples) if e.label in set(sub.labels) | {OUT_OF_SCOPE}]
                cal_arg = (_known(calibration, sub), X_cal[keep])
            model = fit_model(sub, X[train_idx], embedder, settings, calibration=cal_arg)
            engine = TriageEngine(model, embedder)
            got = engine.predict([texts[i] for i in test_idx], embeddings=X[test_idx])
        calibrations.append(model.report["calibration"])
        for i, d in zip(test_idx, got):
            decisions[int(i)] = d
    pairs = [(gp, d) for ex, d in zip(data.examples, decisions) if (gp := _priority_gold(data, ex)) is not None]
    report = evaluate_decisions(decisions, labels, pairs, meta=dict(data.intent_meta))  # type: ignore[arg-type]
    report.calibration = {"folds": calibrations}
    return report
