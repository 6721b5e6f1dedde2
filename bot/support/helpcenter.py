"""The self-service help center: the live FAQ as articles people browse and search themselves.

Categories come from the entries' first tag; an article is a live entry (drafts never), its title
and answer in the reader's language; search goes through the same engine as the chat, so a
question the bot would call out of scope finds nothing (and the page offers the chat instead).
"Was this helpful?" on an article is stored with the chat's "Did this solve it?" answers
(`answer_feedback`), per entry and channel.
"""
from __future__ import annotations

from dataclasses import dataclass

from bot.core.vocabulary import faq_id_of
from bot.support.feedback import record_feedback
from bot.support.service import ChatService
from kb_index.store import FaqEntry

UNCATEGORISED = "general"


@dataclass(frozen=True)
class Article:
    id: str
    title: str
    body: str
    category: str


@dataclass(frozen=True)
class Category:
    name: str
    articles: list[Article]


def category_of(entry: FaqEntry) -> str:
    return entry.tags[0].lower() if entry.tags else UNCATEGORISED


def article(entry: FaqEntry, lang: str) -> Article:
    return Article(entry.id, entry.title_for(lang), entry.answer_for(lang), category_of(entry))


class HelpCenter:
    def __init__(self, chat: ChatService):
        self.chat = chat

    def _entries(self) -> list[FaqEntry]:
        self.chat.sync_faqs()
        return [e for e in self.chat.engine.faq_index.store if not e.small_talk]

    def categories(self, lang: str) -> list[Category]:
        by: dict[str, list[Article]] = {}
        for e in self._entries():
            by.setdefault(category_of(e), []).append(article(e, lang))
        return [Category(name, sorted(arts, key=lambda a: a.title.casefold())) for name, arts in sorted(by.items())]

    def article(self, faq_id: str, lang: str) -> Article | None:
        self.chat.sync_faqs()
        entry = self.chat.engine.faq_index.store.get(faq_id)
        return article(entry, lang) if entry is not None and not entry.small_talk else None

    def search(self, query: str, lang: str, limit: int = 8) -> list[Article]:
        """Articles for a question, best first: the entries the chat would consider. Empty when the
        chat would call the question out of scope."""
        self.chat.sync_faqs()
        engine = self.chat.engine
        X = engine.embedder.encode_query([query])  # encoded once: for the decision and the search
        decision = engine.predict([query], embeddings=X)[0]
        if decision.intent is None:
            return []
        store = engine.faq_index.store
        ids = [faq_id_of(c.intent) for c in decision.candidates if faq_id_of(c.intent)]
        if faq_id_of(decision.intent) and faq_id_of(decision.intent) not in ids:
            ids.insert(0, faq_id_of(decision.intent))
        hits = engine.faq_index.search(X, [query], k=limit)[0]
        ids += [h.faq_id for h in hits if h.faq_id not in ids]
        found = [store.get(i) for i in ids]
        return [article(e, lang) for e in found if e is not None and not e.small_talk][:limit]

    def related(self, faq_id: str, lang: str, limit: int = 3) -> list[Article]:
        """Other articles close to this one (by its title and phrasings)."""
        engine = self.chat.engine
        entry = engine.faq_index.store.get(faq_id)
        if entry is None:
            return []
        probe = entry.title_for(lang)
        hits = engine.faq_index.search(engine.embedder.encode_query([probe]), [probe], k=limit + 1)[0]
        out = [engine.faq_index.store.get(h.faq_id) for h in hits if h.faq_id != faq_id]
        return [article(e, lang) for e in out if e is not None and not e.small_talk][:limit]

    def feedback(self, faq_id: str, helpful: bool, lang: str | None, channel: str = "help") -> None:
        with self.chat.db.begin() as conn:
            record_feedback(conn, faq_id, helpful, channel, lang, self.chat.clock())
