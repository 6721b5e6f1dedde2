#!/usr/bin/env python
"""A model promotion under load: how long until a server serves the new model, and what the
turns in flight see meanwhile.

In process, on a fresh SQLite file: a server (`ChatService` with the serving loader: encoder
warmed up, micro-batcher) on model A; `--clients` threads each send turns (new conversations,
questions of the default bot's held-out set) for `--seconds`; after a third of the time model B
is promoted (recorded in the database as `triage promote` does). Prints the lag from promotion
to the switch, turn latency before / during / after the switch, and errors (must be 0).

    python scripts/promotion_benchmark.py --a models/default --b models/default [--clients 8] [--seconds 45]
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bot.core.db import make_engine, upgrade  # noqa: E402
from bot.core.settings import Settings  # noqa: E402
from bot.ml.engine import TriageEngine  # noqa: E402
from bot.support import promotions  # noqa: E402
from bot.support.service import ChatService  # noqa: E402


def questions() -> list[str]:
    data = yaml.safe_load((ROOT / "eval_data" / "default_bot" / "test.yml").read_text(encoding="utf-8"))
    out = []
    for block in data["nlu"]:
        out += [line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- ")]
    return out


def pct(xs: list[float], q: float) -> str:
    if not xs:
        return "—"
    s = sorted(xs)
    return f"{s[min(len(s) - 1, int(q * (len(s) - 1)))] * 1000:.0f} ms"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--a", type=Path, required=True, help="model served first")
    ap.add_argument("--b", type=Path, required=True, help="model promoted under load")
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=45.0)
    args = ap.parse_args()
    settings = Settings()

    def load(path: Path, name: str) -> TriageEngine:
        engine = TriageEngine.from_model_dir(path, settings)
        engine.name = name
        engine.embedder.embed(["warm up"])
        engine.batch_queries(settings.batch_max_texts, settings.batch_max_wait_ms / 1000, settings.batch_max_queue)
        return engine

    texts = questions()
    with tempfile.TemporaryDirectory() as tmp:
        registry = Path(tmp) / "registry"
        shutil.copytree(args.a, registry / "a")
        shutil.copytree(args.b, registry / "b")
        db = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade(db)
        service = ChatService(load(registry / "a", "a"), db, settings)
        service.model_loader = load
        service.start()
        stop = threading.Event()
        log: list[tuple[float, float, str]] = []  # (start, seconds, model)
        errors: list[str] = []
        lock = threading.Lock()

        def client(k: int) -> None:
            i = k
            while not stop.is_set():
                t0 = time.time()
                try:
                    cid, _ = service.create_conversation()
                    turn = service.send(cid, texts[i % len(texts)])
                    if not turn.replies:
                        raise RuntimeError("no reply")
                    with lock:
                        log.append((t0, time.time() - t0, service.engine.name))
                except Exception as e:  # noqa: BLE001 - every failure is counted
                    with lock:
                        errors.append(f"{type(e).__name__}: {e}")
                i += args.clients

        threads = [threading.Thread(target=client, args=(k,)) for k in range(args.clients)]
        for t in threads:
            t.start()
        time.sleep(args.seconds / 3)
        b = promotions.in_registry(registry, "b")
        from bot.ml.model import TriageModel

        with db.begin() as conn:
            p = promotions.record(conn, "b", b, TriageModel.load(b).fingerprint, "bench", time.time())
        promoted = time.time()

        def watch() -> None:  # the server's model watcher (a turn also looks, at most once a second)
            while service.model_seq != p.seq and not stop.is_set():
                service.sync_model(poll_seconds=settings.model_poll_seconds)
                time.sleep(0.1)

        watcher = threading.Thread(target=watch)
        watcher.start()
        while service.model_seq != p.seq and time.time() - promoted < args.seconds:
            time.sleep(0.05)
        switched = time.time()
        time.sleep(max(0.0, args.seconds - (switched - promoted) - args.seconds / 3))
        stop.set()
        for t in threads + [watcher]:
            t.join()
        before = [d for s, d, _ in log if s < promoted]
        during = [d for s, d, _ in log if promoted <= s < switched]
        after = [d for s, d, _ in log if s >= switched]
        print(f"{args.clients} clients, {len(log)} turns in {args.seconds:.0f} s, errors: {len(errors)}"
              + (f" (first: {errors[0]})" if errors else ""))
        print(f"promotion to switch: {switched - promoted:.1f} s (loading model b in the background, FAQ carried "
              f"over); poll every {settings.model_poll_seconds:g} s")
        for name, xs in (("before", before), ("during the load", during), ("after", after)):
            rate = len(xs) / max(1e-9, (promoted - log[0][0]) if name == "before" else
                                 (switched - promoted) if name.startswith("during") else (log[-1][0] - switched))
            print(f"  turns {name:<16}: {len(xs):5d} ({rate:.1f}/s), p50 {pct(xs, 0.5)}, p99 {pct(xs, 0.99)}")
        print(f"models that answered after the switch: {sorted({m for s, _, m in log if s > switched + 1})}")
        db.dispose()


if __name__ == "__main__":
    main()
