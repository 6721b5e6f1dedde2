"""`triage export`: what the desk learned, as training data an ML engineer merges and retrains on.

Writes into the output directory:

- `faq.yml`: the live FAQ (the model's entries as trained, with every publication and deletion
  since applied), in the format of `training_data/faq.yml`; it replaces that file.
- `nlu_reviewed.yml`: reviewed examples for intents (suggestions an editor approved for the next
  retraining), in Rasa NLU YAML; it goes beside `nlu.yml`.

User-originated text (examples, FAQ phrasings) is passed through the redaction of personal data
(it was redacted when recorded; this also covers phrasings typed into the editor). Answers are
written as published: they are the operator's text and may name support addresses.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.core.db import reading
from bot.core.redact import redact
from bot.core.vocabulary import faq_id_of
from bot.ml.artifacts import read_model_dir
from bot.support.signals import APPROVED, learning_signals
from kb_index.repository import DELETED, published_state
from kb_index.store import FaqEntry


@dataclass(frozen=True)
class Exported:
    faq_entries: int
    published_changes: int
    reviewed_examples: int
    files: list[Path]


class _Literal(str):
    pass


def _dump(data) -> str:
    class Dumper(yaml.SafeDumper):
        pass

    Dumper.add_representer(_Literal, lambda d, s: d.represent_scalar("tag:yaml.org,2002:str", s, style="|"))
    return yaml.dump(data, Dumper=Dumper, allow_unicode=True, sort_keys=False, width=1000)


def live_faq(model_dir: Path, db: Engine) -> tuple[list[FaqEntry], int]:
    """(the live entries, how many publications or deletions changed them from the model's)."""
    _, files = read_model_dir(model_dir)
    entries = {d["id"]: FaqEntry.from_json(d) for d in json.loads(files["faq.json"])}
    with reading(db) as conn:
        versions, _, _ = published_state(conn)
    for v in versions:
        if v.kind == DELETED:
            entries.pop(v.faq_id, None)
        else:
            entries[v.faq_id] = v.entry
    return list(entries.values()), len(versions)


def faq_yaml(entries: list[FaqEntry]) -> str:
    items = []
    for e in entries:
        item = {"id": e.id}
        if e.lang:
            item["lang"] = e.lang
        if e.titles:
            item["title"] = dict(e.titles)
        if e.tags:
            item["tags"] = list(e.tags)
        item |= {"complexity": e.complexity.value, "priority": e.priority.value, "answer": dict(e.answers),
                 "questions": [redact(q) for q in e.questions]}
        items.append(item)
    return "# Exported by `triage export`: the live FAQ (as trained, with editors' publications).\n" + \
        _dump({"version": "1", "faq": items})


def reviewed_examples(db: Engine) -> dict[str, list[str]]:
    """Approved suggestions labelled with an intent (FAQ phrasings are published already)."""
    t = learning_signals
    with reading(db) as conn:
        rows = conn.execute(select(t.c.label, t.c.text).where(t.c.status == APPROVED, t.c.label.is_not(None))
                            .order_by(t.c.label, t.c.created_at)).all()
    out: dict[str, list[str]] = {}
    for label, text in rows:
        if not faq_id_of(label):
            out.setdefault(label, []).append(redact(text))
    return out


def nlu_yaml(examples: dict[str, list[str]]) -> str:
    blocks = [{"intent": intent, "examples": _Literal("".join(f"- {t}\n" for t in texts))}
              for intent, texts in sorted(examples.items())]
    return ("# Exported by `triage export`: examples reviewed from conversations.\n"
            + _dump({"version": "3.1", "nlu": blocks}))


def export(db: Engine, model_dir: Path, out: Path) -> Exported:
    from bot.core.db import current_revision
    from bot.core.errors import DataError

    if current_revision(db) is None:
        raise DataError(f"{db.url.render_as_string(hide_password=True)} is not a triage database (no tables): "
                        "give the database the servers use")
    entries, changes = live_faq(model_dir, db)
    examples = reviewed_examples(db)
    out.mkdir(parents=True, exist_ok=True)
    faq_path, nlu_path = out / "faq.yml", out / "nlu_reviewed.yml"
    faq_path.write_text(faq_yaml(entries), encoding="utf-8")
    files = [faq_path]
    if examples:
        nlu_path.write_text(nlu_yaml(examples), encoding="utf-8")
        files.append(nlu_path)
    elif nlu_path.exists():
        nlu_path.unlink()
    return Exported(len(entries), changes, sum(len(v) for v in examples.values()), files)
