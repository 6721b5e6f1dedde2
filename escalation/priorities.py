"""Ticket priorities, complexity levels and the reply-time promise attached to each priority."""
from __future__ import annotations

from datetime import timedelta
from enum import Enum


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
