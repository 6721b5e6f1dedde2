"""What the dashboard shows, counted from the database (so every server shows the same figures)."""
from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Integer, cast, func, select
from sqlalchemy.engine import Engine

from bot.core.db import reading
from bot.core.vocabulary import Priority
from bot.support.conversations import messages
from escalation.store import Status, tickets


@dataclass(frozen=True)
class IntentCount:
    intent: str
    messages: int
    escalated: int


@dataclass(frozen=True)
class Stats:
    since: float
    now: float
    conversations: int  # with at least one user message in the period
    contained: int  # of those, never handed to a person
    messages: int
    routes: dict[str, int]
    escalations: dict[str, int]  # tickets opened per priority
    breaches: dict[str, int]
    waiting: int
    median_wait_seconds: float | None  # opening to first claim, claimed tickets of the period
    busiest: list[IntentCount] = field(default_factory=list)

    @property
    def containment_rate(self) -> float | None:
        return self.contained / self.conversations if self.conversations else None


def collect(db: Engine, since: float, now: float, top: int = 10) -> Stats:
    m, t = messages, tickets
    user = (m.c.role == "user") & (m.c.created_at >= since)
    with reading(db) as conn:
        convs = {r[0] for r in conn.execute(select(m.c.conversation_id).where(user).distinct())}
        ticketed = {r[0] for r in conn.execute(
            select(t.c.conversation_id).where(t.c.conversation_id.is_not(None), t.c.created_at >= since).distinct())}
        routes = dict(conn.execute(select(m.c.route, func.count()).where(user, m.c.route.is_not(None))
                                   .group_by(m.c.route)).all())
        n_msgs = conn.execute(select(func.count()).where(user)).scalar_one()
        per_prio = {p: (n, b) for p, n, b in conn.execute(
            select(t.c.priority, func.count(), func.coalesce(func.sum(cast(t.c.breached, Integer)), 0))
            .where(t.c.created_at >= since).group_by(t.c.priority))}
        waits = [r[0] - r[1] for r in conn.execute(
            select(t.c.first_claimed_at, t.c.created_at).where(t.c.created_at >= since,
                                                               t.c.first_claimed_at.is_not(None)))]
        waiting = conn.execute(select(func.count()).where(t.c.status == Status.QUEUED.value)).scalar_one()
        asked = conn.execute(select(m.c.intent, func.count().label("n")).where(user, m.c.intent.is_not(None))
                             .group_by(m.c.intent).order_by(func.count().desc(), m.c.intent).limit(top)).all()
        esc = dict(conn.execute(select(t.c.intent, func.count()).where(t.c.created_at >= since, t.c.intent.is_not(None))
                                .group_by(t.c.intent)).all())
    names = {p.rank: p.value for p in Priority}
    return Stats(
        since=since, now=now, conversations=len(convs), contained=len(convs - ticketed), messages=n_msgs,
        routes={k: routes.get(k, 0) for k in ("answer", "confirm", "escalate")},
        escalations={names[r]: per_prio.get(r, (0, 0))[0] for r in sorted(names)},
        breaches={names[r]: int(per_prio.get(r, (0, 0))[1]) for r in sorted(names)},
        waiting=waiting, median_wait_seconds=statistics.median(waits) if waits else None,
        busiest=[IntentCount(i, n, esc.get(i, 0)) for i, n in asked])


@dataclass(frozen=True)
class EvaluationReport:
    directory: Path
    summary: dict
    plots: list[str]  # file names of PNGs in the directory


def latest_report(reports_dir: Path | None) -> EvaluationReport | None:
    """The newest `triage evaluate --report` directory under `reports_dir` (by its report.json)."""
    if reports_dir is None or not Path(reports_dir).is_dir():
        return None
    found = sorted(Path(reports_dir).glob("*/report.json"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in found:
        try:
            summary = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        return EvaluationReport(path.parent, summary, sorted(p.name for p in path.parent.glob("*.png")))
    return None
