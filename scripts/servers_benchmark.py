#!/usr/bin/env python
"""Two `triage serve` processes on one PostgreSQL database, measured as one desk:

1. FAQ edit to answer on the other server: publish an entry on server A, ask server B until it
   answers with it; the lag from A's acknowledgement to B's first right answer (N edits).
2. Concurrent publications: P entries published at once from both servers (3 threads each);
   then how many are live on each server.
3. Start-up: with at least H publications in the database's history, a third server is started;
   seconds from process start to its first answered message.

Starts a local PostgreSQL server with scripts/postgres.sh (Debian packages) unless --db is given,
and the default bot's model (trained into models/default first if missing). Loopback only.

    python scripts/servers_benchmark.py [--edits 20] [--publications 600] [--history 1000]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
EDITOR_KEY = "benchmark-editor-key-123456"
ED = {"Authorization": f"Bearer {EDITOR_KEY}"}


def fresh_database(admin_url: str) -> str:
    from sqlalchemy import create_engine, text

    name = f"bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def serve(model: Path, db: str, port: int, env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "bot.interfaces.cli", "serve", "--model", str(model), "--db", db,
                             "--port", str(port)], env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server {base} exited while starting")
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit(f"server {base} did not become ready")


def entry(name: str, question: str, answer: str) -> dict:
    return {"questions": [question, f"{question} please"], "answers": {"en": answer}}


def ask(http: httpx.Client, text: str) -> str:
    c = http.post("/conversations").json()
    r = http.post(f"/conversations/{c['id']}/messages", json={"text": text},
                  headers={"Authorization": f"Bearer {c['token']}"})
    return " ".join(m["text"] for m in r.json().get("replies", []))


def edit_lag(a: str, b: str, n: int) -> list[float]:
    lags = []
    with httpx.Client(base_url=a, timeout=60) as ha, httpx.Client(base_url=b, timeout=60) as hb:
        for i in range(n):
            word = f"zq{uuid.uuid4().hex[:6]}"
            question, answer = f"what is the {word} code", f"The {word} code is {i}."
            r = ha.put(f"/editor/faq/lag{i}", json=entry(f"lag{i}", question, answer), headers=ED)
            r.raise_for_status()
            t0 = time.perf_counter()
            while answer not in ask(hb, question):
                if time.perf_counter() - t0 > 30:
                    raise SystemExit(f"edit {i} never reached the other server")
            lags.append(time.perf_counter() - t0)
    return lags


def concurrent_publications(bases: list[str], total: int) -> tuple[float, list[int], int]:
    errors = [0]

    def worker(base: str, ids: list[int]):
        with httpx.Client(base_url=base, timeout=120) as http:
            for i in ids:
                r = http.put(f"/editor/faq/bulk{i}", json=entry(f"bulk{i}", f"bulk topic number {i}",
                                                                f"Bulk answer {i}."), headers=ED)
                if r.status_code != 200:
                    errors[0] += 1
    threads, workers = [], 3 * len(bases)
    for w in range(workers):
        threads.append(threading.Thread(target=worker, args=(bases[w % len(bases)], list(range(w, total, workers)))))
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    live = []
    for base in bases:
        data = httpx.get(f"{base}/editor/faq", params={"q": "bulk"}, headers=ED, timeout=120).json()["data"]
        live.append(len({d["id"] for d in data if d["id"].startswith("bulk")}))
    return wall, live, errors[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    ap.add_argument("--db", help="PostgreSQL admin URL (a fresh database is created on it)")
    ap.add_argument("--edits", type=int, default=20)
    ap.add_argument("--publications", type=int, default=600)
    ap.add_argument("--history", type=int, default=1000)
    args = ap.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRIAGE_CLIENT_RATE_PER_MINUTE": "1000000",
           "TRIAGE_EDITORS": json.dumps({"ed": EDITOR_KEY})}
    if not (args.model / "manifest.json").exists():
        subprocess.run([sys.executable, "-m", "bot.interfaces.cli", "train", "--data", str(ROOT / "training_data"),
                        "--out", str(args.model)], env=env, cwd=ROOT, check=True)
    admin = args.db or subprocess.run(["bash", "scripts/postgres.sh", "start"], cwd=ROOT, check=True,
                                      capture_output=True, text=True).stdout.strip()
    db = fresh_database(admin)
    procs = [serve(args.model, db, 8781, env), serve(args.model, db, 8782, env)]
    a, b = "http://127.0.0.1:8781", "http://127.0.0.1:8782"
    try:
        for base, proc in zip((a, b), procs):
            wait_ready(base, proc)
        lags = edit_lag(a, b, args.edits)
        print(f"edit on A to answer on B ({len(lags)} edits): p50 {1000 * statistics.median(lags):.0f} ms, "
              f"max {1000 * max(lags):.0f} ms")
        wall, live, errors = concurrent_publications([a, b], args.publications)
        print(f"{args.publications} publications at once from 2 servers (6 threads) in {wall:.1f} s: "
              f"live on A {live[0]}, on B {live[1]}, errors {errors}")
        done = args.edits + args.publications
        if done < args.history:
            wall2, _, errors2 = concurrent_publications([a], args.history - done)
            print(f"history filled to {args.history} publications ({wall2:.1f} s, errors {errors2})")
        t0 = time.perf_counter()
        third = serve(args.model, db, 8783, env)
        procs.append(third)
        c = "http://127.0.0.1:8783"
        wait_ready(c, third)
        ready = time.perf_counter() - t0
        with httpx.Client(base_url=c, timeout=60) as hc:
            reply = ask(hc, "bulk topic number 7")
        first = time.perf_counter() - t0
        print(f"third server with {max(done, args.history)} publications in history: ready after {ready:.1f} s, "
              f"first answered message after {first:.1f} s ({'right' if 'Bulk answer 7.' in reply else 'WRONG'} answer)")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)


if __name__ == "__main__":
    main()
