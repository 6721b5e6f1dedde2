"""The desk's numbers for a period, against its targets; and the staffing the demand needs.

Definitions (what the API knows, said plainly; docs/dashboard.md repeats them):

- A conversation belongs to the period when a user wrote in it during the period.
- **Resolved**: the user said an answer solved it (or thanked the bot right after one), or an
  agent resolved its ticket.
- **First-contact resolution**: a resolved conversation after which the same user did not start
  another conversation on one of its intents within `fcr_window_days`. "Same user" is the Rasa
  channel's sender id when there is one, else the keyed hash of the client's network address
  that each conversation records: users behind one address (an office, a carrier's NAT) count as
  one, and one user on two networks counts as two. Conversations resolved less than the window
  ago can still turn out to be repeats.
- **Containment**: conversations never handed to a person (no ticket).
- **AI share of basic queries**: of conversations whose first classified question is a basic one
  (an intent or FAQ entry of simple complexity and normal priority P2, small talk excepted), the
  share the bot handled without a ticket.
- **Response at the busiest hour**: ticket opened to the first agent reply, p50 and p95, for
  tickets opened in the hour of the day (display timezone) that opened the most.
- **Night-time resolution**: of conversations started while no team was working, the share
  resolved.
- **CSAT**: ratings given in the period (mean and 1–5 distribution), the bot's beside the agents'.
"""
from __future__ import annotations

import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from bot.core.db import reading
from bot.core.vocabulary import Priority
from bot.support.conversations import conversations, messages
from bot.support.dialogue import HUMAN_INTENTS, State
from bot.support.satisfaction import csat
from escalation.sla import Team, WorkingHours, is_working
from escalation.staffing import agents_needed, heatmap
from escalation.store import Status, tickets

#: Conversation ids listed behind one figure (the newest first).
LINKED = 200


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: float | None
    target: float | None
    higher_is_better: bool
    n: int  # how many conversations (or ratings) the figure is computed over
    conversations: list[str] = field(default_factory=list)  # the ones behind it (for a figure that
    # is a share: the ones that count against it)
    detail: dict = field(default_factory=dict)

    @property
    def on_target(self) -> bool | None:
        if self.value is None or self.target is None:
            return None
        return self.value >= self.target if self.higher_is_better else self.value <= self.target


@dataclass(frozen=True)
class Targets:
    csat: float = 4.8
    first_contact_resolution: float = 0.78
    ai_basic_share: float = 0.70
    night_resolution: float = 0.85
    peak_response_seconds: float = 45.0


@dataclass
class _Conv:
    id: str
    user: str | None
    start: float
    end: float
    resolved: bool
    intents: set[str]
    first_intent: str | None
    ticketed: bool


def _share(num: int, den: int) -> float | None:
    return num / den if den else None


def _pct(values: list[float], q: float) -> float | None:
    """The q-quantile, interpolated between the two nearest values (as numpy's default)."""
    if not values:
        return None
    s = sorted(values)
    pos = q * (len(s) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def _newest(convs: list[_Conv]) -> list[str]:
    return [c.id for c in sorted(convs, key=lambda c: -c.start)][:LINKED]


def _load(conn, since: float, now: float) -> tuple[dict[str, _Conv], list, dict[str, list[float]]]:
    m, t, c = messages, tickets, conversations
    firsts: dict[str, tuple[float, str | None]] = {}
    intents: dict[str, set[str]] = defaultdict(set)
    in_period = (m.c.role == "user") & (m.c.created_at >= since) & (m.c.created_at <= now)
    for cid, at, intent in conn.execute(select(m.c.conversation_id, m.c.created_at, m.c.intent)
                                        .where(in_period).order_by(m.c.seq)):
        firsts.setdefault(cid, (at, None))
        if intent and intent not in HUMAN_INTENTS:
            intents[cid].add(intent)
            if firsts[cid][1] is None:
                firsts[cid] = (firsts[cid][0], intent)
    # The period's conversations, their tickets and agents' replies: one query each (a subquery
    # of the period's conversations, not a list of ids).
    ids = select(m.c.conversation_id).where(in_period).distinct().scalar_subquery()
    rows = conn.execute(select(c.c.id, c.c.sender_key, c.c.client, c.c.status, c.c.state, c.c.updated_at)
                        .where(c.c.id.in_(ids))).all()
    trows = conn.execute(select(t.c.conversation_id, t.c.created_at, t.c.status, t.c.intent)
                         .where(t.c.conversation_id.in_(ids))).all()
    replies = defaultdict(list)
    for cid, at in conn.execute(select(m.c.conversation_id, m.c.created_at)  # replies to the period's tickets
                                .where(m.c.role == "agent", m.c.created_at >= since, m.c.conversation_id.in_(ids))):
        replies[cid].append(at)
    by_conv = defaultdict(list)
    for r in trows:
        by_conv[r.conversation_id].append(r)
    out = {}
    for r in rows:
        ts = by_conv.get(r.id, [])
        # "solved" in the dialogue's record of what the user said (parsed only when it may be there)
        said_solved = r.status == State.RESOLVED.value or ('"solved"' in r.state and any(
            x.get("user") == "solved" for x in json.loads(r.state).get("tried", [])))
        out[r.id] = _Conv(r.id, r.sender_key or r.client, firsts[r.id][0], r.updated_at,
                          said_solved or any(x.status == Status.RESOLVED.value for x in ts),
                          intents[r.id] | {x.intent for x in ts if x.intent}, firsts[r.id][1], bool(ts))
    return out, trows, replies


@dataclass(frozen=True)
class Period:
    """A period's conversations, tickets, agents' replies and ratings, read once for every figure."""
    since: float
    now: float
    convs: dict
    tickets: list
    replies: dict
    ratings: list


def load_period(db: Engine, since: float, now: float) -> Period:
    with reading(db) as conn:
        convs, trows, replies = _load(conn, since, now)
        ratings = conn.execute(select(csat.c.conversation_id, csat.c.score, csat.c.answered_by, csat.c.agent,
                                      csat.c.updated_at)
                               .where(csat.c.updated_at >= since, csat.c.updated_at <= now)).all()
    return Period(since, now, convs, trows, replies, ratings)


def figures(p: Period, teams: list[Team], basic: Callable[[str], bool], targets: Targets = Targets(),
            fcr_window_days: float = 7.0, tz: str = "UTC") -> list[Figure]:
    since, now, convs, trows, replies, ratings = p.since, p.now, p.convs, p.tickets, p.replies, p.ratings
    all_convs = list(convs.values())
    out = [_csat(ratings, targets)]

    # First-contact resolution: a repeat is a later conversation of the same user on a shared intent.
    window = fcr_window_days * 86400
    by_user = defaultdict(list)
    for c in all_convs:
        if c.user:
            by_user[c.user].append(c)
    resolved = [c for c in all_convs if c.resolved]
    repeats = [c for c in resolved if any(o.id != c.id and o.start > c.start and o.start - c.end <= window
                                          and o.intents & c.intents for o in by_user.get(c.user or "", []))]
    out.append(Figure("first_contact_resolution", "First-contact resolution",
                      _share(len(resolved) - len(repeats), len(resolved)), targets.first_contact_resolution, True,
                      len(resolved), _newest(repeats), {"repeats": len(repeats)}))

    handed = [c for c in all_convs if c.ticketed]
    out.append(Figure("containment", "Handled without a person (containment)",
                      _share(len(all_convs) - len(handed), len(all_convs)), None, True, len(all_convs),
                      _newest(handed), {"handed_to_person": len(handed)}))

    basic_convs = [c for c in all_convs if c.first_intent and basic(c.first_intent)]
    basic_handed = [c for c in basic_convs if c.ticketed]
    out.append(Figure("ai_basic_share", "Basic questions the bot handled",
                      _share(len(basic_convs) - len(basic_handed), len(basic_convs)), targets.ai_basic_share, True,
                      len(basic_convs), _newest(basic_handed)))

    out.append(_peak_response([r for r in trows if since <= r.created_at <= now], replies, targets, ZoneInfo(tz)))

    working = WorkingHours(teams, since, now)
    night = [c for c in all_convs if teams and not working(c.start)]
    unresolved = [c for c in night if not c.resolved]
    out.append(Figure("night_resolution", "Resolved outside human hours", _share(len(night) - len(unresolved),
                      len(night)), targets.night_resolution, True, len(night), _newest(unresolved)))
    return out


def _csat(ratings, targets: Targets) -> Figure:
    scores = [r.score for r in ratings]
    by = defaultdict(list)
    per_agent = defaultdict(list)
    for r in ratings:
        by[r.answered_by].append(r.score)
        if r.agent:
            per_agent[r.agent].append(r.score)
    mean = lambda xs: round(statistics.fmean(xs), 3) if xs else None  # noqa: E731
    dist = Counter(scores)
    return Figure("csat", "Satisfaction (CSAT, 1–5)", mean(scores), targets.csat, True, len(scores),
                  [r.conversation_id for r in ratings if r.score <= 3][:LINKED],
                  {"distribution": {str(s): dist.get(s, 0) for s in range(1, 6)},
                   "bot": {"mean": mean(by["bot"]), "n": len(by["bot"])},
                   "agents": {"mean": mean(by["agent"]), "n": len(by["agent"])},
                   "per_agent": {a: {"mean": mean(v), "n": len(v)} for a, v in sorted(per_agent.items())}})


def _peak_response(trows, replies: dict[str, list[float]], targets: Targets, tz) -> Figure:
    """First human reply after each ticket opened, at the hour of day that opened most tickets."""
    waits: dict[int, list[tuple[float, str]]] = defaultdict(list)
    opened = Counter()
    for r in trows:
        hour = datetime.fromtimestamp(r.created_at, tz).hour
        opened[hour] += 1
        first = min((a for a in replies.get(r.conversation_id, []) if a >= r.created_at), default=None)
        if first is not None:
            waits[hour].append((first - r.created_at, r.conversation_id))
    if not opened:
        return Figure("peak_response", "First human reply at the busiest hour (p50)", None,
                      targets.peak_response_seconds, False, 0)
    busiest = max(sorted(opened), key=lambda h: opened[h])
    w = sorted(waits[busiest])
    values = [x for x, _ in w]
    everyone = [x for ws in waits.values() for x, _ in ws]
    return Figure("peak_response", "First human reply at the busiest hour (p50)", _pct(values, 0.5),
                  targets.peak_response_seconds, False, len(values),
                  [cid for x, cid in reversed(w) if x > targets.peak_response_seconds][:LINKED],
                  {"busiest_hour": busiest, "tickets_opened": opened[busiest], "p95": _pct(values, 0.95),
                   "all_hours_p50": _pct(everyone, 0.5), "all_hours_p95": _pct(everyone, 0.95)})


# -- staffing ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TeamStaffing:
    team: str
    demand: dict[str, list[list[float]]]  # priority -> [weekday][hour] average tickets opened
    needed: list[list[int]]  # [weekday][hour] agents needed (the priorities' queues added up)
    staffed: list[list[bool]]  # [weekday][hour] the team's working hours
    handle_seconds: dict[str, float]


def _works(team: Team, day: int, hour: int, tz) -> bool:
    """Whether `team` works at `hour` (in `tz`) on weekday `day`, in a reference week."""
    ref = datetime(2024, 1, 1 + day, hour, 30, tzinfo=tz)  # 2024-01-01 is a Monday
    return is_working(ref.astimezone(timezone.utc), [team])


def staffing(db: Engine, since: float, now: float, teams: list[Team], service_level: float = 0.8,
             p2_target_hours: float = 8.0, tz: str = "UTC", default_handle_seconds: float = 600.0
             ) -> list[TeamStaffing]:
    """Demand per weekday × hour per team and priority, and the agents each hour needs to answer
    `service_level` of tickets within their priority's reply time (Erlang C)."""
    t = tickets
    with reading(db) as conn:
        rows = conn.execute(select(t.c.team, t.c.priority, t.c.created_at, t.c.first_claimed_at, t.c.resolved_at)
                            .where(t.c.created_at >= since, t.c.created_at <= now)).all()
    zone = ZoneInfo(tz)
    names = {p.rank: p for p in Priority}
    handle = defaultdict(list)
    for r in rows:
        if r.first_claimed_at is not None and r.resolved_at is not None and r.resolved_at > r.first_claimed_at:
            handle[names[r.priority]].append(r.resolved_at - r.first_claimed_at)
    overall = [x for v in handle.values() for x in v]
    fallback = statistics.fmean(overall) if overall else default_handle_seconds
    aht = {p: statistics.fmean(handle[p]) if handle[p] else fallback for p in Priority}
    target = {p: (p.sla.total_seconds() if p.sla else p2_target_hours * 3600) for p in Priority}
    out = []
    for team in teams:
        mine = [r for r in rows if r.team == team.name]
        demand, needed = {}, [[0] * 24 for _ in range(7)]
        for p in Priority:
            h = heatmap([r.created_at for r in mine if r.priority == p.rank], since, now, zone)
            demand[p.value] = [[round(h.rate(d, hr), 3) for hr in range(24)] for d in range(7)]
            for d in range(7):
                for hr in range(24):
                    needed[d][hr] += agents_needed(h.rate(d, hr), aht[p], target[p], service_level)
        out.append(TeamStaffing(team.name, demand, needed,
                                [[_works(team, d, hr, zone) for hr in range(24)] for d in range(7)],
                                {p.value: round(aht[p], 1) for p in Priority}))
    return out




# -- trends and people ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Day:
    day: str  # YYYY-MM-DD in the display timezone
    conversations: int
    contained: int
    escalations: int
    csat_mean: float | None
    ratings: int


@dataclass(frozen=True)
class Performer:
    name: str  # a team or an agent
    tickets: int  # opened for the team / resolved by the agent
    resolved: int
    median_first_reply_seconds: float | None
    median_handle_seconds: float | None
    breaches: int
    csat_mean: float | None
    ratings: int


def trends(p: Period, tz: str = "UTC") -> list[Day]:
    """Per day of the period: conversations, how many no person handled, escalations, CSAT."""
    zone = ZoneInfo(tz)
    day = lambda ts: datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d")  # noqa: E731
    since, now, convs, trows = p.since, p.now, p.convs, p.tickets
    ratings = [(r.score, r.updated_at) for r in p.ratings]
    days: dict[str, list] = {}
    d = datetime.fromtimestamp(since, zone).date()
    while d <= datetime.fromtimestamp(now, zone).date():
        days[d.isoformat()] = [0, 0, 0, []]
        d = d.fromordinal(d.toordinal() + 1)
    for c in convs.values():
        row = days.setdefault(day(c.start), [0, 0, 0, []])
        row[0] += 1
        row[1] += not c.ticketed
    for r in trows:
        if since <= r.created_at <= now:
            days.setdefault(day(r.created_at), [0, 0, 0, []])[2] += 1
    for score, at in ratings:
        days.setdefault(day(at), [0, 0, 0, []])[3].append(score)
    return [Day(k, v[0], v[1], v[2], round(statistics.fmean(v[3]), 2) if v[3] else None, len(v[3]))
            for k, v in sorted(days.items())]


def people(db: Engine, since: float, now: float) -> tuple[list[Performer], list[Performer]]:
    """Figures per team (tickets opened in the period) and per agent (tickets they resolved)."""
    m, t = messages, tickets
    with reading(db) as conn:
        rows = conn.execute(select(t.c.team, t.c.agent, t.c.status, t.c.created_at, t.c.first_claimed_at,
                                   t.c.resolved_at, t.c.breached, t.c.conversation_id)
                            .where(t.c.created_at >= since, t.c.created_at <= now)).all()
        first_reply = dict(conn.execute(select(m.c.conversation_id, func.min(m.c.created_at))
                                        .where(m.c.role == "agent", m.c.created_at >= since)
                                        .group_by(m.c.conversation_id)).all())
        rated = conn.execute(select(csat.c.agent, csat.c.score).where(csat.c.updated_at >= since, csat.c.updated_at <= now,
                                                                     csat.c.agent.is_not(None))).all()
    scores = defaultdict(list)
    for agent, score in rated:
        scores[agent].append(score)

    def figures_of(name: str, group, rated_scores) -> Performer:
        replies = [first_reply[r.conversation_id] - r.created_at for r in group
                   if r.conversation_id in first_reply and first_reply[r.conversation_id] >= r.created_at]
        handles = [r.resolved_at - r.first_claimed_at for r in group
                   if r.resolved_at is not None and r.first_claimed_at is not None and r.resolved_at >= r.first_claimed_at]
        return Performer(name, len(group), sum(r.status == Status.RESOLVED.value for r in group),
                         statistics.median(replies) if replies else None,
                         statistics.median(handles) if handles else None, sum(bool(r.breached) for r in group),
                         round(statistics.fmean(rated_scores), 2) if rated_scores else None, len(rated_scores))

    teams, agents = defaultdict(list), defaultdict(list)
    for r in rows:
        teams[r.team].append(r)
        if r.agent and r.status == Status.RESOLVED.value:
            agents[r.agent].append(r)
    return ([figures_of(k, v, []) for k, v in sorted(teams.items())],
            [figures_of(k, v, scores.get(k, [])) for k, v in sorted(agents.items())])
