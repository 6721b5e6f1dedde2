"""Run evaluations: a trained model on a test set, or K-fold cross-validation on one data set."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bot.engine import TriageEngine
from bot.evaluation import EvalReport, evaluate_decisions
from bot.policy import Decision
from bot.settings import Settings
from bot.training import fit_model, stratified_folds
from bot.training_data import Example, TrainingData
from intents.encoder import Embedder
from kb_index.store import FaqEntry


def _priority_gold(data: TrainingData, ex: Example) -> str | None:
    m = data.intent_meta.get(ex.label)
    return m.priority.value if m is not None else None


def evaluate_engine(engine: TriageEngine, data: TrainingData, progress: bool = False) -> EvalReport:
    """Score `engine` on every labelled example and priority example of `data`."""
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
    return evaluate_decisions(main, [e.label for e in data.examples], pairs, cpairs)


def _subset(data: TrainingData, idx: np.ndarray) -> TrainingData:
    keep = set(int(i) for i in idx)
    examples = [e for i, e in enumerate(data.examples) if i in keep]
    texts = {e.text for e in examples}
    faqs = []
    for f in data.faqs:
        qs = [q for q in f.questions if q in texts]
        if qs:
            faqs.append(FaqEntry(f.id, qs, f.answers, f.lang, f.tags, f.complexity, f.priority))
    return TrainingData(examples, faqs, dict(data.intent_meta), [])


def cross_validate(data: TrainingData, embedder: Embedder, settings: Settings, k: int,
                   on_fold: Callable[[int, int], None] | None = None) -> EvalReport:
    """K-fold CV. Texts are encoded once; every fold calibrates its own thresholds."""
    if k < 2:
        raise ValueError("cross-validation needs K >= 2")
    texts = [e.text for e in data.examples]
    X = embedder.encode_document(texts, progress=True)
    labels = [e.label for e in data.examples]
    decisions: list[Decision | None] = [None] * len(texts)
    for f, test_idx in enumerate(stratified_folds(labels, k, settings.seed)):
        if on_fold:
            on_fold(f + 1, k)
        train_idx = np.setdiff1d(np.arange(len(texts)), test_idx)
        model = fit_model(_subset(data, train_idx), X[train_idx], embedder, settings)
        engine = TriageEngine(model, embedder)
        for i, d in zip(test_idx, engine.predict([texts[i] for i in test_idx], embeddings=X[test_idx])):
            decisions[int(i)] = d
    pairs = [(gp, d) for ex, d in zip(data.examples, decisions) if (gp := _priority_gold(data, ex)) is not None]
    return evaluate_decisions(decisions, labels, pairs)  # type: ignore[arg-type]
