"""Customer satisfaction (CSAT): one 1–5 rating per conversation, with who gave the help.

A conversation can be rated once it ended well: the user said an answer solved it, or an agent
resolved its ticket. A second rating replaces the first. The rating records who answered (the
bot, or the agent who resolved the ticket) and about which intent, so the dashboard can set the
bot's ratings beside the agents'. Comments are stored with personal data redacted.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import (
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    select,
    update,
)

from bot.core.db import metadata
from bot.core.errors import ConflictError
from bot.core.redact import redact
from bot.support.conversations import Conversation
from bot.support.dialogue import State
from escalation.store import Status, tickets

csat = Table(
    "csat",
    metadata,
    Column("conversation_id", String(36), ForeignKey("conversations.id"), primary_key=True),
    Column("score", Integer, nullable=False),
    Column("comment", Text, nullable=True),
    Column("answered_by", String(8), nullable=False),  # bot | agent
    Column("agent", String(64), nullable=True),
    Column("intent", String(200), nullable=True),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
Index("ix_csat_updated", csat.c.updated_at)

SCORES = range(1, 6)


@dataclass(frozen=True)
class Rating:
    conversation_id: str
    score: int
    comment: str | None
    answered_by: str
    agent: str | None
    intent: str | None
    replaced: bool  # an earlier rating of this conversation was replaced


def _resolved_ticket(conn, cid: str):
    return conn.execute(select(tickets.c.agent, tickets.c.intent)
                        .where(tickets.c.conversation_id == cid, tickets.c.status == Status.RESOLVED.value)
                        .order_by(tickets.c.resolved_at.desc()).limit(1)).one_or_none()


def who_helped(conn, conv: Conversation) -> tuple[str, str | None, str | None] | None:
    """(answered_by, agent, intent) of a conversation that ended well, or None if it has not:
    the newest ticket an agent resolved, else the answer the user said solved it."""
    row = _resolved_ticket(conn, conv.id)
    if row is not None:
        return "agent", row.agent, row.intent
    s = conv.state
    if s.state is State.RESOLVED or any(t.get("user") == "solved" for t in s.tried):
        offered = [t["offered"] for t in s.tried if isinstance(t.get("offered"), str) and t.get("as") != "small talk"]
        return "bot", None, offered[-1] if offered else (s.last_decision or {}).get("intent")
    return None


def rate(conn, conv: Conversation, score: int, comment: str | None, now: float) -> Rating:
    """Store (or replace) the conversation's rating. ConflictError before it ended well."""
    if score not in SCORES:
        raise ValueError(f"score must be 1 to 5, not {score}")
    helped = who_helped(conn, conv)
    if helped is None:
        raise ConflictError("this conversation can be rated once it is resolved (an answer solved it, or an agent "
                            "resolved it)")
    by, agent, intent = helped
    comment = redact(comment.strip()) if comment and comment.strip() else None
    values = dict(score=score, comment=comment, answered_by=by, agent=agent, intent=intent, updated_at=now)
    replaced = conn.execute(update(csat).where(csat.c.conversation_id == conv.id).values(**values)).rowcount == 1
    if not replaced:
        conn.execute(csat.insert().values(conversation_id=conv.id, created_at=now, **values))
    return Rating(conv.id, score, comment, by, agent, intent, replaced)
