"""Service levels: when a ticket is due, from its priority and the teams' business hours.

Pure functions over timezone-aware datetimes. A priority on the round-the-clock clock (P0 by
default) is due its promise after creation in plain wall-clock time, whatever the hours: outside
every team's hours an on-call person is paged. Other promises (P1's 2 hours) count only time when
at least one eligible team is working; teams in different timezones therefore hand over to each
other. P2 is due at the close of the next business day.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.core.vocabulary import Priority

ALL_DAYS = frozenset(range(7))  # Monday = 0


@dataclass(frozen=True)
class Team:
    """A support team with its working hours in its own timezone."""

    name: str
    timezone: str = "UTC"
    opens: time = time(8, 0)
    closes: time = time(22, 0)
    days: frozenset[int] = ALL_DAYS
    languages: tuple[str, ...] = ("en", "zh")
    skills: tuple[str, ...] = field(default_factory=tuple)  # domains; empty means any

    def __post_init__(self):
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"team {self.name}: unknown timezone {self.timezone!r}") from None
        if self.closes <= self.opens:
            raise ValueError(f"team {self.name}: closing time must be after opening time")

    def window_on(self, day: date) -> tuple[datetime, datetime] | None:
        """Working window on a local calendar day, in UTC, or None if the team is off."""
        if day.weekday() not in self.days:
            return None
        tz = ZoneInfo(self.timezone)
        start = datetime.combine(day, self.opens, tz).astimezone(timezone.utc)
        end = datetime.combine(day, self.closes, tz).astimezone(timezone.utc)
        return start, end

    def can_take(self, language: str | None, domain: str | None) -> bool:
        lang_ok = language is None or language in self.languages
        skill_ok = not self.skills or domain is None or domain in self.skills
        return lang_ok and skill_ok


def _windows(teams: list[Team], start: datetime, horizon_days: int) -> list[tuple[datetime, datetime]]:
    """Merged UTC working windows of `teams`, from the day before `start` for `horizon_days`."""
    spans = []
    for team in teams:
        local = start.astimezone(ZoneInfo(team.timezone)).date()
        for d in range(-1, horizon_days):
            w = team.window_on(local + timedelta(days=d))
            if w and w[1] > start:
                spans.append(w)
    spans.sort()
    merged: list[tuple[datetime, datetime]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def add_working_time(start: datetime, amount: timedelta, teams: list[Team]) -> datetime:
    """The moment `amount` of covered time (any team working) has passed after `start`."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    if not teams:
        raise ValueError("at least one team is needed")
    left = amount
    for s, e in _windows(teams, start, horizon_days=15):
        s = max(s, start)
        if e <= s:
            continue
        if e - s >= left:
            return s + left
        left -= e - s
    raise ValueError("no working hours within two weeks: check the teams' days")


def next_business_day_close(start: datetime, team: Team) -> datetime:
    """Close of the first working day after `start`'s local date."""
    local = start.astimezone(ZoneInfo(team.timezone)).date()
    for d in range(1, 15):
        w = team.window_on(local + timedelta(days=d))
        if w:
            return w[1]
    raise ValueError(f"team {team.name} has no working day within two weeks")


def due_at(priority: Priority, created: datetime, teams: list[Team], round_the_clock: bool = False) -> datetime:
    """When the first human reply is due for a ticket that `teams` can take. On the
    round-the-clock clock the promise is wall-clock time from `created`."""
    if priority.sla is not None:
        if round_the_clock:
            return created + priority.sla
        return add_working_time(created, priority.sla, teams)
    return min(next_business_day_close(created, t) for t in teams)


class WorkingHours:
    """Whether any of `teams` works at a moment, for many moments of one period (one list of
    windows, then a binary search per moment)."""

    def __init__(self, teams: list[Team], since: float, until: float):
        import bisect

        self._bisect = bisect.bisect_right
        start = datetime.fromtimestamp(since, timezone.utc)
        days = int((until - since) // 86400) + 2
        windows = _windows(teams, start, days) if teams else []
        self._starts = [w[0].timestamp() for w in windows]
        self._ends = [w[1].timestamp() for w in windows]

    def __call__(self, ts: float) -> bool:
        i = self._bisect(self._starts, ts) - 1
        return i >= 0 and ts < self._ends[i]


def is_working(now: datetime, teams: list[Team]) -> bool:
    return any(s <= now < e for s, e in _windows(teams, now, horizon_days=1))


def pick_team(teams: list[Team], now: datetime) -> Team:
    """The team to queue a ticket for: the first one working now, else the one that opens first."""
    for team in teams:
        if is_working(now, [team]):
            return team

    def opens(team: Team) -> datetime:
        windows = _windows([team], now, horizon_days=15)
        return windows[0][0] if windows else datetime.max.replace(tzinfo=timezone.utc)
    return min(teams, key=opens)

