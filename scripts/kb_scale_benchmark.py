#!/usr/bin/env python
"""Training and prediction as the knowledge base grows, through the command-line contract.

For each size N: the default bot (intents, FAQ entries, calibration set) plus N synthetic FAQ entries of 5
phrasings each (support questions composed from word lists, as in scripts/faq_edit_benchmark.py;
synthetic, so the figures are speed and memory, not quality), written as Rasa-style YAML; then
`triage train` (wall time and peak memory of the process) and `triage predict` on 1,000 of the
entries' phrasings (texts per second, and how many reach their own entry).

    python scripts/kb_scale_benchmark.py [--sizes 1000,5000,10000]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
from faq_edit_benchmark import entries  # noqa: E402


def write_kb(out: Path, n: int) -> list:
    out.mkdir(parents=True)
    for name in ("nlu.yml", "priorities.yml", "complexity.yml", "calibration.yml"):
        shutil.copy(ROOT / "training_data" / name, out / name)
    kb = entries(n, 5, seed=7)
    own = yaml.safe_load((ROOT / "training_data" / "faq.yml").read_text(encoding="utf-8"))["faq"]
    faq = {"faq": own + [{"id": e.id, "answer": e.answers, "questions": e.questions} for e in kb]}
    (out / "faq.yml").write_text(yaml.safe_dump(faq, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return kb


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,5000,10000")
    args = ap.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    triage = [sys.executable, "-m", "bot.interfaces.cli"]
    print("| FAQ entries | phrasings | answered by | train s | train peak MB | predict texts/s | own entry top-1 |")
    print("|---|---|---|---|---|---|---|")
    for n in [int(x) for x in args.sizes.split(",")]:
        with tempfile.TemporaryDirectory() as tmp:
            data, model = Path(tmp) / "data", Path(tmp) / "model"
            kb = write_kb(data, n)
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            t0 = time.perf_counter()
            subprocess.run([*triage, "train", "--data", str(data), "--out", str(model), "--no-fine-tune"], env=env,
                           cwd=ROOT, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            train_s = time.perf_counter() - t0
            peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            peak_mb = max(peak, before) / 1024
            sample = kb[:: max(1, len(kb) // 1000)][:1000]
            lines = "".join(json.dumps({"text": e.questions[0]}) + "\n" for e in sample)
            t0 = time.perf_counter()
            out = subprocess.run([*triage, "predict", "--model", str(model)], input=lines, env=env, cwd=ROOT,
                                 check=True, capture_output=True, text=True).stdout.splitlines()
            pred_s = time.perf_counter() - t0
            right = sum(json.loads(o).get("faq_id") == e.id for o, e in zip(out, sample))
            mode = json.loads((model / "config.json").read_text())["report"].get("faq_answered_by", "?")
            print(f"| {n:,} | {5 * n:,} | {mode} | {train_s:.0f} | {peak_mb:.0f} | {len(sample) / pred_s:.0f} "
                  f"(incl. start-up) | {right}/{len(sample)} |", flush=True)


if __name__ == "__main__":
    main()
