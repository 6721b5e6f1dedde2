"""Abuse and bad input: every case found by probing the service, each a 4xx with a reason."""
import hashlib
import hmac

import jwt
import pytest
from sqlalchemy import create_engine
from sqlalchemy.exc import OperationalError

from bot.core.settings import Settings
from bot.interfaces.api import session
from bot.interfaces.api.routes_chat import context_signature
from tests.bot.interfaces.test_api import KEYS, H, new_conv
from tests.factories import api_client, make_service

SECRET = "context-secret-0123456789"


def settings_for(**kw) -> Settings:
    base = dict(encoder="fake:64", agents={"ann": KEYS["agent"]}, editors={"ed": KEYS["editor"]},
                admins={"root": KEYS["admin"]}, max_message_chars=200, max_body_bytes=4096,
                conversation_rate_per_minute=1000, client_rate_per_minute=10_000, max_reply_chars=50,
                max_streams_per_caller=1)
    return Settings(**{**base, **kw})


@pytest.fixture
def make_client(db_engine, tiny_model, fake_embedder):
    opened = []

    def make(**kw):
        s = settings_for(**kw)
        cm = api_client(make_service(db_engine, tiny_model, fake_embedder, s), s)
        opened.append(cm)
        return cm.__enter__()
    yield make
    for cm in opened:
        cm.__exit__(None, None, None)


@pytest.fixture
def client(make_client):
    return make_client()


def raw_json(client, path, text: str, headers=None):
    """POST a JSON body written by hand (json= would refuse to encode what we want to send)."""
    return client.post(path, content=text.encode(), headers={"content-type": "application/json", **(headers or {})})


def claimed_ticket(client):
    cid, token = new_conv(client)
    client.post(f"/conversations/{cid}/messages", json={"text": "/human"}, headers=H(token))
    t = client.post("/agent/claim-next", headers=H(KEYS["agent"])).json()
    return t["id"], t["claim_token"]


# -- text the stores cannot keep ---------------------------------------------------------------------
BAD_TEXT = ["\\ud800", "a\\u0000b", "\\udfff tail"]


@pytest.mark.parametrize("bad", BAD_TEXT)
def test_unstorable_text_anywhere_in_a_body_is_a_400_with_a_reason(client, bad):
    cid, token = new_conv(client)
    cases = [
        (f"/conversations/{cid}/messages", f'{{"text": "{bad}"}}', H(token)),
        (f"/conversations/{cid}/messages", f'{{"text": "hi", "idempotency_key": "{bad}"}}', H(token)),
        ("/editor/try", f'{{"text": "{bad}"}}', H(KEYS["editor"])),
        ("/editor/golden", f'{{"question": "{bad}", "expected": "faq/fees"}}', H(KEYS["editor"])),
        ("/webhooks/rest/webhook", f'{{"sender": "{bad}", "message": "hi"}}', {}),
        ("/webhooks/rest/webhook", f'{{"sender": "s", "message": "{bad}"}}', {}),
        ("/auth/login", f'{{"key": "{bad}"}}', {}),
    ]
    tid, claim = claimed_ticket(client)
    cases += [(f"/agent/tickets/{tid}/reply", f'{{"claim_token": {claim}, "text": "{bad}"}}', H(KEYS["agent"])),
              (f"/agent/tickets/{tid}/transfer", f'{{"claim_token": {claim}, "team": "{bad}"}}', H(KEYS["agent"]))]
    for path, body, headers in cases:
        r = raw_json(client, path, body, headers)
        assert r.status_code == 400, (path, body, r.status_code, r.text)
        assert "bad input" in r.json()["detail"]


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_numbers_that_are_not_finite_are_a_400(client, number):
    cid, token = new_conv(client)
    r = raw_json(client, f"/conversations/{cid}/messages",
                 f'{{"text": "hi", "context": {{"returns_24h": {number}}}}}', H(token))
    assert r.status_code == 400 and "bad input" in r.json()["detail"]


@pytest.mark.parametrize("path", ["/conversations/%00/messages", "/agent/tickets/%00", "/editor/faq/%00",
                                  "/agent/queue?team=%00", "/conversations/x/messages?after=%ED%A0%80"])
def test_nul_or_invalid_unicode_in_the_url_is_a_400_even_without_credentials(client, path):
    r = client.get(path)
    assert r.status_code == 400 and "bad input" in r.json()["detail"]
    assert client.get(path, headers=H(KEYS["admin"])).status_code == 400


def test_validation_errors_never_echo_the_input():
    from fastapi.exceptions import RequestValidationError

    from bot.interfaces.api.errors import validation_errors

    exc = RequestValidationError([{"loc": ("body", "text"), "msg": "bad \ud800", "type": "x", "input": "\ud800"}])
    (err,) = validation_errors(exc)
    assert "input" not in err and err["msg"].encode("utf-8")          # always encodable


def test_choose_accepts_only_the_offered_candidates(client, db_engine):
    cid, token = new_conv(client)
    forged = "/choose " + "faq/fees" * 40
    r = client.post(f"/conversations/{cid}/messages", json={"text": "/choose faq/fees"}, headers=H(token))
    assert r.status_code == 200 and r.json()["replies"][0]["text"] != "Trading costs 0.1% per trade."
    r = client.post(f"/conversations/{cid}/messages", json={"text": forged[:200]}, headers=H(token))
    assert r.status_code == 200


def test_reusing_an_idempotency_key_for_another_message_is_a_409(client):
    cid, token = new_conv(client)
    first = client.post(f"/conversations/{cid}/messages", json={"text": "hello", "idempotency_key": "k1"},
                        headers=H(token))
    again = client.post(f"/conversations/{cid}/messages", json={"text": "hello", "idempotency_key": "k1"},
                        headers=H(token))
    assert again.json()["replayed"] and again.json()["user_message"]["id"] == first.json()["user_message"]["id"]
    other = client.post(f"/conversations/{cid}/messages", json={"text": "what are the trading fees",
                                                                "idempotency_key": "k1"}, headers=H(token))
    assert other.status_code == 409 and "different message" in other.json()["detail"]


# -- limits ------------------------------------------------------------------------------------------
def test_a_chunked_body_over_the_limit_is_a_413(client):
    cid, token = new_conv(client)

    def chunks():
        yield b'{"text": "'
        for _ in range(10):
            yield b"y" * 1000
        yield b'"}'
    r = client.post(f"/conversations/{cid}/messages", content=chunks(),
                    headers={**H(token), "content-type": "application/json"})
    assert r.status_code == 413


@pytest.mark.parametrize("token", ["true", '"1"', "1.0", "1.5"])
def test_claim_tokens_must_be_integers(client, token):
    tid, _ = claimed_ticket(client)
    r = raw_json(client, f"/agent/tickets/{tid}/renew", f'{{"claim_token": {token}}}', H(KEYS["agent"]))
    assert r.status_code == 422


def test_agent_replies_have_a_length_limit(client):
    tid, claim = claimed_ticket(client)
    r = client.post(f"/agent/tickets/{tid}/reply", json={"claim_token": claim, "text": "x" * 51}, headers=H(KEYS["agent"]))
    assert r.status_code == 413 and "50 characters" in r.json()["detail"]
    r = client.post(f"/agent/tickets/{tid}/reply", json={"claim_token": claim, "text": "ok"}, headers=H(KEYS["agent"]))
    assert r.status_code == 200


def test_live_streams_per_caller_are_capped(client):
    from bot.interfaces.api.deps import get_context

    slots = client.app.state.context.streams
    cid, token = new_conv(client)
    slots.take(f"conversation:{cid}")                                  # one stream already open
    r = client.get(f"/conversations/{cid}/events?seconds=1", headers=H(token))
    assert r.status_code == 429
    slots.give_back(f"conversation:{cid}")
    assert client.get(f"/conversations/{cid}/events?seconds=1", headers=H(token)).status_code == 200
    assert slots.count(f"conversation:{cid}") == 0                     # given back when the stream ended
    assert get_context  # the dependency the routes use


def test_transfer_to_a_team_that_does_not_exist_is_refused(client):
    tid, claim = claimed_ticket(client)
    r = client.post(f"/agent/tickets/{tid}/transfer", json={"claim_token": claim, "team": "nowhere"},
                    headers=H(KEYS["agent"]))
    assert r.status_code == 400 and "unknown team" in r.json()["detail"]
    assert client.get(f"/agent/tickets/{tid}", headers=H(KEYS["agent"])).json()["status"] == "claimed"


# -- golden questions --------------------------------------------------------------------------------
def test_a_golden_question_must_expect_something_that_exists(client):
    ed = H(KEYS["editor"])
    r = client.post("/editor/golden", json={"question": "x", "expected": "faq/typo"}, headers=ed)
    assert r.status_code == 400 and "unknown intent or entry" in r.json()["detail"]
    body = {"questions": ["where is the desktop app"], "answers": {"en": "On the website."}}
    assert client.put("/editor/faq/desktop", json=body, headers=ed).status_code == 200


def test_a_golden_question_orphaned_later_is_flagged_not_a_block(client):
    ed = H(KEYS["editor"])
    body = {"questions": ["where is the desktop app", "desktop app download"], "answers": {"en": "On the website."}}
    assert client.put("/editor/faq/desktop", json=body, headers=ed).status_code == 200
    g = client.post("/editor/golden", json={"question": "where is the desktop app", "expected": "faq/desktop"},
                    headers=ed)
    assert g.status_code == 201
    assert client.delete("/editor/faq/desktop", headers=ed).status_code == 409      # the gate still guards it
    client.app.state.context.service.engine.delete_faq("desktop")      # e.g. gone with a retrained model
    listing = client.get("/editor/golden", headers=ed).json()
    assert [x["stale"] for x in listing] == [True]
    other = {"questions": ["what is the api rate limit"], "answers": {"en": "100 per minute."}}
    assert client.put("/editor/faq/ratelimit", json=other, headers=ed).status_code == 200   # not blocked


# -- who may set what --------------------------------------------------------------------------------
def test_an_end_user_cannot_raise_their_own_priority_with_context(make_client):
    plain = make_client()
    cid, token = new_conv(plain)
    r = plain.post(f"/conversations/{cid}/messages", json={"text": "hello", "context": {"tier": "vip"}}, headers=H(token))
    assert r.status_code == 403
    signed = make_client(context_secret=SECRET)
    cid, token = new_conv(signed)
    bad = {"tier": "vip", "returns_24h": 3, "signature": "0" * 64}
    r = signed.post(f"/conversations/{cid}/messages", json={"text": "hello", "context": bad}, headers=H(token))
    assert r.status_code == 403
    good = {"tier": "vip", "returns_24h": 3, "signature": context_signature(SECRET, cid, "vip", 3)}
    r = signed.post(f"/conversations/{cid}/messages", json={"text": "hello", "context": good}, headers=H(token))
    assert r.status_code == 200
    other_cid, other_token = new_conv(signed)                           # a signature is for one conversation
    r = signed.post(f"/conversations/{other_cid}/messages", json={"text": "hello", "context": good},
                    headers=H(other_token))
    assert r.status_code == 403
    assert good["signature"] == hmac.new(SECRET.encode(), f"{cid}|vip|3".encode(), hashlib.sha256).hexdigest()


def test_open_rasa_channel_scopes_senders_to_their_client(make_client):
    c = make_client(trusted_proxies=["testclient"])                    # the test client acts as a proxy
    send = lambda addr, text: c.post("/webhooks/rest/webhook", json={"sender": "alice", "message": text},  # noqa
                                     headers={"x-forwarded-for": addr}).json()
    send("10.0.0.1", "/human")                                         # alice's conversation waits for a person
    assert send("10.0.0.1", "are you there") == []                     # same client: her conversation (bot silent)
    # Another client guessing the sender id "alice" gets a conversation of its own.
    assert send("10.0.0.2", "what are the trading fees")[0]["text"] == "Trading costs 0.1% per trade."


def test_channel_and_context_secrets_must_be_strong():
    from pydantic import ValidationError

    for field, value in (("rasa_token", "short"), ("context_secret", "short"), ("rasa_jwt_secret", "x" * 31)):
        with pytest.raises(ValidationError, match="at least"):
            Settings(encoder="fake:64", **{field: value})


def test_rasa_channel_with_a_token(make_client):
    c = make_client(rasa_token="rasa-token-123456")
    msg = {"sender": "u1", "message": "hello"}
    assert c.post("/webhooks/rest/webhook", json=msg).status_code == 401
    assert c.post("/webhooks/rest/webhook?token=wrong", json=msg).status_code == 401
    assert c.post("/webhooks/rest/webhook?token=rasa-token-123456", json=msg).status_code == 200


def test_rasa_channel_with_a_jwt(make_client):
    c = make_client(rasa_jwt_secret="jwt-secret-0123456789-0123456789-xyz")
    msg = {"sender": "u1", "message": "hello"}
    good = jwt.encode({"user": {"username": "u1"}}, "jwt-secret-0123456789-0123456789-xyz", algorithm="HS256")
    forged = jwt.encode({"user": {"username": "u1"}}, "another-secret-xxxxxxx-0123456789-xyz", algorithm="HS256")
    assert c.post("/webhooks/rest/webhook", json=msg).status_code == 401
    assert c.post("/webhooks/rest/webhook", json=msg, headers=H(forged)).status_code == 401
    assert c.post("/webhooks/rest/webhook", json=msg, headers=H(good)).status_code == 200


def test_forwarded_for_is_believed_only_from_trusted_proxies(make_client):
    from bot.interfaces.api.deps import client_address

    class Req:
        def __init__(self, app, peer, xff):
            self.app, self.client, self.headers = app, type("C", (), {"host": peer}), {"x-forwarded-for": xff}

    plain = make_client()
    assert client_address(Req(plain.app, "127.0.0.1", "6.6.6.6")) == "127.0.0.1"
    proxied = make_client(trusted_proxies=["127.0.0.1"])
    assert client_address(Req(proxied.app, "127.0.0.1", "6.6.6.6, 7.7.7.7")) == "7.7.7.7"
    assert client_address(Req(proxied.app, "9.9.9.9", "6.6.6.6")) == "9.9.9.9"


def test_logout_needs_the_pages_header(client):
    client.post("/auth/login", json={"key": KEYS["agent"]})
    assert client.post("/auth/logout").status_code == 403
    assert client.get("/auth/me").status_code == 200
    assert client.post("/auth/logout", headers={session.CSRF_HEADER: "1"}).status_code == 204


# -- a database that is busy or away -----------------------------------------------------------------
def test_a_busy_database_is_a_503_with_retry_after(client, monkeypatch):
    cid, token = new_conv(client)
    svc = client.app.state.context.service

    def locked(*a, **kw):
        raise OperationalError("INSERT …", {}, Exception("database is locked"))
    monkeypatch.setattr(svc, "send", locked)
    r = client.post(f"/conversations/{cid}/messages", json={"text": "hello"}, headers=H(token))
    assert r.status_code == 503 and r.headers["retry-after"]


def test_a_database_that_is_away_is_a_503_and_ready_says_so(tiny_model, fake_embedder):
    s = settings_for()
    away = create_engine("postgresql+psycopg://nobody@127.0.0.1:9/none", connect_args={"connect_timeout": 2})
    with api_client(make_service(away, tiny_model, fake_embedder, s), s) as c:
        r = c.post("/conversations")
        assert r.status_code == 503 and r.headers["retry-after"]
        assert c.get("/health").status_code == 200                      # liveness: the process is up
        r = c.get("/ready")
        assert r.status_code == 503 and "database" in r.json()["problems"][0]


def test_ready_when_database_and_model_are(client):
    assert client.get("/ready").json() == {"status": "ready"}
