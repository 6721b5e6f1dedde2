"""Was an answer helpful? One row per answer: from the help center's "Was this helpful?" and the
chat's "Did this solve it?", per FAQ entry and channel, so editors see how each entry does."""
from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    String,
    Table,
    func,
    select,
)

from bot.core.db import metadata

answer_feedback = Table(
    "answer_feedback",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("faq_id", String(128), nullable=False),
    Column("helpful", Boolean, nullable=False),
    Column("channel", String(16), nullable=False),  # help | chat
    Column("lang", String(16), nullable=True),
    Column("created_at", Float, nullable=False),
)
Index("ix_answer_feedback_faq", answer_feedback.c.faq_id, answer_feedback.c.created_at)


def record_feedback(conn, faq_id: str, helpful: bool, channel: str, lang: str | None, now: float) -> None:
    conn.execute(answer_feedback.insert().values(faq_id=faq_id, helpful=helpful, channel=channel, lang=lang,
                                                 created_at=now))


def helpfulness(conn, faq_id: str) -> tuple[int, int]:
    """(helpful, not helpful) answers for an entry, every channel."""
    rows = dict(conn.execute(select(answer_feedback.c.helpful, func.count())
                             .where(answer_feedback.c.faq_id == faq_id).group_by(answer_feedback.c.helpful)).all())
    return int(rows.get(True, 0)), int(rows.get(False, 0))
