#!/usr/bin/env python
"""Crash test: no acknowledged message is lost or stored twice when the server is SIGKILLed.

Several clients send messages (each with an idempotency key) to a running `triage serve`; the
server is killed with SIGKILL at a random moment and restarted; clients retry every send that
was not acknowledged, with the same key, until all are acknowledged. Then every conversation's
transcript must hold each message exactly once.

    python scripts/crash_test.py [--runs 30] [--clients 6] [--messages 25] [--model DIR]

Without --model, a model is trained with the deterministic fake encoder (fast; the test is about
storage, not language). Only loopback addresses are used; every loop is bounded.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RunResult:
    run: int
    acknowledged: int
    retried: int
    duplicates: int
    missing: int
    unacknowledged: int
    killed_after_s: float
    acknowledged_before_kill: int

    @property
    def ok(self) -> bool:
        return self.duplicates == 0 and self.missing == 0 and self.unacknowledged == 0


class Server:
    def __init__(self, model: Path, db_url: str, port: int, env: dict):
        self.cmd = [sys.executable, "-m", "bot.interfaces.cli", "serve", "--model", str(model), "--db", db_url,
                    "--port", str(port)]
        self.port, self.env, self.proc = port, env, None
        self.log = tempfile.TemporaryFile()

    def start(self, timeout: float = 90.0) -> None:
        self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=self.log, stderr=self.log, cwd=ROOT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"server exited: {self.log.read().decode()[-2000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start in time")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=30)


def client_loop(base: str, cid: str, token: str, texts: list[str], acked: dict, retried: list, stop_at: float):
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=10) as http:
        for i, text in enumerate(texts):
            key = f"{cid}-{i}"
            attempts = 0
            while time.monotonic() < stop_at:
                attempts += 1
                try:
                    r = http.post(f"/conversations/{cid}/messages", json={"text": text, "idempotency_key": key},
                                  headers=headers)
                    if r.status_code == 200:
                        acked[key] = text
                        if attempts > 1:
                            retried.append(key)
                        break
                    if r.status_code == 429:
                        time.sleep(0.2)
                        continue
                    raise RuntimeError(f"unexpected {r.status_code}: {r.text}")
                except httpx.TransportError:
                    time.sleep(0.1)  # the server is down or restarting: retry with the same key


def one_run(run: int, model: Path, workdir: Path, clients: int, messages: int, rng: random.Random,
            env: dict) -> RunResult:
    db_url = f"sqlite:///{workdir / f'crash-{run}.db'}"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Server(model, db_url, port, env)
    server.start()
    try:
        convs = []
        for _ in range(clients):
            r = httpx.post(f"{base}/conversations", timeout=10).json()
            convs.append((r["id"], r["token"]))
        texts = ["hello", "what are the trading fees", "/no", "how do I reset my password", "/yes",
                 "怎么充值", "my withdrawal is delayed", "tell me a joke", "/human", "thanks"]
        acked: dict[str, str] = {}
        retried: list[str] = []
        stop_at = time.monotonic() + 300
        plans = [[rng.choice(texts) for _ in range(messages)] for _ in convs]
        threads = [threading.Thread(target=client_loop, args=(base, cid, tok, plan, acked, retried, stop_at))
                   for (cid, tok), plan in zip(convs, plans)]
        for t in threads:
            t.start()
        kill_after = rng.uniform(0.2, 1.5)
        time.sleep(kill_after)
        server.kill()
        before_kill = len(acked)
        server.start()
        for t in threads:
            t.join(timeout=320)
        # Verify through the API: each key's message exactly once, nothing acknowledged missing.
        duplicates = missing = 0
        for (cid, tok), sent in zip(convs, plans):
            msgs = httpx.get(f"{base}/conversations/{cid}/messages", headers={"Authorization": f"Bearer {tok}"},
                             timeout=30).json()["messages"]
            got = [m["text"] for m in msgs if m["role"] == "user"]
            want = [sent[i] for i in range(len(sent)) if f"{cid}-{i}" in acked]
            if got != want:  # stored twice, lost, or out of order
                duplicates += max(0, len(got) - len(want))
                missing += max(0, len(want) - len(got)) or 1
        return RunResult(run, len(acked), len(retried), duplicates, missing, clients * messages - len(acked),
                         round(kill_after, 2), before_kill)
    finally:
        server.kill()


def train_fake_model(out: Path, env: dict) -> None:
    subprocess.run([sys.executable, "-m", "bot.interfaces.cli", "train", "--data", str(ROOT / "training_data"), "--out", str(out)],
                   env=env, check=True, cwd=ROOT, capture_output=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--clients", type=int, default=6)
    ap.add_argument("--messages", type=int, default=25)
    ap.add_argument("--model", type=Path, help="trained model (default: train one with the fake encoder)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args(argv)
    env = {**os.environ, "TRIAGE_CONVERSATION_RATE_PER_MINUTE": "100000", "TRIAGE_CLIENT_RATE_PER_MINUTE": "100000",
           "HF_HUB_OFFLINE": "1"}
    if args.model is None:
        env["TRIAGE_ENCODER"] = "fake:64"
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        model = args.model
        if model is None:
            model = workdir / "model"
            train_fake_model(model, env)
        results = [one_run(i + 1, model, workdir, args.clients, args.messages, rng, env) for i in range(args.runs)]
    for r in results:
        print(json.dumps(r.__dict__))
    bad = [r for r in results if not r.ok]
    print(f"{len(results) - len(bad)} passed, {len(bad)} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
