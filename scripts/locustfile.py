"""Locust scenario: end users and agents against one or more `triage serve` processes.

End users (9 in 10): start a conversation, ask questions the default bot knows (English and
Chinese), click "Yes" when asked "Did this solve it?", and about one in ten ask for a person.
Agents (1 in 10): claim the next ticket, reply, resolve. Each simulated person picks one of the
servers in TRIAGE_LOAD_HOSTS (comma-separated) and stays with it. Run by scripts/load_test.sh.
"""
from __future__ import annotations

import os
import random

from locust import HttpUser, between, task

HOSTS = [h for h in os.environ.get("TRIAGE_LOAD_HOSTS", "http://127.0.0.1:8000").split(",") if h]
AGENT_KEY = os.environ.get("TRIAGE_LOAD_AGENT_KEY", "load-agent-key-123456")
QUESTIONS = ["how do I reset my password", "what are your trading fees", "my withdrawal is delayed",
             "怎么充值", "where can I download the app", "how long does verification take",
             "交易手续费是多少", "my deposit hasn't arrived", "how do I enable two-factor authentication",
             "what is the daily withdrawal limit"]


class EndUser(HttpUser):
    weight = 9
    wait_time = between(0.5, 2.0)

    def on_start(self):
        self.client.base_url = random.choice(HOSTS)
        self.conversation = None

    def _new(self):
        r = self.client.post("/conversations", name="POST /conversations")
        c = r.json()
        self.conversation = (c["id"], {"Authorization": f"Bearer {c['token']}"})

    def _send(self, text: str, name: str) -> dict:
        cid, headers = self.conversation
        with self.client.post(f"/conversations/{cid}/messages", json={"text": text}, headers=headers,
                              name=name, catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"{r.status_code}: {r.text[:200]}")
                return {}
            return r.json()

    @task(9)
    def ask(self):
        if self.conversation is None:
            self._new()
        turn = self._send(random.choice(QUESTIONS), "POST message (question)")
        payloads = [b["payload"] for m in turn.get("replies", []) for b in m.get("buttons", [])]
        if "/yes" in payloads:
            self._send("/yes", "POST message (button)")
        elif any(p.startswith("/choose ") for p in payloads):
            self._send(next(p for p in payloads if p.startswith("/choose ")), "POST message (button)")
        if turn.get("state") in ("queued", "with_agent", "resolved"):
            self.conversation = None

    @task(1)
    def ask_for_a_person(self):
        if self.conversation is None:
            self._new()
        self._send("/human", "POST message (ask for a person)")
        self.conversation = None


class Agent(HttpUser):
    weight = 1
    wait_time = between(1.0, 3.0)

    def on_start(self):
        self.client.base_url = random.choice(HOSTS)
        self.headers = {"Authorization": f"Bearer {AGENT_KEY}"}

    @task
    def work_a_ticket(self):
        r = self.client.post("/agent/claim-next", json={}, headers=self.headers, name="POST /agent/claim-next")
        if r.status_code != 200:
            return
        t = r.json()
        body = {"claim_token": t["claim_token"]}
        self.client.post(f"/agent/tickets/{t['id']}/reply", json={**body, "text": "Hello, I am looking into it."},
                         headers=self.headers, name="POST /agent/tickets/{id}/reply")
        self.client.post(f"/agent/tickets/{t['id']}/resolve", json=body, headers=self.headers,
                         name="POST /agent/tickets/{id}/resolve")
