#!/usr/bin/env python
"""Benchmark the engine on the public intent data sets in ../shared/datasets (not shipped).

CLINC150: train on train + oos_train, measure on val + oos_val.
BANKING77: a fixed, stratified 90/10 split of train.csv (seed 13).

Prints accuracy, out-of-scope recall, answer coverage and precision, the out-of-scope answer
rate, training time and prediction speed (batch throughput, single-text median latency).

    python scripts/benchmark.py [--datasets DIR] [--only clinc150|banking77]
"""
from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.settings import Settings  # noqa: E402
from bot.core.vocabulary import OUT_OF_SCOPE
from bot.ml.engine import TriageEngine  # noqa: E402
from bot.ml.evaluation import evaluate_decisions  # noqa: E402
from bot.ml.training import stratified_holdout, train  # noqa: E402
from bot.ml.training_data import Example, TrainingData
from intents.encoder import load_embedder  # noqa: E402


def _data(pairs: list[tuple[str, str]], source: str) -> TrainingData:
    seen, examples = set(), []
    for i, (text, label) in enumerate(pairs):
        key = text.strip().lower()
        if key in seen:
            continue
        seen.add(key)
        examples.append(Example(text, OUT_OF_SCOPE if label == "oos" else label, Path(source), i + 1))
    return TrainingData(examples=examples)


def run(name: str, train_pairs, test_pairs, settings: Settings, embedder, fine_tune: bool | None) -> dict:
    data = _data(train_pairs, name)
    t0 = time.perf_counter()
    model = train(data, embedder, settings, progress=True, fine_tune=fine_tune, log=print)
    train_s = time.perf_counter() - t0
    engine = TriageEngine(model, embedder)
    embedder = engine.embedder  # the fine-tuned encoder, when the model has one
    texts = [t for t, _ in test_pairs]
    gold = [OUT_OF_SCOPE if y == "oos" else y for _, y in test_pairs]
    # Speed on a shared 2-core machine is noisy: take the median of three runs.
    batch_runs, encode_runs = [], []
    for _ in range(3):
        t0 = time.perf_counter()
        decisions = []
        for start in range(0, len(texts), 512):
            decisions += engine.predict(texts[start:start + 512])
        batch_runs.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        embedder.encode_query(texts)
        encode_runs.append(time.perf_counter() - t0)
    batch_s, encode_s = statistics.median(batch_runs), statistics.median(encode_runs)
    lat = []
    for t in texts[:300]:
        t1 = time.perf_counter()
        engine.predict_one(t)
        lat.append((time.perf_counter() - t1) * 1000)
    r = evaluate_decisions(decisions, gold)
    raw_top1 = float(np.mean([(d.candidates[0].intent if d.candidates else None) == g
                              for d, g in zip(decisions, gold) if g != OUT_OF_SCOPE]))
    return {
        "dataset": name, "train_examples": len(data.examples), "test_examples": len(texts),
        "in_scope_accuracy": r.in_scope_accuracy, "top1_accuracy_no_rejection": raw_top1,
        "oos_recall": r.out_of_scope_recall, "answer_coverage": r.answer_coverage,
        "answer_precision": r.answer_precision, "oos_answered": r.out_of_scope_answered,
        "train_seconds": train_s, "batch_texts_per_second": len(texts) / batch_s,
        "encoder_only_texts_per_second": len(texts) / encode_s,
        "single_text_median_ms": statistics.median(lat),
        "thresholds": model.thresholds.to_json(), "prob_weight": model.classifier.prob_weight,
        "fine_tuned": model.tuned is not None, "calibration": model.report["calibration"],
    }


def clinc(root: Path):
    d = root / "clinc150"
    load = lambda n: [tuple(x) for x in json.loads((d / f"{n}.json").read_text())]  # noqa: E731
    return load("train") + load("oos_train"), load("val") + load("oos_val")


def banking(root: Path, seed: int = 13):
    with (root / "banking77" / "train.csv").open(newline="", encoding="utf-8") as f:
        rows = [(r["text"], r["category"]) for r in csv.DictReader(f)]
    tr, te = stratified_holdout([y for _, y in rows], 0.1, seed)
    return [rows[i] for i in tr], [rows[i] for i in te]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    ap.add_argument("--only", choices=["clinc150", "banking77"])
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--fine-tune", action=argparse.BooleanOptionalAction, default=None,
                    help="fine-tune the encoder (default: the TRIAGE_FINE_TUNE setting; auto = on for both)")
    args = ap.parse_args()
    settings = Settings()
    embedder = load_embedder(settings.encoder, batch_size=settings.encode_batch_size,
                                     backend=settings.encoder_backend, cache_dir=settings.encoder_cache)
    embedder.embed(["warm up"])  # load the model outside the timings
    ft = settings.fine_tune if args.fine_tune is None else args.fine_tune
    results = []
    if args.only in (None, "clinc150"):
        results.append(run("clinc150", *clinc(args.datasets), settings, embedder, ft))
    if args.only in (None, "banking77"):
        results.append(run("banking77", *banking(args.datasets), settings, embedder, ft))
    pct = lambda x: "n/a" if x is None else f"{100 * x:.2f}%"  # noqa: E731
    print(f"fine-tuning: {'auto' if ft is None else 'on' if ft else 'off'}")
    print("| dataset | in-scope acc | top-1 acc (no rejection) | OOS recall | answer coverage | answer precision "
          "| OOS answered | train s | batch texts/s | encoder alone texts/s | single text ms (median) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['dataset']} | {pct(r['in_scope_accuracy'])} | {pct(r['top1_accuracy_no_rejection'])} | "
              f"{pct(r['oos_recall'])} | {pct(r['answer_coverage'])} | {pct(r['answer_precision'])} | "
              f"{pct(r['oos_answered'])} | {r['train_seconds']:.1f} | {r['batch_texts_per_second']:.0f} | "
              f"{r['encoder_only_texts_per_second']:.0f} | "
              f"{r['single_text_median_ms']:.1f} |")
    for r in results:
        print(f"{r['dataset']}: thresholds {r['thresholds']}, prob_weight {r['prob_weight']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
