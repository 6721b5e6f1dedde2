"""An append-only audit log: who changed what, and when. Nothing here updates or deletes rows."""
from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Column, Float, Integer, String, Table, Text, select

from bot.core.db import metadata

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", Float, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(200), nullable=True),
    Column("detail", Text, nullable=False, server_default="{}"),
)


@dataclass(frozen=True)
class AuditEntry:
    seq: int
    at: float
    actor: str
    action: str
    target: str | None
    detail: dict


def record(conn, actor: str, action: str, target: str | None, now: float, **detail) -> None:
    conn.execute(audit_log.insert().values(at=now, actor=actor, action=action, target=target,
                                           detail=json.dumps(detail, ensure_ascii=False)))


def entries(conn, target: str | None = None, limit: int = 500) -> list[AuditEntry]:
    q = select(audit_log)
    if target is not None:
        q = q.where(audit_log.c.target == target)
    q = q.order_by(audit_log.c.seq.desc()).limit(limit)
    return [AuditEntry(r.seq, r.at, r.actor, r.action, r.target, json.loads(r.detail)) for r in conn.execute(q)]
