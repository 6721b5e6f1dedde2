"""How urgent a message is, and the priority a ticket gets.

The priority is the most urgent of: the intent's (or FAQ entry's) default priority; the urgency
read from the message itself by a classifier trained on the data's `- priority:` examples (so
"service down for everyone", "money missing", "account taken over" raise a routine intent to P0,
learnt from examples rather than keyword lists); and the conversation's context (customer tier,
repeat contacts in 24 hours, failed bot attempts). Every raise is explained ("P1 → P0: …").
"""
from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.vocabulary import Priority, most_urgent


@dataclass(frozen=True)
class Context:
    """What the caller knows about the user and the conversation."""

    tier: str | None = None  # "vip" / "premium" raise routine requests
    returns_24h: int = 0  # how many times this user came back in the last 24 hours
    failed_attempts: int = 0  # bot attempts that did not help, in a row

    @classmethod
    def from_json(cls, d: dict | None) -> "Context":
        d = d or {}
        return cls(tier=(str(d["tier"]).lower() if d.get("tier") else None),
                   returns_24h=int(d.get("returns_24h", 0) or 0),
                   failed_attempts=int(d.get("failed_attempts", 0) or 0))


PREMIUM_TIERS = frozenset({"vip", "premium", "enterprise", "gold"})


@dataclass(frozen=True)
class UrgencyThresholds:
    """The message's most likely urgency raises the priority when its probability reaches `p0` /
    `p1` (0: the most likely class always counts). `p0_any` raises to P0 whenever the P0
    probability reaches it, most likely class or not: a missed P0 costs far more than a false one
    (set at training time from out-of-fold scores; above 1: off)."""

    p0: float = 0.0
    p1: float = 0.0
    p0_any: float = 1.01

    def to_json(self) -> dict:
        return {"p0": self.p0, "p1": self.p1, "p0_any": self.p0_any}

    @classmethod
    def from_json(cls, d: dict) -> "UrgencyThresholds":
        return cls(float(d["p0"]), float(d["p1"]), float(d.get("p0_any", 1.01)))


@dataclass
class PriorityCall:
    priority: Priority
    reasons: list[str] = field(default_factory=list)


def _raise(call: PriorityCall, to: Priority, why: str) -> None:
    if to.rank < call.priority.rank:
        call.reasons.append(f"{call.priority.value} → {to.value}: {why}")
        call.priority = to


def prioritise(default: Priority, urgency: dict[str, float] | None, thresholds: UrgencyThresholds,
               context: Context, evidence: str | None = None) -> PriorityCall:
    """Combine the intent's default, the message's urgency and the context. Pure."""
    call = PriorityCall(default)
    if urgency:
        like = f" (like “{evidence}”)" if evidence else ""
        top = max(urgency, key=urgency.get)
        p0 = urgency.get("P0", 0.0)
        if (top == "P0" and p0 >= thresholds.p0) or p0 >= thresholds.p0_any:
            _raise(call, Priority.P0, f"urgent message, P0 probability {p0:.2f}{like}")
        elif top == "P1" and urgency[top] >= thresholds.p1:
            _raise(call, Priority.P1, f"important problem, P1 probability {urgency[top]:.2f}{like}")
    if context.tier in PREMIUM_TIERS:
        _raise(call, most_urgent(Priority.P1, call.priority), f"{context.tier} customer")
    if context.returns_24h >= 3:
        _raise(call, Priority.P1, f"came back {context.returns_24h} times in 24 hours")
    if context.failed_attempts >= 2:
        _raise(call, Priority.P1, f"{context.failed_attempts} failed bot attempts")
    return call
