#!/usr/bin/env python
"""How long the dashboard's figures take on a busy database.

Fills a fresh database (SQLite file, or --db) with N conversations of a few messages each over
30 days and a ticket for one in five, then times `bot.support.dashboard.collect` for the last day, week
and month (each open dashboard asks every 15 s), the desk's numbers (`bot.support.desk.figures`:
CSAT, first-contact resolution, containment, AI share, peak response, night resolution) and the
staffing heatmap (`desk.staffing`, Erlang C per team, weekday and hour), and one change-feed probe
(twice a second per server). One conversation in ten is rated; users come back (a client key
shared by three conversations on average).

    python scripts/dashboard_benchmark.py [--conversations 20000] [--db URL]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.db import make_engine, upgrade  # noqa: E402
from bot.interfaces.api.events import ChangeFeed  # noqa: E402
from bot.support.conversations import conversations, messages  # noqa: E402
from bot.support.dashboard import collect  # noqa: E402
from bot.support.desk import figures, load_period, staffing  # noqa: E402
from bot.support.satisfaction import csat  # noqa: E402
from escalation.sla import Team  # noqa: E402
from escalation.store import tickets  # noqa: E402

INTENTS = [f"faq/topic_{i}" for i in range(40)] + ["account_hacked", "request_human", None]


def fill(db, n: int, now: float, seed: int = 7) -> int:
    rnd = random.Random(seed)
    convs, msgs, tks, rates = [], [], [], []
    for i in range(n):
        cid = str(uuid.uuid4())
        t0 = now - rnd.random() * 30 * 86400
        solved = rnd.random() < 0.6
        convs.append(dict(id=cid, token_hash="x" * 64, channel="api", status="bot", created_at=t0,
                          state='{"state": "resolved", "tried": [{"user": "solved"}]}' if solved else "{}",
                          updated_at=t0 + 60, client=f"client-{rnd.randrange(max(1, n // 3))}"))
        if rnd.random() < 0.1:
            rates.append(dict(conversation_id=cid, score=rnd.randint(1, 5), answered_by="bot", agent=None,
                              intent=rnd.choice(INTENTS), created_at=t0 + 90, updated_at=t0 + 90))
        for j in range(rnd.randint(1, 4)):
            intent = rnd.choice(INTENTS)
            msgs.append(dict(id=str(uuid.uuid4()), conversation_id=cid, role="user", text="hello", buttons="[]",
                             created_at=t0 + j, intent=intent, route=rnd.choice(["answer", "confirm", "escalate"])))
            msgs.append(dict(id=str(uuid.uuid4()), conversation_id=cid, role="bot", text="hi", buttons="[]",
                             created_at=t0 + j, intent=None, route=None))
        if rnd.random() < 0.2:
            resolved = rnd.random() < 0.9
            tks.append(dict(id=str(uuid.uuid4()), conversation_id=cid, open_key=None if resolved else cid,
                            status="resolved" if resolved else "queued", priority=rnd.randint(0, 2), team="support",
                            created_at=t0, due_at=t0 + 1800, breached=rnd.random() < 0.1, packet="{}",
                            intent=rnd.choice(INTENTS), first_claimed_at=t0 + rnd.random() * 3600 if resolved else None,
                            resolved_at=t0 + 3600 + rnd.random() * 1800 if resolved else None, agent="ann"))
            if resolved:
                msgs.append(dict(id=str(uuid.uuid4()), conversation_id=cid, role="agent", text="on it", buttons="[]",
                                 created_at=t0 + 30 + rnd.random() * 600, intent=None, route=None))
    with db.begin() as conn:
        for table, rows in ((conversations, convs), (messages, msgs), (tickets, tks), (csat, rates)):
            for k in range(0, len(rows), 5000):
                conn.execute(table.insert(), rows[k:k + 5000])
    return len(msgs)


def timed(fn, repeat: int = 5) -> float:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return statistics.median(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--conversations", type=int, default=20000)
    ap.add_argument("--db", help="database URL of an EMPTY database (default: a fresh SQLite file)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = make_engine(args.db or f"sqlite:///{tmp}/dash.db")
        upgrade(db)
        now = time.time()
        n_msgs = fill(db, args.conversations, now)
        with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")  # table statistics, as autovacuum would gather them
        print(f"database: {db.dialect.name}; {args.conversations} conversations, {n_msgs} messages")
        for days in (1, 7, 30):
            ms = timed(lambda: collect(db, now - days * 86400, now))
            print(f"dashboard figures, last {days:>2} days: {ms:.1f} ms median of 5")
        teams = [Team("support", "UTC")]
        for days in (1, 7, 30):
            ms = timed(lambda: figures(load_period(db, now - days * 86400, now), teams,
                                       lambda i: i.startswith("faq/")), 3)
            st = timed(lambda: staffing(db, now - days * 86400, now, teams), 3)
            print(f"desk's numbers, last {days:>2} days: {ms:.1f} ms; staffing heatmap: {st:.1f} ms (median of 3)")
        feed = ChangeFeed(db)
        feed._max_seq = feed._probe()[1]
        print(f"change-feed probe: {timed(feed._probe, 20):.2f} ms median of 20")
        db.dispose()


if __name__ == "__main__":
    main()
