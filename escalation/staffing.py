"""How many agents each hour needs, from the demand observed (Erlang C), and where demand falls.

Erlang C models a queue of contacts arriving at random (Poisson) to N agents who each take one at
a time for an exponentially distributed handle time. With traffic A = arrivals per second ×
average handle time (in Erlangs), the probability that a contact waits at all is

    P_wait = (A^N / N! · N / (N − A)) / (Σ_{k<N} A^k / k! + A^N / N! · N / (N − A))     (N > A)

and the share answered within a target time T is

    service level = 1 − P_wait · exp(−(N − A) · T / AHT).

The agents needed are the smallest N > A that reach the wanted service level (80% within the
priority's reply time by default). Computed with the Erlang B recursion (B_0 = 1,
B_n = A·B_{n−1} / (n + A·B_{n−1}); C = N·B / (N − A·(1 − B))) so large N cannot overflow.
Pure functions: the dashboard feeds them arrivals and handle times from the database.
"""
from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def erlang_b(n: int, traffic: float) -> float:
    """Blocking probability of n servers offered `traffic` Erlangs."""
    b = 1.0
    for k in range(1, n + 1):
        b = traffic * b / (k + traffic * b)
    return b


def erlang_c(n: int, traffic: float) -> float:
    """Probability that a contact waits, with n agents and `traffic` Erlangs (1.0 when n ≤ A)."""
    if traffic <= 0:
        return 0.0
    if n <= traffic:
        return 1.0
    b = erlang_b(n, traffic)
    return n * b / (n - traffic * (1 - b))


def service_level(n: int, traffic: float, handle_seconds: float, target_seconds: float) -> float:
    """Share of contacts answered within `target_seconds`."""
    if traffic <= 0:
        return 1.0
    if n <= traffic:
        return 0.0
    return 1.0 - erlang_c(n, traffic) * math.exp(-(n - traffic) * target_seconds / handle_seconds)


def agents_needed(arrivals_per_hour: float, handle_seconds: float, target_seconds: float,
                  wanted: float = 0.8, limit: int = 10_000) -> int:
    """The fewest agents that answer `wanted` of contacts within `target_seconds` (0 without demand)."""
    if arrivals_per_hour <= 0:
        return 0
    if handle_seconds <= 0:
        raise ValueError("handle time must be positive")
    traffic = arrivals_per_hour / 3600 * handle_seconds
    n = max(1, math.floor(traffic) + 1)
    while service_level(n, traffic, handle_seconds, target_seconds) < wanted:
        n += 1
        if n > limit:
            raise ValueError(f"more than {limit} agents needed: check the arrivals and handle time")
    return n


@dataclass(frozen=True)
class Heatmap:
    """Average arrivals per weekday (0 = Monday) × hour (0–23) in a timezone, over a period."""
    counts: list[list[int]]  # [weekday][hour] contacts seen
    weeks: list[int]  # how many of each weekday the period holds (the divisor of an average)

    def rate(self, day: int, hour: int) -> float:
        """Average arrivals in that hour of that weekday (per hour)."""
        return self.counts[day][hour] / self.weeks[day] if self.weeks[day] else 0.0


def weekday_counts(since: datetime, until: datetime) -> list[int]:
    """How many times each weekday occurs (at least partly) in [since, until)."""
    out = [0] * 7
    day = since.date()
    while datetime.combine(day, datetime.min.time(), since.tzinfo) < until:
        out[day.weekday()] += 1
        day += timedelta(days=1)
    return out


def heatmap(times: Iterable[float], since: float, until: float, tz=timezone.utc) -> Heatmap:
    counts = [[0] * 24 for _ in range(7)]
    for ts in times:
        local = datetime.fromtimestamp(ts, tz)
        counts[local.weekday()][local.hour] += 1
    return Heatmap(counts, weekday_counts(datetime.fromtimestamp(since, tz), datetime.fromtimestamp(until, tz)))
