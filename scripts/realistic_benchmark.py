#!/usr/bin/env python
"""The default bot on messages phrased as users ask, through `triage predict` as the README has it.

    python scripts/realistic_benchmark.py [--model models/default] [--data eval_data/realistic]

Runs `triage predict --model MODEL` on every message of the held-out set and groups the outcome by
the complexity of the message's label (from the training data's metadata), overall and per
language: simple questions answered directly and rightly (and wrong answers among those
answered), medium ones reaching the confirm step with the right intent, complex ones going to a
person, out-of-scope ones never answered.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.i18n import detect_language  # noqa: E402
from bot.core.vocabulary import OUT_OF_SCOPE
from bot.ml.training_data import load_training_data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    ap.add_argument("--data", type=Path, default=ROOT / "eval_data" / "realistic")
    ap.add_argument("--training-data", type=Path, default=ROOT / "training_data")
    args = ap.parse_args()
    meta = load_training_data(args.training_data).intent_meta
    held = load_training_data(args.data).examples
    stdin = "".join(json.dumps({"text": e.text}, ensure_ascii=False) + "\n" for e in held).encode()
    triage = Path(sys.executable).with_name("triage")
    cmd = [str(triage)] if triage.exists() else [sys.executable, "-m", "bot.interfaces.cli"]
    out = subprocess.run(cmd + ["predict", "--model", str(args.model)], input=stdin, capture_output=True,
                         check=True, env={**os.environ, "HF_HUB_OFFLINE": "1"}).stdout.decode().splitlines()
    rows: dict[tuple[str, str], list[tuple[str, dict]]] = defaultdict(list)
    for e, line in zip(held, out):
        kind = OUT_OF_SCOPE if e.label == OUT_OF_SCOPE else meta[e.label].complexity.value
        d = json.loads(line)
        for lang in ("all", detect_language(e.text)):
            rows[(kind, lang)].append((e.label, d))
    print(f"model {args.model}, {len(held)} messages of {args.data}")
    print("| kind | language | n | answered rightly | answered wrongly | confirmed, right intent | escalated |")
    print("|---|---|---|---|---|---|---|")
    for kind in ("simple", "medium", "complex", OUT_OF_SCOPE):
        for lang in ("all", "en", "zh"):
            pairs = rows.get((kind, lang), [])
            if not pairs:
                continue
            n = len(pairs)
            ans_ok = sum(d["route"] == "answer" and d["intent"] == g for g, d in pairs)
            ans_bad = sum(d["route"] == "answer" and d["intent"] != g for g, d in pairs)
            conf_ok = sum(d["route"] == "confirm" and d["intent"] == g for g, d in pairs)
            esc = sum(d["route"] == "escalate" for _, d in pairs)
            pct = lambda x: f"{x} ({100 * x / n:.1f}%)"  # noqa: E731
            wrong = f"{ans_bad} ({100 * ans_bad / (ans_ok + ans_bad):.1f}% of answered)" if ans_ok + ans_bad else "0"
            print(f"| {kind} | {lang} | {n} | {pct(ans_ok)} | {wrong} | {pct(conf_ok)} | {pct(esc)} |")


if __name__ == "__main__":
    main()
