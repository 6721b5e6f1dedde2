"""The shared vocabulary every layer speaks: priorities (and the reply-time promise of each),
complexity levels, the out-of-scope label, FAQ labels and an intent's triage metadata.

Imports nothing of the project."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import Enum
from typing import Protocol


class Priority(str, Enum):
    """P0: service unusable or money/security at risk; P1: important; P2: normal."""

    P0 = "P0"
    P1 = "P1"
    P2 = "P2"

    @property
    def rank(self) -> int:
        """0 is the most urgent."""
        return int(self.value[1])

    @property
    def sla(self) -> timedelta | None:
        """Time to first reply; None for P2, which is due the next business day."""
        return _SLA[self]

    @property
    def description(self) -> str:
        return _DESCRIPTION[self]


_SLA = {Priority.P0: timedelta(minutes=30), Priority.P1: timedelta(hours=2), Priority.P2: None}
_DESCRIPTION = {
    Priority.P0: "service unusable or money/security at risk: reply within 30 minutes",
    Priority.P1: "important: reply within 2 hours",
    Priority.P2: "normal: reply by the next business day",
}


class Complexity(str, Enum):
    """How much of a request the bot may handle alone. Complex always goes to a person."""

    SIMPLE = "simple"
    MEDIUM = "medium"
    COMPLEX = "complex"


def most_urgent(*priorities: Priority) -> Priority:
    return min(priorities, key=lambda p: p.rank)


#: The label of messages the bot must not claim to know (Rasa's convention).
OUT_OF_SCOPE = "out_of_scope"
FAQ_LABEL_PREFIX = "faq/"
#: Above a size (`faq_classifier_max_entries`) the classifier learns one class for every FAQ
#: entry together ("some FAQ entry") and retrieval says which entry.
FAQ_ANY = "faq_any"
#: Tags that mark an FAQ entry as small talk (greetings, thanks, goodbyes).
SMALL_TALK_TAGS = frozenset({"smalltalk", "small_talk", "chitchat"})


def faq_label(faq_id: str) -> str:
    """The classifier label of an FAQ entry, after Rasa's retrieval intents (`faq/ask_fees`)."""
    return FAQ_LABEL_PREFIX + faq_id


def faq_id_of(label: str | None) -> str | None:
    if label and label.startswith(FAQ_LABEL_PREFIX):
        return label[len(FAQ_LABEL_PREFIX):]
    return None


class _FaqLike(Protocol):
    complexity: Complexity
    priority: Priority
    tags: list[str]

    @property
    def small_talk(self) -> bool: ...


@dataclass(frozen=True)
class IntentMeta:
    """An intent's or FAQ entry's triage metadata."""

    complexity: Complexity = Complexity.SIMPLE
    priority: Priority = Priority.P2
    domain: str | None = None
    #: Greetings, thanks, goodbyes: answered at once, with no "Did this solve it?" after them.
    small_talk: bool = False
    #: Button titles per language ({"en": "Dispute a transaction", "zh": "交易争议"}; "*": any).
    titles: dict[str, str] = field(default_factory=dict, hash=False, compare=False)

    def to_json(self) -> dict:
        return {"complexity": self.complexity.value, "priority": self.priority.value, "domain": self.domain,
                "small_talk": self.small_talk, "titles": dict(self.titles)}

    @classmethod
    def from_json(cls, d: dict) -> "IntentMeta":
        return cls(Complexity(d["complexity"]), Priority(d["priority"]), d.get("domain"),
                   bool(d.get("small_talk", False)), dict(d.get("titles") or {}))

    @classmethod
    def of_faq(cls, entry: _FaqLike) -> "IntentMeta":
        """An FAQ entry's triage metadata; its first tag is its domain."""
        return cls(entry.complexity, entry.priority, entry.tags[0] if entry.tags else None, entry.small_talk,
                   dict(getattr(entry, "titles", {}) or {}))
