"""What conversations teach: questions with a label from a user or an agent, and questions the
bot could not answer. Recorded in the turn's (or the resolution's) transaction; the editors'
suggestions (`bot.support.learning`) are read from here.

One row per (label, normalised text): the same phrasing seen again counts up instead of adding
a row, and a decision (approved, dismissed) holds for every later sighting. Texts are stored with
personal data redacted."""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

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

from bot.core.db import metadata
from bot.core.redact import redact
from bot.ml.training_data import normalise  # "the same phrasing", as training reads it
from bot.support.dialogue import Learned

learning_signals = Table(
    "learning_signals",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),  # chose | not_helped | agent_tagged | unanswered
    Column("text", Text, nullable=False),
    Column("label", String(200), nullable=True),
    Column("lang", String(16), nullable=True),
    Column("conversation_id", String(36), nullable=True),  # the latest one it was seen in
    Column("count", Integer, nullable=False, server_default="1"),
    Column("status", String(12), nullable=False, server_default="open"),  # open | approved | dismissed
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
Index("ix_learning_signals_status", learning_signals.c.status, learning_signals.c.updated_at)

OPEN, APPROVED, DISMISSED = "open", "approved", "dismissed"
#: Texts longer than this are not phrasings anyone would add.
MAX_TEXT = 500


@dataclass(frozen=True)
class Signal:
    id: str
    kind: str
    text: str
    label: str | None
    lang: str | None
    conversation_id: str | None
    count: int
    status: str


def _key(label: str | None, text: str) -> str:
    return hashlib.sha256(f"{label or ''}\x00{normalise(text)}".encode()).hexdigest()


def record(conn, learned: Learned, conversation_id: str | None, lang: str | None, now: float) -> None:
    text = redact(learned.question.strip())
    if not text or text.startswith("/") or len(text) > MAX_TEXT:
        return
    key = _key(learned.label, text)
    t = learning_signals
    seen = conn.execute(update(t).where(t.c.key == key).values(count=t.c.count + 1, updated_at=now,
                                                               conversation_id=conversation_id)).rowcount
    if not seen:
        conn.execute(t.insert().values(id=str(uuid.uuid4()), key=key, kind=learned.kind, text=text,
                                       label=learned.label, lang=lang, conversation_id=conversation_id,
                                       count=1, status=OPEN, created_at=now, updated_at=now))


def _signal(r) -> Signal:
    return Signal(r.id, r.kind, r.text, r.label, r.lang, r.conversation_id, r.count, r.status)


def listing(conn, status: str = OPEN, limit: int = 2000) -> list[Signal]:
    t = learning_signals
    q = select(t).where(t.c.status == status).order_by(t.c.updated_at.desc()).limit(limit)
    return [_signal(r) for r in conn.execute(q)]


def get_many(conn, ids: list[str]) -> list[Signal]:
    t = learning_signals
    return [_signal(r) for r in conn.execute(select(t).where(t.c.id.in_(sorted(set(ids)))))]


def decide(conn, ids: list[str], status: str, actor: str, now: float) -> int:
    """Mark open signals approved or dismissed; returns how many changed."""
    t = learning_signals
    return conn.execute(update(t).where(t.c.id.in_(sorted(set(ids))), t.c.status == OPEN)
                        .values(status=status, decided_by=actor, decided_at=now)).rowcount
