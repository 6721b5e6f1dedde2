"""FAQ content in SQL: every change is a new version (drafts, publications, deletions), plus the
editors' golden questions. The trained model's entries are the implicit version 0."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from sqlalchemy import (
    Column,
    Float,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    func,
    select,
)

from bot.core.cursor import START_WINDOW, GapCursor, seq_window, unread
from bot.core.db import metadata
from kb_index.store import FaqEntry

faq_versions = Table(
    "faq_versions",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("faq_id", String(128), nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(16), nullable=False),  # draft | published | deleted
    Column("entry", Text, nullable=True),
    Column("author", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("faq_id", "version", name="uq_faq_version"),
)

golden_questions = Table(
    "golden_questions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("question", Text, nullable=False),
    Column("expected", String(200), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
)

DRAFT, PUBLISHED, DELETED = "draft", "published", "deleted"


@dataclass(frozen=True)
class FaqVersion:
    seq: int
    faq_id: str
    version: int
    kind: str
    entry: FaqEntry | None
    author: str
    created_at: float


@dataclass(frozen=True)
class Golden:
    id: str
    question: str
    expected: str  # an intent, `faq/<id>`, or `out_of_scope`
    created_by: str
    created_at: float


def _ver(r) -> FaqVersion:
    return FaqVersion(r.seq, r.faq_id, r.version, r.kind, FaqEntry.from_json(json.loads(r.entry)) if r.entry else None,
                      r.author, r.created_at)


def versions(conn, faq_id: str) -> list[FaqVersion]:
    q = select(faq_versions).where(faq_versions.c.faq_id == faq_id).order_by(faq_versions.c.version)
    return [_ver(r) for r in conn.execute(q)]


def add_version(conn, faq_id: str, kind: str, entry: FaqEntry | None, author: str, now: float) -> FaqVersion:
    last = conn.execute(select(func.max(faq_versions.c.version)).where(faq_versions.c.faq_id == faq_id)).scalar()
    version = (last or 0) + 1
    return _ver(conn.execute(faq_versions.insert().values(
        faq_id=faq_id, version=version, kind=kind, author=author, created_at=now,
        entry=json.dumps(entry.to_json(), ensure_ascii=False) if entry else None,
    ).returning(*faq_versions.c)).one())  # the stored row (its seq) without a second statement


def published_since(conn, after_seq: int) -> list[FaqVersion]:
    """Publications and deletions after `after_seq`, oldest first."""
    q = (select(faq_versions).where(faq_versions.c.seq > after_seq, faq_versions.c.kind != DRAFT)
         .order_by(faq_versions.c.seq))
    return [_ver(r) for r in conn.execute(q)]


# Read on every turn: built once (one statement without gaps, the usual case, one with).
_UNREAD = {gaps: select(faq_versions).where(unread(faq_versions.c.seq, gaps), faq_versions.c.kind != DRAFT)
           .order_by(faq_versions.c.seq) for gaps in (False, True)}


def published_unread(conn, cursor: GapCursor) -> list[FaqVersion]:
    """Publications and deletions the cursor has not read (also ones that committed late with a
    lower seq), oldest first: what a server must apply. The caller tells the cursor what it saw."""
    return [_ver(r) for r in conn.execute(_UNREAD[cursor.has_gaps], cursor.params())]


def published_state(conn, window: int = START_WINDOW) -> tuple[list[FaqVersion], int, set[int]]:
    """The newest publication or deletion of every entry ever edited (what is live now), the
    highest seq, and the seqs that exist in the last `window` below it (to start a cursor). Three
    statements: read them in one snapshot (`reading(..., snapshot=True)`), or a publication that
    commits between them counts as seen without being in the live state, and is never applied."""
    newest = (select(faq_versions.c.faq_id, func.max(faq_versions.c.version).label("version"))
              .where(faq_versions.c.kind != DRAFT).group_by(faq_versions.c.faq_id).subquery())
    rows = conn.execute(select(faq_versions).join(newest, (faq_versions.c.faq_id == newest.c.faq_id)
                                                  & (faq_versions.c.version == newest.c.version))
                        .order_by(faq_versions.c.seq)).all()
    top, seen = seq_window(conn, faq_versions.c.seq, window)
    return [_ver(r) for r in rows], top, seen


def drafts(conn) -> dict[str, FaqVersion]:
    """The newest draft of each entry, where it is newer than the entry's last publication."""
    out: dict[str, FaqVersion] = {}
    rows = conn.execute(select(faq_versions).order_by(faq_versions.c.seq)).all()
    for r in rows:
        if r.kind == DRAFT:
            out[r.faq_id] = _ver(r)
        else:
            out.pop(r.faq_id, None)
    return out


def add_golden(conn, question: str, expected: str, author: str, now: float) -> Golden:
    g = Golden(str(uuid.uuid4()), question, expected, author, now)
    conn.execute(golden_questions.insert().values(id=g.id, question=question, expected=expected,
                                                  created_by=author, created_at=now))
    return g


def golden(conn) -> list[Golden]:
    q = select(golden_questions).order_by(golden_questions.c.created_at, golden_questions.c.id)
    return [Golden(r.id, r.question, r.expected, r.created_by, r.created_at) for r in conn.execute(q)]


def update_golden(conn, golden_id: str, question: str, expected: str) -> Golden | None:
    done = conn.execute(golden_questions.update().where(golden_questions.c.id == golden_id)
                        .values(question=question, expected=expected)).rowcount
    if not done:
        return None
    r = conn.execute(select(golden_questions).where(golden_questions.c.id == golden_id)).one()
    return Golden(r.id, r.question, r.expected, r.created_by, r.created_at)


def load_golden_file(path) -> list[tuple[str, str]]:
    """(question, expected) pairs of a golden YAML file (`golden: [{question, expected}]`)."""
    import yaml

    from bot.core.errors import DataError

    try:
        from pathlib import Path

        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        raise DataError(f"not valid YAML: {getattr(e, 'problem', e)}", path, mark.line + 1 if mark else None) from None
    items = (data or {}).get("golden") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise DataError("a golden file holds 'golden:', a list of {question, expected}", path)
    out = []
    for i, item in enumerate(items):
        if not (isinstance(item, dict) and isinstance(item.get("question"), str) and isinstance(item.get("expected"), str)):
            raise DataError(f"golden item {i + 1} needs a 'question' and an 'expected' intent", path)
        out.append((item["question"].strip(), item["expected"].strip()))
    return out


def delete_golden(conn, golden_id: str) -> bool:
    return conn.execute(golden_questions.delete().where(golden_questions.c.id == golden_id)).rowcount == 1
