"""Encoder benchmark: the bundled encoder through PyTorch and through ONNX Runtime, side by side.

Prints, per backend (and ONNX with int8 weights, `--encoder-precision int8`): one text at a time (median ms over the default bot's short questions), texts/s
in batches on those short questions and on the realistic 50,000-entry set's phrasings
(`public_kb.py`, longer; ONNX also with its batches one after another on all cores instead of
one batch per core at once), the cosine of the ONNX vectors (float and int8) to the PyTorch ones, and the time to
encode one batch while 8 threads run Python beside it (what a busy server's request threads do
to an encoder that needs the GIL back between its steps).

    python scripts/encoder_benchmark.py [--texts 2000] [--batch-size 64]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from service_benchmark import TEXTS  # noqa: E402

from intents.encoder import load_embedder  # noqa: E402


def busy_python(stop: threading.Event) -> None:
    x = 0
    while not stop.is_set():
        for i in range(1000):
            x += i * i


def measure(emb, short: list[str], long: list[str]) -> dict:
    emb.embed(["warm up"])
    single = []
    for t in TEXTS * 20:
        t0 = time.perf_counter()
        emb.embed([t])
        single.append(time.perf_counter() - t0)
    out = {"one text ms": 1000 * statistics.median(single)}
    for name, texts in (("short", short), ("realistic", long)):
        t0 = time.perf_counter()
        emb.embed(texts)
        out[f"{name} texts/s"] = len(texts) / (time.perf_counter() - t0)
    batch = TEXTS
    alone = []
    for _ in range(20):
        t0 = time.perf_counter()
        emb.embed(batch)
        alone.append(time.perf_counter() - t0)
    stop = threading.Event()
    threads = [threading.Thread(target=busy_python, args=(stop,)) for _ in range(8)]
    for t in threads:
        t.start()
    loaded = []
    try:
        for _ in range(20):
            t0 = time.perf_counter()
            emb.embed(batch)
            loaded.append(time.perf_counter() - t0)
    finally:
        stop.set()
        for t in threads:
            t.join()
    out["batch of 10 ms"] = 1000 * statistics.median(alone)
    out["beside 8 Python threads ms"] = 1000 * statistics.median(loaded)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=64)
    args = ap.parse_args()
    from public_kb import build

    kb = build(max(1, args.texts // 5) + 1)
    long = [q for e in kb.entries for q in e.questions][:args.texts]
    short = (TEXTS * (args.texts // len(TEXTS) + 1))[:args.texts]
    torch_emb = load_embedder("default", backend="torch", batch_size=args.batch_size)
    onnx_emb = load_embedder("default", backend="onnx", batch_size=args.batch_size)
    serial = load_embedder("default", backend="onnx", batch_size=args.batch_size)
    serial._onnx_encoder().workers = 1  # every batch on the one session, one after another
    int8 = load_embedder("default", backend="onnx", batch_size=args.batch_size, precision="int8")
    rows = {"torch": measure(torch_emb, short, long), "onnx, batches one at a time": measure(serial, short, long),
            "onnx": measure(onnx_emb, short, long), "onnx int8": measure(int8, short, long)}
    a, b, q = onnx_emb.embed(long[:500]), torch_emb.embed(long[:500]), int8.embed(long[:500])
    cos, cos8 = (a * b).sum(axis=1), (q * b).sum(axis=1)
    print(f"realistic phrasings: {statistics.mean(len(t.split()) for t in long):.1f} words on average")
    keys = list(rows["torch"])
    print("| backend | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for name, r in rows.items():
        print(f"| {name} | " + " | ".join(f"{r[k]:.1f}" for k in keys) + " |")
    print(f"cosine of ONNX to PyTorch vectors (500 realistic phrasings): min {cos.min():.7f}, mean {cos.mean():.7f}")
    print(f"cosine of ONNX int8 to PyTorch vectors (the same): min {cos8.min():.4f}, mean {cos8.mean():.4f}")


if __name__ == "__main__":
    main()
