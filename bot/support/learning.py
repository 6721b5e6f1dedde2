"""The editors' suggestions: what conversations taught, grouped so one click acts on many.

- **Phrasings for an entry**: questions whose answer a user picked ("Did you mean…?", or "yes"
  to an answer after the bot's first guess missed) or an agent tagged when resolving, grouped by
  the entry. Approving some or all adds them to the entry through the same publish path and
  golden-set gate as any edit: live at once, no retraining. Questions labelled with an intent (not
  an FAQ entry) wait for the next retraining (`triage export`).
- **New entries**: questions nothing answered (the user said no answer helped, or an agent
  resolved the ticket of a question the bot could not place without tagging it), clustered by
  meaning; each cluster comes with a draft entry to complete.

Dismissed suggestions stay dismissed, also when the same question comes again.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from bot.core.db import reading
from bot.core.errors import ConflictError, NotFoundError
from bot.core.vocabulary import faq_id_of
from bot.support import signals
from bot.support.editor import EditorService
from bot.support.signals import Signal
from intents.clustering import centre_clusters

#: Cosine similarity at which two unanswered questions are the same question (bundled encoder).
CLUSTER_THRESHOLD = 0.6


@dataclass(frozen=True)
class PhrasingSuggestion:
    label: str  # faq/<id> or an intent
    faq_id: str | None  # None: an intent (for the next retraining)
    title: str
    signals: list[Signal]

    @property
    def approvable(self) -> bool:
        return self.faq_id is not None


@dataclass(frozen=True)
class NewEntrySuggestion:
    signals: list[Signal]  # the centre first
    draft: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(s.count for s in self.signals)


@dataclass(frozen=True)
class Suggestions:
    phrasings: list[PhrasingSuggestion]
    new_entries: list[NewEntrySuggestion]


def slug(text: str) -> str:
    words = re.findall(r"[a-z0-9]+", text.casefold())[:6]
    return "_".join(words)[:60] or "new_entry"


class LearningService:
    def __init__(self, editor: EditorService):
        self.editor = editor
        self.chat = editor.chat

    def suggestions(self) -> Suggestions:
        self.chat.sync_faqs()
        with reading(self.chat.db) as conn:
            found = signals.listing(conn)
        store = self.chat.engine.faq_index.store
        # Every live phrasing, once: the entries it belongs to.
        live: dict[str, set[str]] = {}
        for e in store:
            for q in e.questions:
                live.setdefault(signals.normalise(q), set()).add(e.id)
        text = {s.id: signals.normalise(s.text) for s in found}
        labelled: dict[str, list[Signal]] = {}
        for s in found:
            if not s.label:
                continue
            fid = faq_id_of(s.label)
            if fid and fid not in store:
                continue  # the entry is gone
            if fid and fid in live.get(text[s.id], ()):
                continue  # already a phrasing of it
            labelled.setdefault(s.label, []).append(s)
        phrasings = [PhrasingSuggestion(label, faq_id_of(label), self.chat.title(label, "en"),
                                        sorted(ss, key=lambda s: -s.count))
                     for label, ss in labelled.items()]
        phrasings.sort(key=lambda p: (-sum(s.count for s in p.signals), p.label))
        # A question someone labelled, or that is now a phrasing of a live entry (say, the new entry
        # an editor made from a cluster), is answered: it leaves the clusters.
        answered = {text[s.id] for s in found if s.label}
        unanswered = [s for s in found if not s.label and text[s.id] not in answered and text[s.id] not in live]
        return Suggestions(phrasings, self._clusters(unanswered))

    def _clusters(self, unanswered: list[Signal]) -> list[NewEntrySuggestion]:
        if not unanswered:
            return []
        vectors = self.chat.engine.embedder.encode_query([s.text for s in unanswered])
        out = []
        for centre, members in centre_clusters(vectors, CLUSTER_THRESHOLD, [s.count for s in unanswered]):
            ss = [unanswered[i] for i in members]
            head = unanswered[centre]
            out.append(NewEntrySuggestion(ss, {"id": slug(head.text), "title": head.text,
                                               "questions": [s.text for s in ss][:20], "answer": "",
                                               "lang": head.lang or "en"}))
        return out

    def approve(self, faq_id: str, signal_ids: list[str], actor: str):
        """Add the suggested questions to entry `faq_id` (behind the golden-set gate) and mark them
        approved. A refusal by the gate leaves them open."""
        self.chat.sync_faqs()
        entry = self.chat.engine.faq_index.store.get(faq_id)
        if entry is None:
            raise NotFoundError("FAQ entry", faq_id)
        with reading(self.chat.db) as conn:
            chosen = signals.get_many(conn, signal_ids)
        missing = set(signal_ids) - {s.id for s in chosen}
        if missing:
            raise NotFoundError("suggestion", sorted(missing)[0])
        closed = [s.id for s in chosen if s.status != signals.OPEN]
        if closed:
            raise ConflictError(f"suggestion {closed[0]} was already decided")
        have = {signals.normalise(q) for q in entry.questions}
        new = []
        for s in chosen:
            if signals.normalise(s.text) not in have:
                have.add(signals.normalise(s.text))
                new.append(s.text)
        version = self.editor.put(replace(entry, questions=entry.questions + new), actor) if new else None
        with self.chat.db.begin() as conn:
            signals.decide(conn, signal_ids, signals.APPROVED, actor, self.chat.clock())
        return version, new

    def keep_for_training(self, signal_ids: list[str], actor: str) -> int:
        """Approve questions labelled with an intent: `triage export` writes them as reviewed
        examples for the next retraining (intents are not edited live)."""
        with reading(self.chat.db) as conn:
            chosen = signals.get_many(conn, signal_ids)
        if len(chosen) != len(set(signal_ids)):
            raise NotFoundError("suggestion", sorted(set(signal_ids) - {s.id for s in chosen})[0])
        faq = [s.id for s in chosen if not s.label or faq_id_of(s.label)]
        if faq:
            raise ConflictError(f"suggestion {faq[0]} is not labelled with an intent: approve FAQ phrasings into "
                                "their entry instead")
        with self.chat.db.begin() as conn:
            return signals.decide(conn, signal_ids, signals.APPROVED, actor, self.chat.clock())

    def dismiss(self, signal_ids: list[str], actor: str) -> int:
        with self.chat.db.begin() as conn:
            return signals.decide(conn, signal_ids, signals.DISMISSED, actor, self.chat.clock())
