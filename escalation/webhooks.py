"""Signed webhooks from a transactional outbox.

Events are written to the `outbox` table in the same transaction as the change they announce
(a new ticket, an SLA breach), so none is lost if the server dies; a dispatcher delivers them
at least once, with retries and backoff. Each request carries:

* ``X-Triage-Delivery``: the event's id (receivers de-duplicate on it),
* ``X-Triage-Event``: ``ticket.created`` or ``ticket.sla_breached``,
* ``X-Triage-Timestamp``: Unix seconds,
* ``X-Triage-Signature``: ``sha256=`` + hex HMAC-SHA256 over ``"{timestamp}.{body}"``.

Payloads are redacted (cards, e-mails, phone numbers) before they are stored.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Callable

from sqlalchemy import (
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    select,
    update,
)
from sqlalchemy.engine import Engine

from bot.core.db import metadata
from bot.core.redact import redact_obj

log = logging.getLogger("triage.webhooks")

outbox = Table(
    "outbox",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("event", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_attempt_at", Float, nullable=False),
    Column("delivered_at", Float, nullable=True),
    Column("last_error", Text, nullable=True),
)
Index("ix_outbox_pending", outbox.c.delivered_at, outbox.c.next_attempt_at)

MAX_ATTEMPTS = 12


def enqueue(conn, event: str, payload: dict, now: float) -> str:
    delivery = str(uuid.uuid4())
    conn.execute(outbox.insert().values(id=delivery, event=event, created_at=now, next_attempt_at=now,
                                        payload=json.dumps(redact_obj(payload), ensure_ascii=False)))
    return delivery


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: int, body: bytes, signature: str, now: float, tolerance: float = 300) -> bool:
    """For receivers: the signature matches and the timestamp is recent (replay protection)."""
    return abs(now - timestamp) <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    import httpx

    return httpx.post(url, content=body, headers=headers, timeout=timeout).status_code


class Dispatcher:
    def __init__(self, db: Engine, url: str | None, secret: str, timeout: float = 5.0,
                 post: Callable[[str, bytes, dict, float], int] = _post):
        self.db, self.url, self.secret, self.timeout, self.post = db, url, secret, timeout, post

    def deliver_due(self, now: float, limit: int = 50) -> int:
        """Send pending events whose time has come; returns how many were delivered."""
        if not self.url:
            return 0
        with self.db.connect() as conn:
            rows = conn.execute(select(outbox).where(outbox.c.delivered_at.is_(None), outbox.c.next_attempt_at <= now,
                                                     outbox.c.attempts < MAX_ATTEMPTS)
                                .order_by(outbox.c.seq).limit(limit)).all()
        delivered = 0
        for row in rows:
            # Take the row for this attempt (another server may race for it), lease it for a minute.
            with self.db.begin() as conn:
                took = conn.execute(update(outbox).where(outbox.c.seq == row.seq, outbox.c.attempts == row.attempts,
                                                         outbox.c.delivered_at.is_(None))
                                    .values(attempts=row.attempts + 1, next_attempt_at=now + 60)).rowcount
            if not took:
                continue
            body = json.dumps({"id": row.id, "event": row.event, "created_at": row.created_at,
                               "data": json.loads(row.payload)}, ensure_ascii=False).encode()
            ts = int(now)
            headers = {"content-type": "application/json", "x-triage-delivery": row.id, "x-triage-event": row.event,
                       "x-triage-timestamp": str(ts), "x-triage-signature": sign(self.secret, ts, body)}
            try:
                status = self.post(self.url, body, headers, self.timeout)
                error = None if 200 <= status < 300 else f"HTTP {status}"
            except Exception as exc:  # network errors: retry later
                error = f"{type(exc).__name__}: {exc}"
            with self.db.begin() as conn:
                if error is None:
                    conn.execute(update(outbox).where(outbox.c.seq == row.seq).values(delivered_at=now, last_error=None))
                    delivered += 1
                else:
                    backoff = min(3600.0, 5.0 * 2 ** row.attempts)
                    conn.execute(update(outbox).where(outbox.c.seq == row.seq)
                                 .values(next_attempt_at=now + backoff, last_error=error[:500]))
                    log.warning("webhook %s (%s) failed: %s; retry in %.0fs", row.id, row.event, error, backoff)
        return delivered

    def pending(self) -> list[dict]:
        with self.db.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(select(outbox).where(outbox.c.delivered_at.is_(None)))]
