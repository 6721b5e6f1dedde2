#!/usr/bin/env python
"""Approximate FAQ search at scale: an IVF index over N phrasing vectors against exact search.

Vectors: the bundled encoder's embeddings of the CLINC150 training queries (real sentence
structure), each repeated with small Gaussian noise and re-normalised until there are N of them
(a synthetic but realistically clustered collection; encoding a million real phrasings would take
about 20 minutes on 2 cores). Queries: CLINC150 validation queries (real, unseen). For each
number of probed lists the script prints recall@1 against exact search and the search time per
query (one query at a time, as a chat turn searches), then the build time and memory.

    python scripts/ann_benchmark.py [--n 1000000] [--queries 1000] [--nprobe 16,32,64,128]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
from faq_edit_benchmark import rss_mb  # noqa: E402

DATA = ROOT.parent / "shared" / "datasets" / "clinc150"


def texts(split: str) -> list[str]:
    """The queries of a CLINC150 split (`[text, intent]` pairs in JSON)."""
    path = DATA / f"{split}.json"
    if not path.exists():
        raise SystemExit(f"no {split} split under {DATA}")
    return [text for text, _ in json.loads(path.read_text(encoding="utf-8"))]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--queries", type=int, default=1000)
    ap.add_argument("--nprobe", default="8,16,32,64,128")
    ap.add_argument("--noise", type=float, default=0.04)
    args = ap.parse_args()

    from intents.encoder import load_embedder
    from kb_index.retrieval import ApproximateIndex, FaissIndex

    emb = load_embedder("default")
    base = emb.embed(texts("train"), progress=True)
    queries = emb.embed(texts("val")[: args.queries])
    rng = np.random.default_rng(13)
    reps = -(-args.n // len(base))
    chunks = []
    for r in tqdm(range(reps), desc="synthetic phrasings"):
        x = base + (args.noise * rng.normal(size=base.shape).astype(np.float32) if r else 0)
        chunks.append((x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32))
    X = np.vstack(chunks)[: args.n]
    del chunks
    print(f"{len(X):,} phrasing vectors of dimension {X.shape[1]}, {len(queries)} real queries")

    exact = FaissIndex(X.shape[1])
    exact.add(X)
    _, truth = exact.search(queries, 1)
    t = []
    for q in queries[:200]:
        t0 = time.perf_counter()
        exact.search(q[None], 10)
        t.append((time.perf_counter() - t0) * 1000)
    print(f"exact search: p50 {statistics.median(t):.2f} ms per query")
    del exact

    before = rss_mb()
    t0 = time.perf_counter()
    ann = ApproximateIndex.for_size(X.shape[1], len(X))
    ann.train(X)
    ann.add(X, np.arange(len(X)))
    build = time.perf_counter() - t0
    memory = rss_mb() - before
    print(f"IVF index: {ann.nlist} lists, built in {build:.1f} s, about {memory:.0f} MB "
          f"({memory / len(X) * 1e6:.0f} MB per million phrasings; the vectors alone are "
          f"{X.nbytes / 2**20:.0f} MB)")
    for nprobe in [int(p) for p in args.nprobe.split(",")]:
        ann._index.nprobe = nprobe
        _, got = ann.search(queries, 1)
        recall = float((got[:, 0] == truth[:, 0]).mean())
        t = []
        for q in queries[:300]:
            t0 = time.perf_counter()
            ann.search(q[None], 10)
            t.append((time.perf_counter() - t0) * 1000)
        print(f"nprobe {nprobe:4d} ({100 * nprobe / ann.nlist:.1f}% of lists): recall@1 {recall:.4f}, "
              f"search p50 {statistics.median(t):.2f} ms, p99 {sorted(t)[int(0.99 * len(t))]:.2f} ms")


if __name__ == "__main__":
    main()
