"""FAQ entries and an in-memory store of them. Entries are answerable content, editable live."""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from bot.core.vocabulary import SMALL_TALK_TAGS, Complexity, Priority


@dataclass
class FaqEntry:
    id: str
    questions: list[str]
    #: Answer text per language code ("en", "zh", ...).
    answers: dict[str, str]
    lang: str | None = None
    tags: list[str] = field(default_factory=list)
    complexity: Complexity = Complexity.SIMPLE
    priority: Priority = Priority.P2
    #: What a "Did you mean…?" button says, per language ({"en": "Trading fees", "zh": "交易手续费"};
    #: "*": any language). Without one, the first phrasing in the user's language.
    titles: dict[str, str] = field(default_factory=dict)
    #: The phrasings' languages, detected on first need and again when the phrasings or the
    #: languages change (a "Did you mean…?" button is titled on every medium-confidence turn).
    _langs: tuple | None = field(default=None, init=False, repr=False, compare=False)

    def question_langs(self) -> list[str]:
        from bot.core.i18n import registry

        reg, questions, memo = registry(), tuple(self.questions), self._langs
        if memo is None or memo[0] is not reg or memo[1] != questions:
            memo = self._langs = (reg, questions, [reg.detect(q) for q in questions])
        return memo[2]

    def title_for(self, lang: str | None) -> str:
        same = next((q for q, ql in zip(self.questions, self.question_langs()) if ql == lang), None) if lang else None
        return (self.titles.get(lang or "") or self.titles.get("*") or same
                or self.titles.get("en") or next(iter(self.titles.values()), None) or self.questions[0])

    @property
    def small_talk(self) -> bool:
        """Greetings, thanks and goodbyes: answered at once, never confirmed or followed up."""
        return any(t.lower() in SMALL_TALK_TAGS for t in self.tags)

    def answer_for(self, lang: str | None) -> str:
        """The answer in `lang` if written, else the entry's own language, else English, else any."""
        for key in (lang, self.lang, "en"):
            if key and key in self.answers:
                return self.answers[key]
        return next(iter(self.answers.values()))

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "questions": list(self.questions),
            "answers": dict(self.answers),
            "lang": self.lang,
            "tags": list(self.tags),
            "complexity": self.complexity.value,
            "priority": self.priority.value,
            **({"titles": dict(self.titles)} if self.titles else {}),
        }

    @classmethod
    def from_json(cls, d: dict) -> "FaqEntry":
        return cls(
            id=d["id"],
            questions=list(d["questions"]),
            answers=dict(d["answers"]),
            lang=d.get("lang"),
            tags=list(d.get("tags", [])),
            complexity=Complexity(d.get("complexity", "simple")),
            priority=Priority(d.get("priority", "P2")),
            titles=dict(d.get("titles", {})),
        )


class FaqStore:
    """Entries by id, in insertion order. Pure data: persistence lives at the edges."""

    def __init__(self, entries: Iterable[FaqEntry] = ()):
        self._entries: dict[str, FaqEntry] = {}
        for e in entries:
            self.put(e)

    def put(self, entry: FaqEntry) -> None:
        if not entry.questions:
            raise ValueError(f"FAQ entry {entry.id!r} has no questions")
        if not entry.answers:
            raise ValueError(f"FAQ entry {entry.id!r} has no answer")
        self._entries[entry.id] = entry

    def delete(self, faq_id: str) -> None:
        del self._entries[faq_id]

    def get(self, faq_id: str) -> FaqEntry | None:
        return self._entries.get(faq_id)

    def __contains__(self, faq_id: object) -> bool:
        return faq_id in self._entries

    def __iter__(self) -> Iterator[FaqEntry]:
        return iter(list(self._entries.values()))

    def __len__(self) -> int:
        return len(self._entries)

    def to_json(self) -> str:
        return json.dumps([e.to_json() for e in self], ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> "FaqStore":
        return cls(FaqEntry.from_json(d) for d in json.loads(text))
