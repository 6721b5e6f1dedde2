#!/usr/bin/env python
"""Clause amplification, measured: N clients each send one message of 121 sentences (3.6 KB) at
once while an unrelated user sends an ordinary question. Prints, for the big messages, their
status codes, replies per message and latency, and the unrelated user's latency.

Starts `triage serve` on a loopback port with a fresh SQLite file (the embedded default) and
the default bot's model (trained into models/default first if it is missing).

    python scripts/abuse_benchmark.py [--model models/default] [--clients 16] [--rounds 3]
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIG = " ".join(["What are the fees?", "My account was hacked."] * 60 + ["Thanks."])


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("triage serve exited while starting")
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("triage serve did not become ready")


def one_round(base: str, clients: int) -> dict:
    def conv(http):
        c = http.post("/conversations").json()
        return c["id"], {"Authorization": f"Bearer {c['token']}"}

    results: list[tuple[int, int, float]] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def big(i: int):
        with httpx.Client(base_url=base, timeout=120) as http:
            cid, h = conv(http)
            start.wait()
            t0 = time.perf_counter()
            r = http.post(f"/conversations/{cid}/messages", json={"text": BIG}, headers=h)
            dt = time.perf_counter() - t0
            n = len(r.json()["replies"]) if r.status_code == 200 else 0
            with lock:
                results.append((r.status_code, n, dt))

    threads = [threading.Thread(target=big, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    with httpx.Client(base_url=base, timeout=120) as http:
        cid, h = conv(http)
        start.wait()
        time.sleep(0.05)  # the big ones are in flight
        t0 = time.perf_counter()
        r = http.post(f"/conversations/{cid}/messages", json={"text": "how do I reset my password"}, headers=h)
        unrelated = time.perf_counter() - t0
        unrelated_status = r.status_code
    for t in threads:
        t.join()
    codes: dict[int, int] = {}
    for code, _, _ in results:
        codes[code] = codes.get(code, 0) + 1
    return {"codes": codes, "max_replies": max(n for _, n, _ in results),
            "big_median_s": statistics.median(dt for *_, dt in results), "big_max_s": max(dt for *_, dt in results),
            "unrelated_s": unrelated, "unrelated_status": unrelated_status}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--port", type=int, default=8765)
    args = ap.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRIAGE_CLIENT_RATE_PER_MINUTE": "100000"}
    if not (args.model / "manifest.json").exists():
        subprocess.run([sys.executable, "-m", "bot.interfaces.cli", "train", "--data", str(ROOT / "training_data"),
                        "--out", str(args.model)], env=env, cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        db = f"sqlite:///{tmp}/abuse.db"
        proc = subprocess.Popen([sys.executable, "-m", "bot.interfaces.cli", "serve", "--model", str(args.model),
                                 "--db", db, "--port", str(args.port)], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{args.port}"
        try:
            wait_ready(base, proc)
            print(f"{args.clients} messages of 121 sentences ({len(BIG.encode())} bytes) at once, "
                  f"beside one ordinary message; {os.cpu_count()} cores")
            for i in range(args.rounds):
                r = one_round(base, args.clients)
                print(f"round {i + 1}: status {r['codes']}, replies per big message <= {r['max_replies']}, "
                      f"big median {r['big_median_s']:.2f} s, max {r['big_max_s']:.2f} s; "
                      f"unrelated user {r['unrelated_s']:.2f} s (status {r['unrelated_status']})")
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    main()
