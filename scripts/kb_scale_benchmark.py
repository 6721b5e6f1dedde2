#!/usr/bin/env python
"""Training and prediction as the knowledge base grows, through the command-line contract.

For each size N: the default bot (intents, FAQ entries, calibration set) plus N FAQ entries of 5
phrasings each, written as Rasa-style YAML; then `triage train --no-fine-tune` (wall time, peak
memory of the process) and `triage predict` (start-up, then texts per second), and in process one
message at a time (p50 against one raw encoder call for one text).

Entries come from `scripts/public_kb.py` (`--source public`, the default: CLINC150 and BANKING77
queries about products, with real held-out queries) or from word lists (`--source synthetic`:
speed only). With public data, answer coverage and precision are measured on held-out queries of
`--subset` entries, both in the N-entry knowledge base and in a knowledge base of those entries
alone, so the quality cost of scale shows; the calibration set gains one held-out query for
`--calibration` entries (never one that is evaluated).

    python scripts/kb_scale_benchmark.py [--sizes 1000,10000,50000] [--subset 500] [--keep DIR]
                                         [--encoder-precision int8]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))
from faq_edit_benchmark import entries as synthetic_entries  # noqa: E402
from public_kb import build  # noqa: E402

os.environ["HF_HUB_OFFLINE"] = "1"
ENV = dict(os.environ)
TRIAGE = [sys.executable, "-m", "bot.interfaces.cli"]


def write_kb(out: Path, kb: list[dict], calibration: list[tuple[str, str]]) -> None:
    out.mkdir(parents=True)
    for name in ("nlu.yml", "priorities.yml", "complexity.yml"):
        shutil.copy(ROOT / "training_data" / name, out / name)
    own = yaml.safe_load((ROOT / "training_data" / "faq.yml").read_text(encoding="utf-8"))["faq"]
    (out / "faq.yml").write_text(yaml.safe_dump({"faq": own + kb}, allow_unicode=True, sort_keys=False),
                                 encoding="utf-8")
    cal = yaml.safe_load((ROOT / "training_data" / "calibration.yml").read_text(encoding="utf-8"))
    by: dict[str, list[str]] = {}
    for text, fid in calibration:
        by.setdefault(f"faq/{fid}", []).append(text)
    cal["nlu"] += [{"intent": k, "examples": "".join(f"- {t}\n" for t in v)} for k, v in by.items()]
    (out / "calibration.yml").write_text(yaml.safe_dump(cal, allow_unicode=True, sort_keys=False), encoding="utf-8")


def train(data: Path, model: Path, precision: str) -> tuple[float, float]:
    """(seconds, peak MB of the training process), the encoder at `precision`."""
    t0 = time.perf_counter()
    log = data.parent / "train.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen([*TRIAGE, "train", "--data", str(data), "--out", str(model), "--no-fine-tune",
                                 "--encoder-precision", precision],
                                env=ENV, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").replace("\r", "\n").splitlines()[-5:]
        raise SystemExit(f"triage train failed on {data} (status {status}):\n" + "\n".join(tail))
    return time.perf_counter() - t0, usage.ru_maxrss / 1024


def predict(model: Path, texts: list[str]) -> tuple[list[dict], float]:
    lines = "".join(json.dumps({"text": t}) + "\n" for t in texts)
    t0 = time.perf_counter()
    out = subprocess.run([*TRIAGE, "predict", "--model", str(model)], input=lines, env=ENV, cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.splitlines()
    return [json.loads(o) for o in out], time.perf_counter() - t0


def quality(decisions: list[dict], truth: list[str]) -> str:
    answered = [d.get("route") == "answer" for d in decisions]
    right = [d.get("faq_id") == fid for d, fid in zip(decisions, truth)]
    offered = [right[i] or any(c["intent"] == f"faq/{truth[i]}" for c in d.get("candidates", []))
               for i, d in enumerate(decisions)]
    n_ans = sum(answered)
    prec = sum(a and r for a, r in zip(answered, right)) / n_ans if n_ans else float("nan")
    return (f"top-1 {np.mean(right):.1%}, among the 3 offered {np.mean(offered):.1%}, answered {n_ans / len(truth):.1%}"
            f" at precision {prec:.1%}")


def single_message(model: Path, texts: list[str]) -> str:
    """p50 of one message decided in process, against one raw encoder call for one text."""
    from bot.core.settings import Settings
    from bot.ml.engine import TriageEngine

    engine = TriageEngine.from_model_dir(model, Settings())
    engine.predict_one(texts[0])
    enc, turn = [], []
    for t in texts[:300]:
        t0 = time.perf_counter()
        engine.embedder.embed([t])
        enc.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        engine.predict_one(t)
        turn.append(time.perf_counter() - t0)
    e, p = np.median(enc) * 1000, np.median(turn) * 1000
    return f"{p:.1f} ms (one raw encode {e:.1f} ms: {p / e:.2f}x)"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,50000")
    ap.add_argument("--source", choices=["public", "synthetic"], default="public")
    ap.add_argument("--subset", type=int, default=500, help="entries whose held-out queries measure quality")
    ap.add_argument("--calibration", type=int, default=1000, help="entries with a calibration query")
    ap.add_argument("--predict", type=int, default=5000, help="texts for the `triage predict` rate")
    ap.add_argument("--keep", type=Path, help="copy each trained model to KEEP/N (for profiling afterwards)")
    ap.add_argument("--encoder-precision", choices=["float32", "int8"], default="float32",
                    help="train (and so predict) with the encoder at this precision")
    args = ap.parse_args()
    print(f"encoder precision: {args.encoder_precision}", flush=True)
    for n in [int(x) for x in args.sizes.split(",")]:
        if args.source == "public":
            kb = build(n, 5, seed=7)
            rows = [{"id": e.id, "answer": e.answer, "questions": e.questions} for e in kb.entries]
            rng = random.Random(11)
            subset = sorted(rng.sample(range(n), min(args.subset, n)))
            rest = sorted(set(range(n)) - set(subset))
            cal_idx = rng.sample(rest, min(args.calibration, len(rest)))
            calibration = [kb.calibration[i] for i in cal_idx]
            evaluation = [kb.evaluation[i] for i in subset]
            pool = [q for e in kb.entries for q in e.questions] + [t for t, _ in kb.evaluation]
        else:
            syn = synthetic_entries(n, 5, seed=7)
            rows = [{"id": e.id, "answer": e.answers, "questions": e.questions} for e in syn]
            calibration, evaluation, subset = [], [], []
            pool = [q for e in syn for q in e.questions]
        with tempfile.TemporaryDirectory() as tmp:
            data, model = Path(tmp) / "data", Path(tmp) / "model"
            write_kb(data, rows, calibration)
            train_s, peak = train(data, model, args.encoder_precision)
            mode = json.loads((model / "config.json").read_text())["report"].get("faq_answered_by", "?")
            if args.keep:
                shutil.copytree(model, args.keep / str(n), dirs_exist_ok=True)
                shutil.copy(data.parent / "train.log", args.keep / f"{n}-train.log")
            print(f"\n{n:,} entries ({5 * n:,} phrasings, FAQ answered by {mode}): train {train_s:.0f} s, "
                  f"peak {peak:,.0f} MB", flush=True)
            texts = random.Random(3).sample(pool, min(args.predict, len(pool)))
            _, t_one = predict(model, texts[:1])
            _, t_all = predict(model, texts)
            print(f"  triage predict: start-up {t_one:.1f} s, then {(len(texts) - 1) / max(t_all - t_one, 1e-9):.0f} "
                  f"texts/s ({len(texts):,} texts in {t_all:.1f} s)", flush=True)
            print(f"  one message in process: {single_message(model, texts)}", flush=True)
            if evaluation:
                decisions, _ = predict(model, [t for t, _ in evaluation])
                print(f"  held-out queries of {len(subset)} entries: {quality(decisions, [f for _, f in evaluation])}",
                      flush=True)
        if evaluation and len(subset) < n:
            with tempfile.TemporaryDirectory() as tmp:
                data, model = Path(tmp) / "data", Path(tmp) / "model"
                sub_cal = [kb.calibration[i] for i in subset]
                write_kb(data, [rows[i] for i in subset], sub_cal)
                train_s, _ = train(data, model, args.encoder_precision)
                decisions, _ = predict(model, [t for t, _ in evaluation])
                print(f"  the same {len(subset)} entries alone (their own calibration queries; train {train_s:.0f} s):"
                      f" {quality(decisions, [f for _, f in evaluation])}", flush=True)


if __name__ == "__main__":
    main()
