"""Canned replies: snippets editors manage and agents insert into a reply (typing "/" in the
console). One per id, with a title, the text, and an optional language."""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import Column, Float, String, Table, Text, delete, select

from bot.core.db import metadata
from bot.core.errors import DataError, NotFoundError

canned_replies = Table(
    "canned_replies",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("title", String(120), nullable=False),
    Column("text", Text, nullable=False),
    Column("lang", String(16), nullable=True),
    Column("updated_by", String(64), nullable=False),
    Column("updated_at", Float, nullable=False),
)

ID = re.compile(r"^[a-z0-9_\-]{1,64}$")


@dataclass(frozen=True)
class Canned:
    id: str
    title: str
    text: str
    lang: str | None
    updated_by: str
    updated_at: float


def listing(conn) -> list[Canned]:
    return [Canned(**r._mapping) for r in conn.execute(select(canned_replies).order_by(canned_replies.c.title))]


def put(conn, cid: str, title: str, text: str, lang: str | None, actor: str, now: float) -> Canned:
    if not ID.match(cid):
        raise DataError(f"canned reply id {cid!r} may use only a-z, 0-9, '_' and '-'")
    conn.execute(delete(canned_replies).where(canned_replies.c.id == cid))
    conn.execute(canned_replies.insert().values(id=cid, title=title, text=text, lang=lang, updated_by=actor,
                                                updated_at=now))
    return Canned(cid, title, text, lang, actor, now)


def remove(conn, cid: str) -> None:
    if not conn.execute(delete(canned_replies).where(canned_replies.c.id == cid)).rowcount:
        raise NotFoundError("canned reply", cid)
