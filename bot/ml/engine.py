"""The engine: a trained model, its encoder and the live FAQ index, deciding per message."""
from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.core.i18n import LocaleRegistry, load_registry, registry
from bot.core.settings import ModelSettings
from bot.core.vocabulary import Complexity, IntentMeta, Priority, faq_label
from bot.ml.model import TriageModel
from bot.ml.policy import (
    Decision,
    PolicyConfig,
    Route,
    Thresholds,
    decide,
    merge_candidates,
    resolve_faq_any,
)
from escalation.urgency import Context, prioritise
from intents.encoder import Embedder, load_embedder
from kb_index.retrieval import DraftIndex, FaqIndex, LexicalQueries
from kb_index.store import FaqEntry


def _single_threaded_blas() -> None:
    """The encoder (torch) uses every core; BLAS threads left spinning after a numpy product
    would fight it for them, which doubled single-message latency on 2 cores. The numpy work
    per message is small, so one BLAS thread is enough."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _text_threads() -> ThreadPoolExecutor:
    """Threads for the text-only side of predictions (one per core), made on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(len(os.sched_getaffinity(0)), thread_name_prefix="triage-text")
        return _pool


@dataclass(frozen=True)
class _TextSide:
    """What a prediction computes from the texts alone (no vectors): the FAQ search's lexical part
    and each model's n-gram scores."""

    faq: LexicalQueries
    intent: np.ndarray
    urgency: np.ndarray | None
    complexity: np.ndarray | None


class TriageEngine:
    def __init__(self, model: TriageModel, embedder: Embedder, thresholds: Thresholds | None = None,
                 locales: LocaleRegistry | None = None):
        """`embedder` is the encoder the model was trained with (for a model with a fine-tuned
        encoder: its base, to which the tuned weights are applied here); `locales` the languages
        (default: the process-wide registry)."""
        embedder = model.bind_encoder(embedder)
        _single_threaded_blas()
        self.model = model
        self.embedder = embedder
        self.locales = locales if locales is not None else registry()
        self.thresholds = thresholds or model.thresholds
        self._faq_index: FaqIndex | None = None
        self._faq_index_lock = threading.Lock()

    @classmethod
    def from_model_dir(cls, path: Path, settings: ModelSettings, embedder: Embedder | None = None) -> "TriageEngine":
        model = TriageModel.load(path)
        # The precision the model was trained with, whatever the setting (which is for training).
        embedder = embedder or load_embedder(settings.encoder, batch_size=settings.encode_batch_size,
                                             backend=settings.encoder_backend, cache_dir=settings.encoder_cache,
                                             precision=model.encoder.precision)
        th = model.thresholds.overridden(settings.answer_threshold, settings.confirm_threshold)
        engine = cls(model, embedder, th, load_registry(settings.locales_dir))
        engine.name = Path(path).name
        return engine

    #: FAQ entries a prediction considers (its search and the text-only part made beforehand).
    FAQ_HITS = 10

    #: The model's name (its directory's, or its name in the registry), for the record.
    name: str = "model"

    @property
    def model_id(self) -> str:
        """Which model decides: name@fingerprint (recorded with each bot reply)."""
        return f"{self.name}@{self.model.fingerprint}" if self.model.fingerprint else self.name

    @property
    def faq_index(self) -> FaqIndex:
        """Built on first use, once: two threads arriving together must not each build one (the
        second would replace the first, and with it any edit applied to it meanwhile)."""
        if self._faq_index is None:
            with self._faq_index_lock:
                if self._faq_index is None:
                    index = FaqIndex(self.embedder, self.locales).build(
                        self.model.faqs, self.model.faq_vectors, centroids=self.model.faq_centroids)
                    # The same vectors, now read from the index's matrix: the copy loaded with
                    # the model is let go (384 MB at 250,000 phrasings).
                    self.model.faq_vectors = index.phrasing_vectors()
                    self._faq_index = index
        return self._faq_index

    # -- content edits: live for the next message, no retraining --------------------------------
    def upsert_faq(self, entry: FaqEntry) -> None:
        self.faq_index.upsert(entry)
        self.model.meta[faq_label(entry.id)] = IntentMeta.of_faq(entry)

    def batch_queries(self, max_batch: int, max_wait: float, max_queue: int) -> None:
        """Let concurrent predictions share encoder calls (a server does this; scripts need not)."""
        from intents.batching import BatchingEmbedder

        if not isinstance(self.embedder, BatchingEmbedder):
            self.embedder = BatchingEmbedder(self.embedder, max_batch=max_batch, max_wait=max_wait,
                                             max_queue=max_queue)
            if self._faq_index is not None:
                self._faq_index.embedder = self.embedder

    def delete_faq(self, faq_id: str) -> None:
        self.faq_index.delete(faq_id)

    def apply_published(self, versions, applied: dict[str, int]) -> None:
        """Apply editors' publications and deletions (FAQ versions, oldest first) as one batch,
        skipping any not newer than `applied` records for its entry (updated here)."""
        from kb_index.repository import DELETED

        upserts, deletes = {}, set()
        for v in versions:
            if v.version <= applied.get(v.faq_id, 0):
                continue
            applied[v.faq_id] = v.version
            if v.kind == DELETED:
                upserts.pop(v.faq_id, None)
                deletes.add(v.faq_id)
            else:
                deletes.discard(v.faq_id)
                upserts[v.faq_id] = v.entry
        deletes = {d for d in deletes if d in self.faq_index.store}
        if upserts or deletes:
            self.apply_faqs(list(upserts.values()), sorted(deletes))

    def apply_faqs(self, upserts: list[FaqEntry], deletes: list[str]) -> None:
        """Many FAQ changes in one batch (one encoder call, one index update)."""
        self.faq_index.apply(upserts, deletes)
        for entry in upserts:
            self.model.meta[faq_label(entry.id)] = IntentMeta.of_faq(entry)

    # -- prediction ----------------------------------------------------------------------------
    def meta_for(self, index: FaqIndex | DraftIndex) -> dict[str, IntentMeta]:
        """Triage metadata with the entries of `index` (which may hold edits not yet live)."""
        meta = dict(self.model.meta)
        for e in index.store:
            meta[faq_label(e.id)] = IntentMeta.of_faq(e)
        return meta

    @staticmethod
    def _label_probs(clf, X: np.ndarray, texts: Sequence[str], lexical_scores: np.ndarray | None = None
                     ) -> list[dict[str, float]]:
        if clf is None:
            return [{}] * len(texts)
        P = clf.predict_proba(X, texts, lexical_scores=lexical_scores)
        return [{c: float(P[i, j]) for j, c in enumerate(clf.classes_)} for i in range(len(texts))]

    def urgency(self, X: np.ndarray, texts: Sequence[str], lexical_scores: np.ndarray | None = None
                ) -> list[tuple[dict[str, float], str | None]]:
        """Per text: urgency probabilities and the most similar urgent training example."""
        u = self.model.urgency
        if u is None:
            return [({}, None)] * len(texts)
        P = u.predict_proba(X, texts, lexical_scores=lexical_scores)
        out = []
        for i in range(len(texts)):
            probs = {c: float(P[i, j]) for j, c in enumerate(u.classes_)}
            top = max(probs, key=probs.get)
            if probs.get("P0", 0.0) >= self.model.urgency_thresholds.p0_any:
                top = "P0"  # the evidence quoted for a raise to P0 is an urgent example
            # Quoted only when the message is raised (P0/P1); the routine class holds most examples.
            near = u.nearest_example(top, X[i]) if self.model.urgency_texts and top in ("P0", "P1") else None
            evidence = self.model.urgency_texts[near] if near is not None else None
            out.append((probs, evidence))
        return out

    def predict(self, texts: Sequence[str], embeddings: np.ndarray | None = None,
                faq_index: FaqIndex | DraftIndex | None = None, contexts: Sequence[Context] | None = None) -> list[Decision]:
        """Decide for each text. `embeddings` may carry the texts' query vectors already computed;
        `faq_index` replaces the live FAQ index (to try a draft before publishing it); `contexts`
        (per text) carry the customer tier, repeat contacts and failed attempts."""
        texts = list(texts)
        if not texts:
            return []
        clf = self.model.classifier
        index = self.faq_index if faq_index is None else faq_index
        meta = self.model.meta if faq_index is None else self.meta_for(faq_index)
        if embeddings is None:
            # The text-only work (n-grams, lexical candidates) runs beside the encoder, which
            # releases the GIL. The encoder is called from this thread: called from a pool
            # thread it was slower (scripts/turn_phases_benchmark.py).
            pending = _text_threads().submit(self._text_side, texts, index)
            X = self.embedder.encode_query(texts)
            side = pending.result()
        else:
            X, side = embeddings, self._text_side(texts, index)
        if index.phrasings >= self.OVERLAP_SEARCH_FROM:
            # The models' scores run beside the FAQ search, whose nearest-neighbour part
            # releases the GIL.
            models = _text_threads().submit(self._model_scores, X, texts, side)
            hits, near = self._faq_search(index, X, texts, side.faq)
            clf_scores, urgencies, complexities = models.result()
        else:
            hits, near = self._faq_search(index, X, texts, side.faq)
            clf_scores, urgencies, complexities = self._model_scores(X, texts, side)
        scores = resolve_faq_any(clf_scores, hits, near, clf.prob_weight, clf.scope_weight)
        conf = self.model.calibration(scores.top_raw, scores.top_margin)
        scope = conf if self.model.scope_calibration is None else self.model.scope_calibration(scores.top_scope)
        known = set(clf.classes_)
        config = PolicyConfig(self.thresholds)
        # Every hit's confidence in one call (a call per hit cost more than the arithmetic).
        hit_conf = iter(self.model.retrieval_calibration(
            np.fromiter((h.score for found in hits for h in found), dtype=np.float64)).tolist())
        out = []
        for i, text in enumerate(texts):
            clf_cands = list(zip(scores.top_labels[i], conf[i].tolist(), scope[i].tolist()))
            hit_cands = [(h, next(hit_conf)) for h in hits[i]]
            cands = merge_candidates(clf_cands, hit_cands, known, index.store)
            d = decide(text, side.faq.languages[i], cands, {h.faq_id: h for h in hits[i]}, meta, index.store, config)
            probs, evidence = urgencies[i]
            call = prioritise(d.priority, probs, self.model.urgency_thresholds,
                              contexts[i] if contexts else Context(), evidence)
            d.priority = call.priority
            d.reasons.extend(call.reasons)
            cprobs = complexities[i]
            if cprobs and max(cprobs, key=cprobs.get) == "complex" and d.complexity is not Complexity.COMPLEX:
                d.complexity = Complexity.COMPLEX
                if d.route is not Route.ESCALATE:
                    d.route, d.answer = Route.ESCALATE, None
                    d.reasons.append(f"complex message (probability {cprobs['complex']:.2f}): a person handles it")
            if call.priority is Priority.P0 and d.route is not Route.ESCALATE:
                # Service unusable or money/security at risk: never left to the bot.
                d.route, d.answer = Route.ESCALATE, None
                d.reasons.append("P0: a person handles it")
            out.append(d)
        return out

    #: Batches at least this large are searched in two halves on two threads.
    SPLIT_SEARCH_FROM = 32
    #: From this many phrasings the models' scores run on a text thread beside the FAQ search;
    #: a smaller index's search is too short to pay for the hand-over (the default bot's 1,258
    #: phrasings: one client's turn through the service 10.6 -> 11.5 ms with it; 50,000 entries:
    #: 12.2 -> 11.7 ms, and 0.3 ms less a message in process).
    OVERLAP_SEARCH_FROM = 20_000

    def _faq_search(self, index: FaqIndex | DraftIndex, X: np.ndarray, texts: list[str],
                    lexical: LexicalQueries) -> tuple[list, np.ndarray]:
        """The FAQ search (hits and nearness per text). A large batch's second half is searched on
        a text thread: the nearest-neighbour part releases the GIL, and one faiss search uses one
        core here (its OpenMP threads are held to one with BLAS's, `_single_threaded_blas`)."""
        n = len(texts)
        if n < self.SPLIT_SEARCH_FROM or len(os.sched_getaffinity(0)) < 2:
            return index.search_near(X, texts, k=self.FAQ_HITS, lexical=lexical)
        h = n // 2
        second = _text_threads().submit(index.search_near, X[h:], texts[h:], self.FAQ_HITS, None, lexical.part(h, n))
        hits, near = index.search_near(X[:h], texts[:h], k=self.FAQ_HITS, lexical=lexical.part(0, h))
        hits2, near2 = second.result()
        return hits + hits2, np.concatenate([near, near2])

    def _model_scores(self, X: np.ndarray, texts: list[str], side: "_TextSide"):
        """The three models' outputs for vectors `X`: the classifier's top classes, urgency and
        complexity."""
        return (self.model.classifier.score(X, texts, k=3, lexical_scores=side.intent),
                self.urgency(X, texts, side.urgency),
                self._label_probs(self.model.complexity, X, texts, side.complexity))

    def _text_side(self, texts: list[str], index: FaqIndex | DraftIndex) -> "_TextSide":
        m = self.model
        return _TextSide(index.lexical_queries(texts, k=self.FAQ_HITS), m.classifier.lexical_scores(texts),
                         m.urgency.lexical_scores(texts) if m.urgency is not None else None,
                         m.complexity.lexical_scores(texts) if m.complexity is not None else None)

    def predict_one(self, text: str, context: Context | None = None) -> Decision:
        return self.predict([text], contexts=[context] if context else None)[0]
