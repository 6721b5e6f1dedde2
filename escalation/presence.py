"""Which agents are online, in the database so that every server counts the same people."""
from __future__ import annotations

from sqlalchemy import Column, Float, String, Table, func, select, update
from sqlalchemy.exc import IntegrityError

from bot.core.db import metadata

staff_seen = Table(
    "staff_seen",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("seen_at", Float, nullable=False),
)


def mark_seen(engine, name: str, now: float) -> None:
    """Record that `name` was active at `now` (an update, or the first insert)."""
    with engine.begin() as conn:
        if conn.execute(update(staff_seen).where(staff_seen.c.name == name).values(seen_at=now)).rowcount:
            return
        try:
            with conn.begin_nested():
                conn.execute(staff_seen.insert().values(name=name, seen_at=now))
        except IntegrityError:  # another server inserted it first
            conn.execute(update(staff_seen).where(staff_seen.c.name == name).values(seen_at=now))


def count_online(conn, now: float, window: float) -> int:
    return conn.execute(select(func.count()).select_from(staff_seen)
                        .where(staff_seen.c.seen_at >= now - window)).scalar_one()
