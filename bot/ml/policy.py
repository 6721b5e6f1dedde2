"""The triage policy: one decision (answer / confirm / escalate, and a priority) per message.

Pure: it reads calibrated candidates from the classifier, hits from the FAQ retriever and the
triage metadata, and returns a `Decision`. No I/O, no models.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum

import numpy as np

from bot.core.vocabulary import (
    FAQ_ANY,
    Complexity,
    IntentMeta,
    Priority,
    faq_id_of,
    faq_label,
)
from intents.classifier import Scores
from kb_index.retrieval import Hit
from kb_index.store import FaqStore


class Route(str, Enum):
    ANSWER = "answer"
    CONFIRM = "confirm"
    ESCALATE = "escalate"


@dataclass(frozen=True)
class Thresholds:
    """Calibrated confidence cut-offs (0..1) and the minimum retrieval score for an FAQ answer.
    `by_language` holds (answer, confirm) calibrated on one language's held-out messages."""

    answer: float
    confirm: float
    retrieval_floor: float
    by_language: dict[str, tuple[float, float]] = field(default_factory=dict)

    def for_language(self, lang: str) -> "Thresholds":
        if lang not in self.by_language:
            return self
        answer, confirm = self.by_language[lang]
        return Thresholds(answer, confirm, self.retrieval_floor)

    def overridden(self, answer: float | None = None, confirm: float | None = None) -> "Thresholds":
        """These thresholds with operator overrides (TRIAGE_ANSWER_THRESHOLD, TRIAGE_CONFIRM_THRESHOLD)
        applied to every language: an override wins over per-language calibration."""
        if answer is None and confirm is None:
            return self
        by_language = {lang: (a if answer is None else answer, c if confirm is None else confirm)
                       for lang, (a, c) in self.by_language.items()}
        return Thresholds(self.answer if answer is None else answer, self.confirm if confirm is None else confirm,
                          self.retrieval_floor, by_language)

    def to_json(self) -> dict:
        return {"answer": self.answer, "confirm": self.confirm, "retrieval_floor": self.retrieval_floor,
                "by_language": {k: list(v) for k, v in self.by_language.items()}}

    @classmethod
    def from_json(cls, d: dict) -> "Thresholds":
        return cls(float(d["answer"]), float(d["confirm"]), float(d["retrieval_floor"]),
                   {k: (float(v[0]), float(v[1])) for k, v in d.get("by_language", {}).items()})


@dataclass(frozen=True)
class Candidate:
    intent: str
    confidence: float
    faq_id: str | None = None
    #: Calibrated confidence of the scope decision (is this message one the bot knows at all?);
    #: None: the same as `confidence`.
    scope: float | None = None

    @property
    def scope_confidence(self) -> float:
        return self.confidence if self.scope is None else self.scope


@dataclass
class Decision:
    text: str
    lang: str
    intent: str | None
    confidence: float
    route: Route
    priority: Priority
    faq_id: str | None
    candidates: list[Candidate]
    answer: str | None = None
    reasons: list[str] = field(default_factory=list)
    complexity: Complexity = Complexity.SIMPLE  # of the message: its intent's, raised by what it says
    small_talk: bool = False  # a greeting, thanks or goodbye: answered with no follow-up question

    def state_json(self) -> dict:
        """The predict format plus the reasons, kept in the conversation for the handoff packet."""
        return {**self.to_json(), "reasons": list(self.reasons)}

    def to_json(self) -> dict:
        """The `triage predict` line format."""
        return {
            "text": self.text,
            "intent": self.intent,
            "confidence": round(float(self.confidence), 4),
            "route": self.route.value,
            "priority": self.priority.value,
            "faq_id": self.faq_id,
            "candidates": [{"intent": c.intent, "confidence": round(float(c.confidence), 4)} for c in self.candidates],
        }


@dataclass(frozen=True)
class PolicyConfig:
    thresholds: Thresholds
    unknown_priority: Priority = Priority.P2
    #: A fused retrieval score this high means the message is one of an FAQ entry's own curated
    #: phrasings (or a trivial variant): answer it whatever the calibration could promise.
    exact_match: float = 0.95


def resolve_faq_any(scores: Scores, hits: Sequence[Sequence[Hit]], near: np.ndarray, prob_weight: float,
                    scope_weight: float | None) -> Scores:
    """For a knowledge base answered through retrieval: each `FAQ_ANY` candidate of the classifier
    ("some FAQ entry") becomes the entry retrieval ranks first, its scores scaled by that entry's
    retrieval score, so one confidence says both "an FAQ question" and "this entry". Its nearness
    is `near` (per query: how close it lies to the FAQ phrasings, from the retrieval index, which
    holds every phrasing; the classifier keeps none of them), mixed with the probability by the
    classifier's weights. Training calibrates on exactly this, so serving must do the same."""
    if not any(FAQ_ANY in row for row in scores.top_labels):
        return scores
    labels = [list(row) for row in scores.top_labels]
    scale = np.ones_like(scores.top_probs)
    near_all = scores.top_near.copy()
    for i, row in enumerate(labels):
        for j, label in enumerate(row):
            if label == FAQ_ANY:
                near_all[i, j] = max(float(near[i]), 0.0)
                if hits[i]:
                    labels[i][j], scale[i, j] = faq_label(hits[i][0].faq_id), hits[i][0].score
                else:
                    scale[i, j] = 0.0  # nothing retrieved: no FAQ candidate (dropped when merging)
    sw = prob_weight if scope_weight is None else scope_weight
    raw = prob_weight * scores.top_probs + (1 - prob_weight) * near_all
    scope = sw * scores.top_probs + (1 - sw) * near_all
    return replace(scores, top_labels=labels, top_probs=scores.top_probs * scale, top_near=near_all * scale,
                   top_raw=raw * scale, top_scope=scope * scale)


def merge_candidates(classifier: Sequence[tuple[str, float] | tuple[str, float, float]],
                     hits: Sequence[tuple[Hit, float]], known_labels: set[str], store: FaqStore,
                     k: int = 3) -> list[Candidate]:
    """One ranked list from both channels. Classifier candidates are (label, confidence) or
    (label, confidence, scope confidence).

    Classifier labels of FAQ entries that were deleted since training are dropped; FAQ entries the
    classifier has never seen (added since training) enter with their calibrated retrieval score.
    """
    out: dict[str, Candidate] = {}
    for label, conf, *scope in classifier:
        if label == FAQ_ANY:
            continue
        fid = faq_id_of(label)
        if fid is not None and fid not in store:
            continue
        out[label] = Candidate(label, float(conf), fid, float(scope[0]) if scope else None)
    for hit, conf in hits:
        label = faq_label(hit.faq_id)
        if label in known_labels or label in out:
            continue
        out[label] = Candidate(label, float(conf), hit.faq_id)
    return sorted(out.values(), key=lambda c: -c.confidence)[:k]


def decide(text: str, lang: str, candidates: Sequence[Candidate], hits: Mapping[str, Hit],
           meta: Mapping[str, IntentMeta], store: FaqStore, config: PolicyConfig) -> Decision:
    """Route one message. `hits` maps FAQ id to its retrieval hit for this message."""
    th = config.thresholds.for_language(lang)
    cands = list(candidates)
    exact = max((h for h in hits.values() if h.faq_id in store), key=lambda h: h.score, default=None)
    if exact is not None and exact.score >= config.exact_match:
        entry = store.get(exact.faq_id)
        m = meta.get(faq_label(exact.faq_id), IntentMeta.of_faq(entry))
        if m.complexity is Complexity.SIMPLE:
            label = faq_label(exact.faq_id)
            conf = max([c.confidence for c in cands if c.intent == label] + [exact.score])
            rest = [c for c in cands if c.intent != label]
            cands = [Candidate(label, conf, exact.faq_id)] + rest[:2]
            return Decision(text, lang, label, conf, Route.ANSWER, m.priority, exact.faq_id, cands,
                            entry.answer_for(lang), [f"matches the curated FAQ phrasing {exact.question!r}"], m.complexity,
                            m.small_talk)
    top = cands[0] if cands else None
    if top is None or top.scope_confidence < th.confirm:
        conf = top.confidence if top else 0.0
        scope = top.scope_confidence if top else 0.0
        return Decision(text, lang, None, conf, Route.ESCALATE, config.unknown_priority, None, cands,
                        reasons=[f"no intent reached the scope threshold ({scope:.2f} < {th.confirm:.2f})"])

    m = meta.get(top.intent, IntentMeta())
    reasons: list[str] = []
    if m.complexity is Complexity.COMPLEX:
        route = Route.ESCALATE
        reasons.append(f"{top.intent} is complex: a person handles it")
    elif top.confidence >= th.answer:
        route = Route.ANSWER
        reasons.append(f"confidence {top.confidence:.2f} >= answer threshold {th.answer:.2f}")
    elif m.small_talk:
        # A wrong "Hello!" costs nothing; asking "Did you mean: hello?" is what users hate.
        route = Route.ANSWER
        reasons.append(f"{top.intent} is small talk: answered at once (confidence {top.confidence:.2f})")
    else:
        route = Route.CONFIRM
        reasons.append(f"confidence {top.confidence:.2f} below answer threshold {th.answer:.2f}")

    answer = None
    if top.faq_id is not None:
        entry = store.get(top.faq_id)
        hit = hits.get(top.faq_id)
        score = hit.score if hit else 0.0
        if route is Route.ANSWER and score < th.retrieval_floor and not m.small_talk:
            # The classifier alone may not pick an answer the retriever does not back.
            route = Route.CONFIRM
            reasons.append(f"retrieval score {score:.2f} below floor {th.retrieval_floor:.2f}")
        if entry is not None and route is not Route.ESCALATE:
            answer = entry.answer_for(lang)
    if route is Route.ANSWER and m.complexity is Complexity.MEDIUM:
        route = Route.CONFIRM
        reasons.append(f"{top.intent} is medium complexity: answer with a confirm step")
    return Decision(text, lang, top.intent, top.confidence, route, m.priority, top.faq_id, cands, answer, reasons,
                    m.complexity, m.small_talk and route is Route.ANSWER)
