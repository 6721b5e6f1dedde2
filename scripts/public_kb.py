"""A large, realistic knowledge base made from public intent data, for the scale benchmarks.

Large support knowledge bases are mostly the same problems asked about many products ("reset the
PIN of my Nimbus card", "reset the PIN of my Orion card"). This module builds one: every topic is
an intent of CLINC150 or BANKING77 (227 in all, public, CC BY; see ../shared/datasets), every
entry is a (topic, product) pair, and an entry's phrasings are real queries of its topic (from the
datasets' training queries) that name its product. Questions kept apart for calibration and for
evaluation are real queries the phrasings never use (CLINC150's validation queries, BANKING77's
queries beyond the first 100 of each intent), also naming the product. Synthetic in the pairing,
real in the wording; never part of the default bot.

    from public_kb import build
    kb = build(50_000, phrasings=5, seed=7)   # kb.entries, kb.calibration, kb.evaluation
"""
from __future__ import annotations

import csv
import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

DATASETS = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"

BRANDS = ["Nimbus", "Orion", "Atlas", "Vega", "Lumen", "Cobalt", "Juniper", "Falcon", "Harbor", "Summit",
          "Echo", "Quartz", "Maple", "Zephyr", "Aurora", "Granite", "Pioneer", "Sierra", "Nova", "Beacon",
          "Cedar", "Delta", "Ember", "Fjord", "Helix", "Iris", "Kestrel", "Onyx", "Polar", "Raven"]
LINES = ["Card", "Wallet", "Pay", "Plus", "Go", "Pro", "Lite", "Max"]
FRAMES = ["{q} ({p})", "{q} on my {p}", "{p}: {q}", "{q} with {p}", "i use {p}. {q}", "{q} - {p} account",
          "about {p}, {q}", "{q} for {p}"]


@dataclass(frozen=True)
class Entry:
    id: str
    topic: str
    product: str
    questions: list[str]
    answer: str


@dataclass(frozen=True)
class PublicKb:
    entries: list[Entry]
    #: (text, entry id): real queries no phrasing uses, for calibration and for evaluation.
    calibration: list[tuple[str, str]]
    evaluation: list[tuple[str, str]]


def _topics(root: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Topic -> (training queries, held-out queries)."""
    out: dict[str, tuple[list[str], list[str]]] = {}
    train = json.loads((root / "clinc150" / "train.json").read_text(encoding="utf-8"))
    val = json.loads((root / "clinc150" / "val.json").read_text(encoding="utf-8"))
    by: dict[str, list[list[str]]] = defaultdict(lambda: [[], []])
    for text, intent in train:
        by[f"clinc_{intent}"][0].append(text)
    for text, intent in val:
        by[f"clinc_{intent}"][1].append(text)
    with open(root / "banking77" / "train.csv", encoding="utf-8") as f:
        bank: dict[str, list[str]] = defaultdict(list)
        for row in csv.DictReader(f):
            bank[row["category"]].append(" ".join(row["text"].split()))  # a few hold line breaks
    for intent, texts in bank.items():
        by["bank_" + re.sub(r"[^A-Za-z0-9_]", "", intent.lower())] = [texts[:100], texts[100:]]
    for topic, (tr, ho) in sorted(by.items()):
        if tr and len(ho) >= 2:
            out[topic] = (tr, ho)
    return out


def products(n: int) -> list[str]:
    return [f"{b} {line}" for line in LINES for b in BRANDS][:n]


def build(n_entries: int, phrasings: int = 5, seed: int = 7, root: Path = DATASETS) -> PublicKb:
    """`n_entries` entries (topic × product pairs, topics cycling fastest), `phrasings` each."""
    topics = _topics(root)
    names = sorted(topics)
    prods = products(-(-n_entries // len(names)))
    if len(prods) * len(names) < n_entries:
        raise ValueError(f"at most {len(BRANDS) * len(LINES) * len(names)} entries")
    rng = random.Random(seed)
    entries, cal, ev = [], [], []
    for i in range(n_entries):
        topic, product = names[i % len(names)], prods[i // len(names)]
        tr, ho = topics[topic]
        fid = f"{topic}-{product.lower().replace(' ', '-')}"
        qs = [rng.choice(FRAMES).format(q=q.rstrip("?. "), p=product) for q in rng.sample(tr, phrasings)]
        half = len(ho) // 2
        cal.append((rng.choice(FRAMES).format(q=rng.choice(ho[:half]).rstrip("?. "), p=product), fid))
        ev.append((rng.choice(FRAMES).format(q=rng.choice(ho[half:]).rstrip("?. "), p=product), fid))
        readable = topic.split("_", 1)[1].replace("_", " ")
        entries.append(Entry(fid, topic, product, qs, f"{product}: how to handle '{readable}'."))
    return PublicKb(entries, cal, ev)
