"""Signed-out sign-in sessions: a cookie stays refused after logout until it would have expired.

A session cookie is signed, not stored, so signing out cannot delete it; its MAC is kept here
until the cookie's own expiry, on every server (the table is shared)."""
from __future__ import annotations

from sqlalchemy import Column, Float, String, Table, delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.core.db import metadata, reading

revoked_sessions = Table(
    "revoked_sessions",
    metadata,
    Column("mac", String(64), primary_key=True),
    Column("expires_at", Float, nullable=False),
)


def revoke(db: Engine, mac: str, expires_at: float, now: float) -> None:
    with db.begin() as conn:
        conn.execute(delete(revoked_sessions).where(revoked_sessions.c.expires_at <= now))
        try:
            with conn.begin_nested():
                conn.execute(revoked_sessions.insert().values(mac=mac[:64], expires_at=expires_at))
        except IntegrityError:  # signed out twice
            pass


def is_revoked(db: Engine, mac: str) -> bool:
    with reading(db) as conn:
        return conn.execute(select(revoked_sessions.c.mac).where(revoked_sessions.c.mac == mac[:64])).first() is not None
