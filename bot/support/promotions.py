"""Which model the desk serves: promotions recorded in the database, so every server follows.

A model registry is a directory of model directories (`REGISTRY/<name>/`, each with its
manifest, its training report and the hash of its training data). `triage promote` checks a
candidate (the golden questions, the compare gate) and records it here; each server polls this
table and switches to the newest promotion without stopping (`ChatService.sync_model`).
`--rollback` promotes again the model that was current before the current one.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Column, Float, Integer, String, Table, Text, select

from bot.core.db import metadata
from bot.core.errors import ConflictError, DataError
from bot.ml.engine import TriageEngine
from kb_index.repository import Golden

model_promotions = Table(
    "model_promotions",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False),
    Column("path", Text, nullable=False),
    Column("fingerprint", String(16), nullable=False),
    Column("kind", String(12), nullable=False),  # promote | rollback
    Column("previous_seq", Integer, nullable=True),  # the promotion current before this one
    Column("actor", String(64), nullable=False),
    Column("note", Text, nullable=True),
    Column("created_at", Float, nullable=False),
)

NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,128}$")


@dataclass(frozen=True)
class Promotion:
    seq: int
    name: str
    path: str
    fingerprint: str
    kind: str
    previous_seq: int | None
    actor: str
    created_at: float


def _row(r) -> Promotion:
    return Promotion(r.seq, r.name, r.path, r.fingerprint, r.kind, r.previous_seq, r.actor, r.created_at)


def in_registry(registry: Path, name: str) -> Path:
    """The model directory `name` of the registry (DataError if the name or directory is wrong)."""
    if not NAME.match(name):
        raise DataError(f"model name {name!r} may use only letters, digits, '_', '-' and '.'")
    path = Path(registry) / name
    if not (path / "manifest.json").is_file():
        raise DataError(f"no model {name!r} in the registry {registry} (expected {path}/manifest.json)")
    return path.resolve()


def current(conn) -> Promotion | None:
    r = conn.execute(select(model_promotions).order_by(model_promotions.c.seq.desc()).limit(1)).one_or_none()
    return _row(r) if r else None


def get(conn, seq: int) -> Promotion | None:
    r = conn.execute(select(model_promotions).where(model_promotions.c.seq == seq)).one_or_none()
    return _row(r) if r else None


def history(conn, limit: int = 50) -> list[Promotion]:
    q = select(model_promotions).order_by(model_promotions.c.seq.desc()).limit(limit)
    return [_row(r) for r in conn.execute(q)]


def record(conn, name: str, path: Path, fingerprint: str, actor: str, now: float, note: str | None = None) -> Promotion:
    before = current(conn)
    conn.execute(model_promotions.insert().values(name=name, path=str(path), fingerprint=fingerprint, kind="promote",
                                                  previous_seq=before.seq if before else None, actor=actor,
                                                  note=note, created_at=now))
    return current(conn)


def rollback(conn, actor: str, now: float) -> Promotion:
    """Serve again the model that was current before the current one."""
    now_serving = current(conn)
    if now_serving is None or now_serving.previous_seq is None:
        raise ConflictError("there is no earlier model to roll back to")
    back = get(conn, now_serving.previous_seq)
    conn.execute(model_promotions.insert().values(name=back.name, path=back.path, fingerprint=back.fingerprint,
                                                  kind="rollback", previous_seq=back.previous_seq, actor=actor,
                                                  note=f"rolled back from {now_serving.name}", created_at=now))
    return current(conn)


def apply_live_faq(conn, engine: TriageEngine) -> None:
    """Give `engine` the editors' published FAQ changes (what servers apply at start)."""
    from kb_index.repository import published_state

    engine.apply_published(published_state(conn)[0], {})


def golden_failures(engine: TriageEngine, golden: list[Golden]) -> list[dict]:
    """Golden questions the engine routes to another intent than expected."""
    if not golden:
        return []
    decisions = engine.predict([g.question for g in golden])
    return [{"question": g.question, "expected": g.expected, "got": d.intent or "out_of_scope",
             "route": d.route.value} for g, d in zip(golden, decisions) if (d.intent or "out_of_scope") != g.expected]
