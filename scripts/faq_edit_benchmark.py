#!/usr/bin/env python
"""FAQ index edits at knowledge-base scale: build a FaqIndex of N entries × P phrasings, then
time one edit (change an entry), one addition and one deletion applied in place, against a full
rebuild, and one search.

The phrasings are synthetic (public-domain-style support questions composed from word lists) and
encoded by the deterministic test encoder at 384 dimensions, so that the timings are those of the
index, not of the neural encoder (which adds about 10 ms for the five phrasings of one edit and
about 5 minutes to encode 250,000 phrasings once, on 2 cores).

    python scripts/faq_edit_benchmark.py [--entries 50000] [--phrasings 5]
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VERBS = ["reset", "change", "cancel", "renew", "update", "verify", "download", "transfer", "close", "open",
         "activate", "freeze", "unlock", "report", "refund", "upgrade", "link", "remove", "export", "share"]
THINGS = ["password", "card", "account", "subscription", "invoice", "address", "phone number", "statement",
          "payment method", "limit", "app", "profile", "device", "order", "plan", "pin", "email", "report",
          "receipt", "wallet", "beneficiary", "loan", "policy", "ticket", "voucher"]
PLACES = ["in the app", "on the website", "abroad", "at a branch", "by phone", "on my tablet", "for my business",
          "for my child", "after moving", "before travelling"]
FRAMES = ["how do I {v} my {t} {p}", "can I {v} the {t} {p}", "I need to {v} my {t} {p}",
          "where do I {v} a {t} {p}", "is it possible to {v} my {t} {p}", "help me {v} my {t} {p}",
          "what happens if I {v} my {t} {p}"]


def entries(n: int, phrasings: int, seed: int = 13):
    from kb_index.store import FaqEntry

    rng = random.Random(seed)
    out = []
    for i in range(n):
        v, t, p = rng.choice(VERBS), rng.choice(THINGS), rng.choice(PLACES)
        qs = [f.format(v=v, t=t, p=p) + f" (case {i})" for f in rng.sample(FRAMES, phrasings)]
        out.append(FaqEntry(f"kb{i}", qs, {"en": f"Answer {i}."}))
    return out


def rss_mb() -> float:
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=50_000)
    ap.add_argument("--phrasings", type=int, default=5)
    args = ap.parse_args()
    from bot.core.i18n import load_registry
    from intents.encoder import FakeEmbedder
    from kb_index.retrieval import FaqIndex
    from kb_index.store import FaqEntry

    emb = FakeEmbedder(384)
    kb = entries(args.entries, args.phrasings)
    t0 = time.perf_counter()
    vectors = {e.id: emb.encode_document(e.questions) for e in kb}
    encode = time.perf_counter() - t0
    before = rss_mb()
    t0 = time.perf_counter()
    ix = FaqIndex(emb, load_registry()).build(kb, vectors)
    build = time.perf_counter() - t0
    print(f"{len(kb):,} entries, {len(ix._rows):,} phrasings: test-encoder vectors {encode:.1f} s, "
          f"index build {build:.1f} s, index memory about {rss_mb() - before:.0f} MB")

    def timed(fn, n=5):
        ts = []
        for i in range(n):
            t0 = time.perf_counter()
            fn(i)
            ts.append((time.perf_counter() - t0) * 1000)
        return statistics.median(ts)
    change = timed(lambda i: ix.upsert(FaqEntry(f"kb{i}", [f"how do I reach support number {i} {j}" for j in range(5)],
                                                {"en": "new"})))
    add = timed(lambda i: ix.upsert(FaqEntry(f"new{i}", [f"where is the annual report {i} {j}" for j in range(5)],
                                             {"en": "here"})))
    delete = timed(lambda i: ix.delete(f"kb{100 + i}"))
    t0 = time.perf_counter()
    ix._reindex()
    rebuild = (time.perf_counter() - t0) * 1000
    qs = ["how do I reset my password in the app", "can I cancel the subscription abroad", "where is the annual report 3"]
    Q = emb.encode_query(qs)
    search = timed(lambda i: ix.search(Q[i % 3:i % 3 + 1], [qs[i % 3]], k=10), n=30)
    print(f"in place: change one entry {change:.0f} ms, add one {add:.0f} ms, delete one {delete:.0f} ms "
          f"(median of 5); full rebuild {rebuild:.0f} ms; one search {search:.0f} ms (median of 30)")
    # The editors' gate: the live index as it would be after one change, searched with 20 golden
    # questions (before: a copy of the whole index, i.e. a full build).
    golden = [f"{q} {i}" for i in range(7) for q in qs][:20]
    G = emb.encode_query(golden)

    def gate(i):
        d = ix.draft()
        d.upsert(FaqEntry(f"kb{200 + i}", [f"how do I close the account number {i} {j}" for j in range(5)], {"en": "x"}))
        d.search(G, golden, k=10)
    t0 = time.perf_counter()
    ix.copy()
    copy = (time.perf_counter() - t0) * 1000
    print(f"publish gate, one change tried against 20 golden questions: {timed(gate):.0f} ms (median of 5); "
          f"a copy of the index (the gate before) {copy:.0f} ms")
    (hit,) = ix.search(emb.encode_query(["where is the annual report 3 2"]), ["where is the annual report 3 2"], k=1)
    assert hit[0].faq_id == "new3", hit
    assert np.isfinite(search)


if __name__ == "__main__":
    main()
