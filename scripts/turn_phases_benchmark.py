"""Where one message's time goes in process, and what running its text-only work beside the
encoder saves.

For a trained model and messages (default: held-out queries of the realistic knowledge base of
that model's size, `public_kb.py`), one message at a time, medians over the messages:

- one raw encoder call for one text, called from the same thread every time, and called from
  a pool thread (what encoding in the background would cost the encoder);
- the text-only side of a prediction alone (FAQ n-grams and lexical candidates, the three
  models' n-gram scores), and the rest of a prediction given the vector and that side;
- a whole prediction (`predict_one`), whose text-only side runs beside the encoder, and its
  ratio to one raw encode.

    python scripts/turn_phases_benchmark.py --model MODEL [--entries 50000] [--messages 300]
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.2f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--entries", type=int, default=50000, help="size of the realistic set the model was trained on")
    ap.add_argument("--messages", type=int, default=300)
    args = ap.parse_args()

    from public_kb import build

    from bot.core.settings import Settings
    from bot.ml.engine import TriageEngine

    kb = build(args.entries, 5, seed=7)
    texts = random.Random(3).sample([t for t, _ in kb.evaluation], args.messages)
    engine = TriageEngine.from_model_dir(args.model, Settings())
    engine.predict_one(texts[0])  # builds the FAQ index
    emb, index = engine.embedder, engine.faq_index

    same, pooled = [], []
    pool = ThreadPoolExecutor(1)
    for t in texts:
        t0 = time.perf_counter()
        emb.encode_query([t])
        same.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        pool.submit(emb.encode_query, [t]).result()
        pooled.append(time.perf_counter() - t0)
    print(f"one raw encode, same thread: {ms(same)}; from a pool thread: {ms(pooled)}")

    side, rest = [], []
    for t in texts:
        X = emb.encode_query([t])
        t0 = time.perf_counter()
        made = engine._text_side([t], index)
        side.append(time.perf_counter() - t0)
        engine._text_side = lambda *_a, made=made: made
        try:
            t0 = time.perf_counter()
            engine.predict([t], embeddings=X)
            rest.append(time.perf_counter() - t0)
        finally:
            del engine._text_side
    print(f"text-only side: {ms(side)}; the rest given the vector and that side: {ms(rest)}")

    enc, turn = [], []
    for t in texts:
        t0 = time.perf_counter()
        emb.encode_query([t])
        enc.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        engine.predict_one(t)
        turn.append(time.perf_counter() - t0)
    e, p = statistics.median(enc), statistics.median(turn)
    print(f"one message: {p * 1000:.2f} ms against one raw encode {e * 1000:.2f} ms ({p / e:.2f}x); "
          f"one after the other would be about {(e + statistics.median(side) + statistics.median(rest)) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
