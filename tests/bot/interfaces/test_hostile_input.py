"""Hypothesis strategies for hostile input (lone surrogates, NUL, control characters, huge and
non-finite numbers) against every text and number the API takes, on SQLite and PostgreSQL: the
answer is always a 4xx with a reason or a success, never a 500."""
import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.bot.interfaces.test_api import KEYS, H, new_conv
from tests.bot.interfaces.test_hardening import claimed_ticket, settings_for
from tests.factories import api_client, make_service

POISON = ["\x00", "\ud800", "\udfff", "\ud83d", "\u202e", "\ufffe", "\x1b[31m", "%00", "\\u0000", "' OR 1=1 --",
          "a" * 300, "名" * 70]
hostile_text = st.lists(st.one_of(st.text(max_size=20), st.sampled_from(POISON)), min_size=1, max_size=4).map("".join)
hostile_number = st.one_of(st.sampled_from(["NaN", "Infinity", "-Infinity", "1e400", "-1e400", "1" + "0" * 400,
                                            "-1", "0.5", "true", "null", '"7"']),
                           st.integers().map(str), st.floats().map(lambda f: json.dumps(f)))
FAST = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)


def body(**fields) -> bytes:
    """JSON with the given fields; strings escaped as JSON does (ensure_ascii keeps lone
    surrogates as \\uXXXX escapes), numbers written raw."""
    parts = []
    for k, v in fields.items():
        parts.append(f'"{k}": {v if isinstance(v, RawNumber) else json.dumps(v)}')
    return ("{" + ", ".join(parts) + "}").encode()


class RawNumber(str):
    pass


@pytest.fixture
def client(db_engine, tiny_model, fake_embedder):
    s = settings_for(max_message_chars=4096, max_body_bytes=65536, max_streams_per_caller=4)
    with api_client(make_service(db_engine, tiny_model, fake_embedder, s), s) as c:
        yield c


def post(client, path, payload: bytes, headers=None):
    return client.post(path, content=payload, headers={"content-type": "application/json", **(headers or {})})


def ok_or_4xx(r):
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code >= 400:
        assert r.json()["detail"], "a 4xx says why"


def test_hostile_text_in_every_field(client):
    cid, token = new_conv(client)
    tid, claim = claimed_ticket(client)

    @FAST
    @given(text=hostile_text)
    def check(text):
        ok_or_4xx(post(client, f"/conversations/{cid}/messages", body(text=text), H(token)))
        ok_or_4xx(post(client, f"/conversations/{cid}/messages", body(text="hi", idempotency_key=text), H(token)))
        ok_or_4xx(post(client, "/editor/try", body(text=text), H(KEYS["editor"])))
        ok_or_4xx(post(client, "/editor/golden", body(question=text, expected=text), H(KEYS["editor"])))
        ok_or_4xx(post(client, "/webhooks/rest/webhook", body(sender=text, message=text)))
        ok_or_4xx(post(client, "/auth/login", body(key=text)))
        ok_or_4xx(post(client, f"/agent/tickets/{tid}/reply", body(claim_token=RawNumber(claim), text=text),
                       H(KEYS["agent"])))
        ok_or_4xx(post(client, f"/agent/tickets/{tid}/transfer", body(claim_token=RawNumber(claim), team=text),
                       H(KEYS["agent"])))
        enc = quote(text, safe="", errors="surrogatepass")               # lone halves as invalid UTF-8
        ok_or_4xx(client.get(f"/agent/queue?team={enc}", headers=H(KEYS["agent"])))
        ok_or_4xx(client.get(f"/agent/tickets/{enc}", headers=H(KEYS["agent"])))
    check()


def test_hostile_numbers_in_every_number(client):
    cid, token = new_conv(client)
    tid, _ = claimed_ticket(client)

    @FAST
    @given(number=hostile_number)
    def check(number):
        raw = RawNumber(number)
        ok_or_4xx(post(client, f"/conversations/{cid}/messages",
                       body(text="hi", context=RawNumber(f'{{"returns_24h": {number}}}')), H(token)))
        ok_or_4xx(post(client, f"/agent/tickets/{tid}/renew", body(claim_token=raw), H(KEYS["agent"])))
        ok_or_4xx(post(client, "/editor/faq/fees/rollback", body(version=raw), H(KEYS["editor"])))
        ok_or_4xx(client.get(f"/conversations/{cid}/messages", params={"after": number}, headers=H(token)))
        ok_or_4xx(client.get("/dashboard/stats", params={"days": number}, headers=H(KEYS["admin"])))
    check()
