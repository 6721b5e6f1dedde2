#!/usr/bin/env python
"""Service benchmark: latency and throughput of the message endpoint under concurrent clients,
next to the raw encoder's speed measured in the same run.

Starts `triage serve` on a loopback port with a fresh SQLite file (or --db), runs C clients that
each own a conversation and send messages for --seconds, then prints median and p99 latency and
requests per second. Bounded in time and count; loopback only.

    python scripts/service_benchmark.py [--model models/default] [--clients 1,4,16] [--seconds 20]
                                        [--streams 0,50]

--streams: open live-update streams during the load (half chat widgets' conversation streams,
half agent consoles' board streams, as the web pages hold them), to see what they cost.

--floor: also measure, in the same run, what a turn cannot go below: one whole prediction in
process (the encoder included; and without it, given the vector), the server's round trip for
its cheapest request (`GET /health`: HTTP, the middlewares, the access log) and one synced SQLite
commit of a turn-sized write; their sum against one raw encode; and the CPU a turn may take if
turns/s are to reach half the encoder's batched texts/s, beside the CPU the encoder's batched work
(measured), the prediction's rest and `GET /health` take. With one worker process, every row
also shows the server's CPU a turn (all its threads, the conversations the clients open
included) and the turns/s that CPU cost allows on this machine's cores.
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
sys.path.insert(0, str(ROOT))

TEXTS = ["how do I reset my password", "what are your trading fees", "my withdrawal is delayed",
         "怎么充值", "where can I download the app", "tell me a joke", "I can't log in",
         "how long does verification take", "交易手续费是多少", "my deposit hasn't arrived"]


def load_engine(model_dir: Path):
    """The model as the server loads it: its encoder at the precision the model was trained with."""
    from bot.core.settings import Settings
    from bot.ml.engine import TriageEngine

    return TriageEngine.from_model_dir(model_dir, Settings())


def encoder_speed(emb) -> dict:
    emb.embed(["warm up"])
    single = []
    for t in TEXTS * 10:
        t0 = time.perf_counter()
        emb.embed([t])
        single.append((time.perf_counter() - t0) * 1000)
    batch = TEXTS * 100
    t0, c0 = time.perf_counter(), time.process_time()
    emb.embed(batch)
    return {"encoder_single_ms_median": statistics.median(single),
            "encoder_batch_texts_per_s": len(batch) / (time.perf_counter() - t0),
            "encoder_batch_cpu_ms_per_text": 1000 * (time.process_time() - c0) / len(batch)}


def predict_speed(engine) -> tuple[float, float]:
    """Median ms of one whole prediction in process (`TriageEngine.predict`, the raw encoder), and
    of the same prediction given the message's vector (everything but the encoder)."""
    vectors = {t: engine.embedder.encode_query([t]) for t in TEXTS}
    engine.predict(TEXTS)
    whole, rest = [], []
    for t in TEXTS * 20:
        t0 = time.perf_counter()
        engine.predict([t])
        t1 = time.perf_counter()
        engine.predict([t], embeddings=vectors[t])
        whole.append((t1 - t0) * 1000)
        rest.append((time.perf_counter() - t1) * 1000)
    return statistics.median(whole), statistics.median(rest)


def health_round_trip(base: str, pid: int | None, n: int = 300) -> tuple[float, float | None]:
    """Median ms of the server's cheapest request, `GET /health`, over one kept-alive connection,
    and the server's CPU ms for each (None with several worker processes)."""
    with httpx.Client(base_url=base, timeout=30) as http:
        http.get("/health")
        times = []
        c0 = cpu_seconds(pid) if pid else 0.0
        for _ in range(n):
            t0 = time.perf_counter()
            http.get("/health").raise_for_status()
            times.append((time.perf_counter() - t0) * 1000)
        cpu = 1000 * (cpu_seconds(pid) - c0) / n if pid else None
    return statistics.median(times), cpu


def synced_commit(directory: str, n: int = 1000) -> float:
    """Median ms of committing a turn-sized write (two message rows, a conversation's state) to a
    SQLite file with the server's journal settings (WAL, synchronous=FULL)."""
    import sqlite3

    conn = sqlite3.connect(f"{directory}/commit.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE m (id INTEGER PRIMARY KEY, conversation TEXT, text TEXT)")
    conn.execute("CREATE INDEX m_c ON m (conversation)")
    conn.execute("CREATE TABLE c (id TEXT PRIMARY KEY, state TEXT)")
    conn.execute("INSERT INTO c VALUES ('c', '')")
    times = []
    for i in range(n):
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany("INSERT INTO m (conversation, text) VALUES (?, ?)",
                         [(f"c{i % 50}", "how do I reset my password"), (f"c{i % 50}", "x" * 600)])
        conn.execute("UPDATE c SET state = ? WHERE id = 'c'", ("s" * 1200,))
        t0 = time.perf_counter()
        conn.execute("COMMIT")
        times.append((time.perf_counter() - t0) * 1000)
    conn.close()
    return statistics.median(times)


ADMIN_KEY = "benchmark-admin-key-123456"


def open_streams(base: str, n: int, stop: float) -> tuple[list[threading.Thread], list[int]]:
    """n server-sent-event readers until `stop`: even ones follow a conversation, odd ones the
    agents' board. Returns the threads and a one-item list counting events received."""
    events = [0]

    def reader(i: int):
        with httpx.Client(base_url=base, timeout=30) as http:
            if i % 2 == 0:
                c = http.post("/conversations").json()
                url, h = f"/conversations/{c['id']}/events", {"Authorization": f"Bearer {c['token']}"}
            else:
                url, h = "/agent/events", {"Authorization": f"Bearer {ADMIN_KEY}"}
            while time.monotonic() < stop:
                left = max(1.0, min(25.0, stop - time.monotonic()))
                with http.stream("GET", url, params={"seconds": left}, headers=h) as r:
                    for line in r.iter_lines():
                        if line.startswith("event:"):
                            events[0] += 1

    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    return threads, events


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def idle_cost(base: str, pid: int, streams: int, seconds: float = 10.0) -> float:
    """Server CPU (% of one core) while `streams` live-update streams are open and nothing happens."""
    stop = time.monotonic() + seconds + 2
    readers, _ = open_streams(base, streams, stop)
    time.sleep(2)  # let them connect
    c0, t0 = cpu_seconds(pid), time.monotonic()
    time.sleep(seconds)
    used = (cpu_seconds(pid) - c0) / (time.monotonic() - t0)
    for t in readers:
        t.join(timeout=30)
    return 100 * used


def load(base: str, clients: int, seconds: float, streams: int = 0, pid: int | None = None) -> dict:
    lat: list[float] = []
    errors = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(i: int):
        with httpx.Client(base_url=base, timeout=30) as http:
            n, c = 0, None
            while time.monotonic() < stop:
                if c is None:  # a new user; the last one was handed to a person (the bot goes quiet)
                    c = http.post("/conversations").json()
                    h = {"Authorization": f"Bearer {c['token']}"}
                text = TEXTS[(i + n) % len(TEXTS)]
                t0 = time.perf_counter()
                r = http.post(f"/conversations/{c['id']}/messages", json={"text": text}, headers=h)
                dt = (time.perf_counter() - t0) * 1000
                with lock:
                    if r.status_code == 200:
                        lat.append(dt)
                    else:
                        errors[0] += 1
                if r.status_code != 200 or r.json()["state"] in ("queued", "with_agent"):
                    c = None
                n += 1

    readers, events = open_streams(base, streams, stop + 1)
    time.sleep(0.5 if streams else 0)
    t0, c0 = time.monotonic(), cpu_seconds(pid) if pid else 0.0
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    cpu = cpu_seconds(pid) - c0 if pid else None
    for t in readers:
        t.join(timeout=30)
    lat.sort()
    return {"clients": clients, "streams": streams, "stream_events": events[0], "requests": len(lat), "errors": errors[0], "rps": len(lat) / wall,
            "cpu_ms_per_turn": 1000 * cpu / len(lat) if cpu is not None and lat else None,
            "median_ms": statistics.median(lat) if lat else None,
            "p99_ms": lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else None}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    ap.add_argument("--clients", default="1,4,16")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--streams", default="0", help="comma-separated numbers of open live-update streams")
    ap.add_argument("--db", help="database URL (default: a fresh SQLite file)")
    ap.add_argument("--port", type=int, default=8799)
    ap.add_argument("--workers", type=int, default=1, help="triage serve --workers")
    ap.add_argument("--floor", action="store_true", help="also measure what a turn cannot go below (see above)")
    args = ap.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRIAGE_CONVERSATION_RATE_PER_MINUTE": "1000000",
           "TRIAGE_CLIENT_RATE_PER_MINUTE": "1000000", "TRIAGE_ADMINS": f'{{"bench": "{ADMIN_KEY}"}}'}
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or f"sqlite:///{tmp}/bench.db"
        proc = subprocess.Popen([sys.executable, "-m", "bot.interfaces.cli", "serve", "--model", str(args.model), "--db", db,
                                 "--port", str(args.port), "--workers", str(args.workers)], env=env, cwd=ROOT,
                                stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{args.port}"
        try:
            for _ in range(600):
                try:
                    if httpx.get(base + "/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            else:
                raise SystemExit("server did not start")
            idle = ({int(st): idle_cost(base, proc.pid, int(st)) for st in args.streams.split(",")}
                    if args.workers == 1 else {})  # CPU of one process: not meaningful with workers
            pid = proc.pid if args.workers == 1 else None
            rows = [load(base, int(c), args.seconds, int(st), pid) for st in args.streams.split(",")
                    for c in args.clients.split(",")]
            health, health_cpu = health_round_trip(base, pid) if args.floor else (None, None)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        commit = synced_commit(tmp) if args.floor else None
    engine = load_engine(args.model)
    enc = encoder_speed(engine.embedder)
    print(f"database: {db.split(':')[0]}, {args.workers} worker process(es)")
    cores = len(os.sched_getaffinity(0))
    print("| clients | open streams | requests | errors | req/s | median ms | p99 ms | stream events "
          f"| server CPU ms a turn | turns/s {cores} cores allow |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        cpu = r["cpu_ms_per_turn"]
        print(f"| {r['clients']} | {r['streams']} | {r['requests']} | {r['errors']} | {r['rps']:.1f} | "
              f"{r['median_ms']:.1f} | {r['p99_ms']:.1f} | {r['stream_events']} | "
              + (f"{cpu:.1f} | {1000 * cores / cpu:.0f} |" if cpu else "- | - |"))
    print("server CPU with no traffic, by open streams: " +
          ", ".join(f"{n}: {pct:.1f}% of a core" for n, pct in idle.items()))
    print(f"raw encoder, same run: one text {enc['encoder_single_ms_median']:.1f} ms median, "
          f"batch {enc['encoder_batch_texts_per_s']:.0f} texts/s")
    if args.floor:
        one = enc["encoder_single_ms_median"]
        predict, rest = predict_speed(engine)
        floor = predict + health + commit
        print(f"floor of one turn: prediction in process {predict:.2f} ms + GET /health round trip {health:.2f} ms "
              f"+ synced commit {commit:.2f} ms = {floor:.2f} ms = {floor / one:.2f} x one raw encode")
        rate = enc["encoder_batch_texts_per_s"]
        print(f"CPU a turn may take for turns/s = 0.5 x the batched encoder ({0.5 * rate:.0f}/s on {cores} cores): "
              f"{1000 * cores / (0.5 * rate):.2f} core-ms; the encoder's batched work takes "
              f"{enc['encoder_batch_cpu_ms_per_text']:.2f} core-ms a text, the prediction's rest (given the vector) {rest:.2f} ms"
              + (f", GET /health {health_cpu:.2f} core-ms of the server" if health_cpu is not None else ""))


if __name__ == "__main__":
    main()
