import pytest

from bot.core.settings import Settings
from tests.factories import api_client, make_service

KEYS = {"agent": "agent-key-123456", "editor": "editor-key-123456", "admin": "admin-key-1234567"}


@pytest.fixture
def settings():
    return Settings(encoder="fake:64", agents={"ann": KEYS["agent"]}, editors={"ed": KEYS["editor"]},
                    admins={"root": KEYS["admin"]}, max_message_chars=200, max_body_bytes=4096,
                    conversation_rate_per_minute=20, client_rate_per_minute=10_000)


@pytest.fixture
def client(db_engine, tiny_model, fake_embedder, settings):
    with api_client(make_service(db_engine, tiny_model, fake_embedder, settings), settings) as c:
        yield c


def H(key):
    return {"Authorization": f"Bearer {key}"}


def new_conv(client):
    r = client.post("/conversations")
    assert r.status_code == 201
    return r.json()["id"], r.json()["token"]


def test_conversation_round_trip(client):
    cid, token = new_conv(client)
    r = client.post(f"/conversations/{cid}/messages", json={"text": "what are the trading fees"}, headers=H(token))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["state"] == "awaiting_confirmation"
    assert [m["text"] for m in body["replies"]] == ["Trading costs 0.1% per trade.", "Did this solve it?"]
    assert [b["payload"] for b in body["replies"][1]["buttons"]] == ["/yes", "/no", "/human"]
    r = client.get(f"/conversations/{cid}/messages", headers=H(token))
    assert [m["role"] for m in r.json()["messages"]] == ["user", "bot", "bot"]
    after = r.json()["messages"][0]["seq"]
    assert len(client.get(f"/conversations/{cid}/messages?after={after}", headers=H(token)).json()["messages"]) == 2


def test_idempotent_retry(client):
    cid, token = new_conv(client)
    a = client.post(f"/conversations/{cid}/messages", json={"text": "hello", "idempotency_key": "x1"}, headers=H(token))
    b = client.post(f"/conversations/{cid}/messages", json={"text": "hello", "idempotency_key": "x1"}, headers=H(token))
    assert b.json()["replayed"] and [m["id"] for m in a.json()["replies"]] == [m["id"] for m in b.json()["replies"]]


def test_users_cannot_read_each_other(client):
    a, ta = new_conv(client)
    b, tb = new_conv(client)
    assert client.get(f"/conversations/{a}/messages", headers=H(tb)).status_code == 403
    assert client.post(f"/conversations/{a}/messages", json={"text": "hi"}, headers=H(tb)).status_code == 403
    assert client.get(f"/conversations/{a}/messages").status_code == 401
    assert client.get(f"/conversations/{a}/messages", headers=H("garbage")).status_code == 401
    assert client.get(f"/conversations/{a}/messages", headers=H(KEYS["agent"])).status_code == 403
    assert client.get("/conversations/nope/messages", headers=H(ta)).status_code == 403


def test_human_handoff_and_agent_reply_reach_the_user(client):
    cid, token = new_conv(client)
    r = client.post(f"/conversations/{cid}/messages", json={"text": "my account was hacked"}, headers=H(token))
    assert r.json()["state"] == "queued" and "30 minutes" in r.json()["replies"][-1]["text"]
    assert "P0" not in r.json()["replies"][-1]["text"]                         # no internal codes for users
    tid = r.json()["ticket_id"]
    q = client.get("/agent/queue", headers=H(KEYS["agent"])).json()
    assert q["count"] == 1 and q["data"][0]["priority"] == "P0"
    status = client.get("/status").json()
    assert status["queue"] == {"P0": 1, "P1": 0, "P2": 0} and status["agents_online"] == 1
    t = client.post("/agent/claim-next", headers=H(KEYS["agent"])).json()
    assert t["id"] == tid and t["agent"] == "ann"
    detail = client.get(f"/agent/tickets/{tid}", headers=H(KEYS["agent"])).json()
    assert detail["packet"]["intent"] == "account_hacked" and detail["transcript"]
    r = client.post(f"/agent/tickets/{tid}/reply", json={"claim_token": t["claim_token"], "text": "Ann here."},
                    headers=H(KEYS["agent"]))
    assert r.status_code == 200
    msgs = client.get(f"/conversations/{cid}/messages", headers=H(token)).json()["messages"]
    assert msgs[-1]["role"] == "agent" and msgs[-1]["text"] == "Ann here."
    stale = client.post(f"/agent/tickets/{tid}/reply", json={"claim_token": t["claim_token"] - 1, "text": "x"},
                        headers=H(KEYS["agent"]))
    assert stale.status_code == 409
    r = client.post(f"/agent/tickets/{tid}/hand-back", json={"claim_token": t["claim_token"]}, headers=H(KEYS["agent"]))
    assert r.json()["status"] == "resolved"
    assert client.post("/agent/claim-next", headers=H(KEYS["agent"])).status_code == 204


def test_rasa_rest_channel(client):
    r = client.post("/webhooks/rest/webhook", json={"sender": "u1", "message": "what are the trading fees"})
    assert r.status_code == 200
    out = r.json()
    assert out[0] == {"recipient_id": "u1", "text": "Trading costs 0.1% per trade.", "buttons": None}
    assert [b["payload"] for b in out[1]["buttons"]] == ["/yes", "/no", "/human"]
    r = client.post("/webhooks/rest/webhook", json={"sender": "u1", "message": "/yes"})
    assert r.json()[0]["text"].startswith("Great")


@pytest.mark.parametrize("method, path, body, role_needed", [
    ("get", "/agent/queue", None, "agent"),
    ("post", "/agent/claim-next", None, "agent"),
    ("post", "/agent/tickets/T/claim", None, "agent"),
    ("get", "/agent/tickets/T", None, "agent"),
    ("post", "/agent/tickets/T/renew", {"claim_token": 1}, "agent"),
    ("post", "/agent/tickets/T/reply", {"claim_token": 1, "text": "x"}, "agent"),
    ("post", "/agent/tickets/T/release", {"claim_token": 1}, "agent"),
    ("post", "/agent/tickets/T/transfer", {"claim_token": 1, "team": "x"}, "agent"),
    ("post", "/agent/tickets/T/resolve", {"claim_token": 1}, "agent"),
    ("post", "/agent/tickets/T/hand-back", {"claim_token": 1}, "agent"),
    ("get", "/agent/board", None, "agent"),
    ("get", "/agent/teams", None, "agent"),
    ("get", "/agent/events?seconds=1", None, "agent"),
])
def test_staff_endpoints_against_every_role(client, method, path, body, role_needed):
    _, user_token = new_conv(client)
    call = lambda headers: getattr(client, method)(path, headers=headers, **({"json": body} if body else {}))  # noqa
    assert call({}).status_code == 401
    assert call(H("not-a-key-at-all")).status_code == 401
    assert call(H(user_token)).status_code == 403
    for role, key in KEYS.items():
        code = call(H(key)).status_code
        allowed = role == role_needed or role == "admin"
        assert (code not in (401, 403)) == allowed, (role, code)


def test_limits(client):
    cid, token = new_conv(client)
    r = client.post(f"/conversations/{cid}/messages", json={"text": "x" * 201}, headers=H(token))
    assert r.status_code == 413 and "200 characters" in r.json()["detail"]
    r = client.post(f"/conversations/{cid}/messages", content=b'{"text": "' + b"y" * 5000 + b'"}',
                    headers={**H(token), "content-type": "application/json"})
    assert r.status_code == 413
    r = client.post(f"/conversations/{cid}/messages", json={"txt": "hi"}, headers=H(token))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "text"]
    r = client.post(f"/conversations/{cid}/messages", content=b"{bad json", headers={**H(token),
                                                                                      "content-type": "application/json"})
    assert r.status_code == 422
    codes = [client.post(f"/conversations/{cid}/messages", json={"text": f"hello {i}"}, headers=H(token)).status_code
             for i in range(25)]
    assert 429 in codes and codes[0] == 200


def test_metrics_and_openapi(client):
    cid, token = new_conv(client)
    client.post(f"/conversations/{cid}/messages", json={"text": "what are the trading fees"}, headers=H(token))
    client.post(f"/conversations/{cid}/messages", json={"text": "/yes"}, headers=H(token))
    text = client.get("/metrics").text
    assert "triage_messages_total 2.0" in text and 'triage_routes_total{route="answer"} 1.0' in text
    assert "triage_conversations_contained_total 1.0" in text
    assert client.get("/openapi.json").status_code == 200 and client.get("/docs").status_code == 200


def test_editor_api_end_to_end(client):
    ed = H(KEYS["editor"])
    body = {"questions": ["where can I download the desktop app", "desktop app download"],
            "answers": {"en": "From our website.", "zh": "请从官网下载。"}}
    r = client.put("/editor/faq/desktop/draft", json=body, headers=ed)
    assert r.status_code == 200 and r.json()["kind"] == "draft"
    assert client.get("/editor/faq", headers=ed).json()["drafts"] == ["desktop"]
    r = client.post("/editor/try", json={"text": "where can I download the desktop app"}, headers=ed)
    assert r.json()["faq_id"] == "desktop" and r.json()["route"] == "answer"
    assert client.post("/editor/faq/desktop/publish", headers=ed).json()["kind"] == "published"
    cid, token = new_conv(client)
    r = client.post(f"/conversations/{cid}/messages", json={"text": "where can I download the desktop app"},
                    headers=H(token))
    assert r.json()["replies"][0]["text"] == "From our website."
    g = client.post("/editor/golden", json={"question": "where can I download the desktop app",
                                            "expected": "faq/desktop"}, headers=ed).json()
    r = client.delete("/editor/faq/desktop", headers=ed)
    assert r.status_code == 409 and r.json()["broken"][0]["golden_id"] == g["id"]
    detail = client.get("/editor/faq/desktop", headers=ed).json()
    assert [v["kind"] for v in detail["versions"]] == ["draft", "published"]
    actions = [a["action"] for a in client.get("/editor/audit", headers=ed).json()]
    assert actions[:3] == ["delete_refused", "add_golden", "publish"]
    assert client.put("/editor/faq/bad id!", json=body, headers=ed).status_code in (404, 422)
    assert client.put("/editor/faq/x", json={"questions": [], "answers": {"en": "a"}}, headers=ed).status_code == 422
    assert client.get("/editor/faq/nope", headers=ed).status_code == 404


@pytest.mark.parametrize("method, path, body", [
    ("get", "/editor/faq", None),
    ("get", "/editor/faq/fees", None),
    ("put", "/editor/faq/fees", {"questions": ["q"], "answers": {"en": "a"}}),
    ("delete", "/editor/faq/fees", None),
    ("put", "/editor/faq/fees/draft", {"questions": ["q"], "answers": {"en": "a"}}),
    ("post", "/editor/faq/fees/publish", None),
    ("post", "/editor/faq/fees/rollback", {"version": 0}),
    ("post", "/editor/try", {"text": "hi"}),
    ("get", "/editor/golden", None),
    ("post", "/editor/golden", {"question": "q", "expected": "faq/fees"}),
    ("delete", "/editor/golden/x", None),
    ("get", "/editor/audit", None),
])
def test_editor_endpoints_against_every_role(client, method, path, body):
    _, user_token = new_conv(client)
    call = lambda headers: client.request(method.upper(), path, headers=headers, **({"json": body} if body else {}))  # noqa
    assert call({}).status_code == 401
    assert call(H("not-a-key-at-all")).status_code == 401
    assert call(H(user_token)).status_code == 403
    assert call(H(KEYS["agent"])).status_code == 403
    assert call(H(KEYS["editor"])).status_code not in (401, 403)
    assert call(H(KEYS["admin"])).status_code not in (401, 403)


@pytest.mark.parametrize("method, path, body", [
    ("get", "/conversations/{cid}/messages", None),
    ("post", "/conversations/{cid}/messages", {"text": "hello"}),
    ("get", "/conversations/{cid}/events?seconds=1", None),
])
def test_conversation_endpoints_against_every_role(client, method, path, body):
    cid, token = new_conv(client)
    _, other_token = new_conv(client)
    call = lambda headers: client.request(method.upper(), path.format(cid=cid), headers=headers,  # noqa
                                          **({"json": body} if body else {}))
    assert call({}).status_code == 401
    assert call(H("not-a-key-at-all")).status_code == 401
    assert call(H(other_token)).status_code == 403  # another user's token
    for key in KEYS.values():  # staff do not read conversations here: agents use their tickets
        assert call(H(key)).status_code == 403
    assert call(H(token)).status_code == 200


def test_public_endpoints_need_no_credentials(client):
    assert client.post("/conversations").status_code == 201
    assert client.get("/status").status_code == 200
    assert client.get("/health").status_code == 200
    assert client.post("/webhooks/rest/webhook", json={"sender": "s", "message": "hi"}).status_code == 200


@pytest.mark.parametrize("path", ["/dashboard/stats", "/dashboard/report", "/auth/me"])
def test_staff_pages_data_needs_any_staff_role(client, path):
    _, user_token = new_conv(client)
    assert client.get(path).status_code == 401
    assert client.get(path, headers=H("not-a-key-at-all")).status_code == 401
    assert client.get(path, headers=H(user_token)).status_code == 403
    for key in KEYS.values():
        assert client.get(path, headers=H(key)).status_code not in (401, 403)
