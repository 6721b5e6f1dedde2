#!/usr/bin/env python
"""Exact dense search over FAQ phrasings: faiss's flat index against the project's ExactIndex
(numpy matrix product + partial sort), per query, for one query at a time and batches of 64.

    python scripts/exact_search_benchmark.py [--rows 50000,200000] [--k 50]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from kb_index.retrieval import ExactIndex  # noqa: E402


def per_query_ms(search, queries: np.ndarray, batch: int, k: int, rounds: int = 3) -> float:
    search(queries[:batch], k)  # warm up
    t0 = time.perf_counter()
    n = 0
    for _ in range(rounds):
        for a in range(0, len(queries), batch):
            search(queries[a:a + batch], k)
            n += len(queries[a:a + batch])
    return (time.perf_counter() - t0) / n * 1000


def main() -> None:
    import faiss

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="50000,200000")
    ap.add_argument("--k", type=int, default=50, help="candidates per query (the FAQ index asks for 50)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    for n in [int(x) for x in args.rows.split(",")]:
        x = rng.normal(size=(n, 384)).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        queries = x[rng.choice(n, 256, replace=False)] + 0.05 * rng.normal(size=(256, 384)).astype(np.float32)
        flat = faiss.IndexFlatIP(384)
        flat.add(x)
        ours = ExactIndex(384)
        ours.add(x, np.arange(n))
        for batch in (1, 64):
            f = per_query_ms(flat.search, queries[:64] if batch == 1 else queries, batch, args.k)
            o = per_query_ms(ours.search, queries[:64] if batch == 1 else queries, batch, args.k)
            print(f"{n:,} rows, batches of {batch}: faiss flat {f:.2f} ms/query, ExactIndex {o:.2f} ms/query "
                  f"({f / o:.1f}x)", flush=True)


if __name__ == "__main__":
    main()
