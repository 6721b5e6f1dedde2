"""`triage serve --workers 2`: several processes, each with the model, on SQLite and PostgreSQL."""
import os
import subprocess
import sys
import threading
import time

import httpx
import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_two_worker_processes_serve_one_desk(db_engine, tiny_model, tmp_path):
    port = free_port()
    url = db_engine.url.render_as_string(hide_password=False).replace("postgresql+psycopg://", "postgresql://")
    env = {**os.environ, "TRIAGE_ENCODER": "fake:64", "TRIAGE_CLIENT_RATE_PER_MINUTE": "100000",
           "TRIAGE_AGENTS": '{"ann": "agent-key-123456"}'}
    log = open(tmp_path / "serve.log", "w+")
    proc = subprocess.Popen([sys.executable, "-m", "bot.interfaces.cli", "serve", "--model", str(tiny_model),
                             "--db", url, "--port", str(port), "--workers", "2"], env=env, cwd=ROOT,
                            stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, open(tmp_path / "serve.log").read()[-2000:]
            try:
                if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "not ready in time"
            time.sleep(0.2)
        replies, lock = [], threading.Lock()

        def user():
            with httpx.Client(base_url=base, timeout=60) as http:
                c = http.post("/conversations").json()
                h = {"Authorization": f"Bearer {c['token']}"}
                for _ in range(5):
                    r = http.post(f"/conversations/{c['id']}/messages", json={"text": "what are the trading fees"},
                                  headers=h)
                    with lock:
                        replies.append((r.status_code, r.json()["replies"][0]["text"] if r.status_code == 200 else ""))
                    http.post(f"/conversations/{c['id']}/messages", json={"text": "/yes"}, headers=h)
        threads = [threading.Thread(target=user) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(replies) == 40 and all(code == 200 for code, _ in replies)
        assert {text for _, text in replies} == {"Trading costs 0.1% per trade."}
        # One desk: a ticket opened through one worker is claimed once, whichever worker serves it.
        c = httpx.post(f"{base}/conversations").json()
        httpx.post(f"{base}/conversations/{c['id']}/messages", json={"text": "/human"},
                   headers={"Authorization": f"Bearer {c['token']}"})
        agent = {"Authorization": "Bearer agent-key-123456"}
        claims = [httpx.post(f"{base}/agent/claim-next", json={}, headers=agent).status_code for _ in range(4)]
        assert claims.count(200) == 1 and claims.count(204) == 3
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
