import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from escalation.webhooks import Dispatcher, enqueue, sign, verify

NOW = 1_800_000_000.0


class Recorder:
    def __init__(self, statuses=None):
        self.calls, self.statuses = [], list(statuses or [])

    def __call__(self, url, body, headers, timeout):
        self.calls.append((url, body, headers))
        if self.statuses:
            status = self.statuses.pop(0)
            if isinstance(status, Exception):
                raise status
            return status
        return 200


def test_signed_redacted_delivery(db_engine):
    with db_engine.begin() as conn:
        delivery = enqueue(conn, "ticket.created", {"note": "call me on +44 20 7946 0958", "p": "P0"}, NOW)
    rec = Recorder()
    d = Dispatcher(db_engine, "http://hooks.invalid/x", "s3cret", post=rec)
    assert d.deliver_due(NOW) == 1
    url, body, headers = rec.calls[0]
    assert headers["x-triage-delivery"] == delivery and headers["x-triage-event"] == "ticket.created"
    ts = int(headers["x-triage-timestamp"])
    assert headers["x-triage-signature"] == sign("s3cret", ts, body)
    assert verify("s3cret", ts, body, headers["x-triage-signature"], NOW)
    assert not verify("other", ts, body, headers["x-triage-signature"], NOW)
    assert not verify("s3cret", ts, body, headers["x-triage-signature"], NOW + 3600)  # replayed later
    data = json.loads(body)
    assert data["id"] == delivery and data["data"] == {"note": "call me on [phone]", "p": "P0"}
    assert d.deliver_due(NOW + 10) == 0 and d.pending() == []


def test_failures_retry_with_backoff_and_nothing_is_lost(db_engine):
    with db_engine.begin() as conn:
        enqueue(conn, "ticket.sla_breached", {"x": 1}, NOW)
    rec = Recorder([500, ConnectionError("down")])
    d = Dispatcher(db_engine, "http://hooks.invalid/x", "k", post=rec)
    assert d.deliver_due(NOW) == 0
    (pending,) = d.pending()
    assert pending["last_error"] == "HTTP 500" and pending["next_attempt_at"] == NOW + 5
    assert d.deliver_due(NOW + 1) == 0  # not yet due
    assert d.deliver_due(NOW + 5) == 0 and "ConnectionError" in d.pending()[0]["last_error"]
    assert d.deliver_due(NOW + 20) == 1
    assert len(rec.calls) == 3 and len({c[2]["x-triage-delivery"] for c in rec.calls}) == 1


def test_no_url_means_nothing_is_sent_but_events_wait(db_engine):
    with db_engine.begin() as conn:
        enqueue(conn, "ticket.created", {}, NOW)
    assert Dispatcher(db_engine, None, "k").deliver_due(NOW) == 0
    assert len(Dispatcher(db_engine, None, "k").pending()) == 1


@pytest.fixture
def http_receiver():
    got = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["content-length"]))
            got.append((dict(self.headers), body))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", got
    server.shutdown()


def test_real_http_delivery(db_engine, http_receiver):
    url, got = http_receiver
    with db_engine.begin() as conn:
        enqueue(conn, "ticket.created", {"a": 1}, NOW)
    assert Dispatcher(db_engine, url, "k").deliver_due(NOW) == 1
    headers, body = got[0]
    headers = {k.lower(): v for k, v in headers.items()}
    assert verify("k", int(headers["x-triage-timestamp"]), body, headers["x-triage-signature"], NOW)
