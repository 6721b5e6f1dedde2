"""Browser sign-in, pages and their data, streams and the dashboard's figures (no browser here)."""
import json

import pytest

from bot.core.settings import Settings
from bot.interfaces.api import session
from tests.bot.interfaces.test_api import KEYS, H, new_conv
from tests.factories import api_client, make_service


@pytest.fixture
def settings(tmp_path):
    return Settings(encoder="fake:64", agents={"ann": KEYS["agent"]}, editors={"ed": KEYS["editor"]},
                    admins={"root": KEYS["admin"]}, client_rate_per_minute=10_000, reports_dir=tmp_path / "reports")


@pytest.fixture
def service(db_engine, tiny_model, fake_embedder, settings):
    return make_service(db_engine, tiny_model, fake_embedder, settings)


@pytest.fixture
def client(service, settings):
    with api_client(service, settings) as c:
        yield c


def test_sign_in_sets_a_signed_cookie_that_grants_the_keys_roles(client):
    assert client.post("/auth/login", json={"key": "wrong-key-123456"}).status_code == 401
    r = client.post("/auth/login", json={"key": KEYS["agent"]})
    assert r.status_code == 200 and r.json() == {"name": "ann", "roles": ["agent"]}
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and KEYS["agent"] not in cookie
    assert client.get("/auth/me").json()["name"] == "ann"
    assert client.get("/agent/queue").status_code == 200
    assert client.get("/editor/faq").status_code == 403                       # not an editor
    # Unsafe requests by cookie need the pages' header (a cross-site form cannot send it).
    assert client.post("/agent/claim-next", json={}).status_code == 403
    assert client.post("/agent/claim-next", json={}, headers={session.CSRF_HEADER: "1"}).status_code == 204
    assert client.post("/auth/logout").status_code == 403                     # a cross-site form cannot sign out
    assert client.post("/auth/logout", headers={session.CSRF_HEADER: "1"}).status_code == 204
    assert client.get("/auth/me").status_code == 401


def test_a_signed_out_cookie_stays_refused_even_if_kept(client):
    client.post("/auth/login", json={"key": KEYS["agent"]})
    kept = client.cookies.get(session.COOKIE)
    assert client.post("/auth/logout", headers={session.CSRF_HEADER: "1"}).status_code == 204
    client.cookies.set(session.COOKIE, kept)                                   # replayed after logout
    assert client.get("/auth/me").status_code == 401
    assert client.get("/agent/queue").status_code == 401
    client.post("/auth/login", json={"key": KEYS["agent"]})                   # a new sign-in works
    assert client.get("/auth/me").status_code == 200


def test_failed_sign_ins_lock_the_address_out_but_do_not_spend_the_request_budget(client):
    for _ in range(5):
        assert client.post("/auth/login", json={"key": "wrong-key-123456"}).status_code == 401
    r = client.post("/auth/login", json={"key": "wrong-key-123456"})
    assert r.status_code == 429 and r.headers["retry-after"]


def test_a_right_key_is_not_refused_after_ordinary_traffic(client):
    for _ in range(30):                                                        # many requests, no failures
        client.get("/locales")
    assert client.post("/auth/login", json={"key": KEYS["agent"]}).status_code == 200


def test_non_ascii_session_cookie_is_no_session(client):
    raw = {"cookie": f"{session.COOKIE}=abc.café".encode()}                 # UTF-8 bytes on the wire
    assert client.get("/auth/me", headers=raw).status_code == 401
    assert client.get("/agent", headers=raw, follow_redirects=False).status_code == 303


def test_forged_or_expired_cookies_are_refused(client):
    secret = client.app.state.context.session_secret
    forged = session.sign(b"another-secret", "root", frozenset({"admin", "agent", "editor"}), 4_000_000_000)
    expired = session.sign(secret, "root", frozenset({"admin"}), 1_000)
    for cookie in (forged, expired, "garbage", forged.split(".")[0] + "."):
        client.cookies.set(session.COOKIE, cookie)
        assert client.get("/auth/me").status_code == 401
    client.cookies.clear()


def test_pages_redirect_to_sign_in_and_refuse_the_wrong_role(client):
    for path in ("/agent", "/editor", "/dashboard"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}"
    for path in ("/", "/chat", "/login", "/static/embed.js", "/static/app.css"):
        assert client.get(path).status_code == 200
    assert "x-frame-options" not in client.get("/chat").headers          # embeddable
    assert client.get("/login").headers["x-frame-options"] == "DENY"     # staff pages are not
    client.post("/auth/login", json={"key": KEYS["editor"]})
    assert client.get("/editor").status_code == 200
    assert client.get("/agent").status_code == 403
    assert client.get("/dashboard").status_code == 200


def test_locales_give_every_language_a_full_set_of_strings(client):
    loc = client.get("/locales").json()
    assert set(loc) == {"en", "zh"} and set(loc["zh"]) == set(loc["en"])
    assert loc["zh"]["widget_send"] == "发送"


def _events(text: str) -> list[tuple[str, dict]]:
    out = []
    for block in text.split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in lines:
            out.append((lines["event"], json.loads(lines["data"])))
    return out


def test_conversation_stream_carries_new_messages_and_state(client, service):
    cid, token = new_conv(client)
    client.post(f"/conversations/{cid}/messages", json={"text": "my account was hacked"}, headers=H(token))
    ev = _events(client.get(f"/conversations/{cid}/events?seconds=1", headers=H(token)).text)
    kinds = [k for k, _ in ev]
    assert kinds.count("message") >= 2 and ("state", {"state": "queued", "language": "en"}) in ev
    last = max(d["seq"] for k, d in ev if k == "message")
    t = client.post("/agent/claim-next", headers=H(KEYS["agent"])).json()
    client.post(f"/agent/tickets/{t['id']}/reply", json={"claim_token": t["claim_token"], "text": "On it."},
                headers=H(KEYS["agent"]))
    ev = _events(client.get(f"/conversations/{cid}/events?seconds=1&after={last}", headers=H(token)).text)
    msgs = [d for k, d in ev if k == "message"]
    assert [m["role"] for m in msgs] == ["system", "agent"] and msgs[-1]["author"] == "ann"


def test_agent_stream_sends_the_board_and_the_ticket_messages(client):
    cid, token = new_conv(client)
    client.post(f"/conversations/{cid}/messages", json={"text": "/human"}, headers=H(token))
    ev = _events(client.get("/agent/events?seconds=1", headers=H(KEYS["agent"])).text)
    (board,) = [d for k, d in ev if k == "board"]          # sent once: it did not change
    assert len(board["queue"]) == 1 and board["mine"] == []
    t = client.post("/agent/claim-next", headers=H(KEYS["agent"])).json()
    ev = _events(client.get(f"/agent/events?seconds=1&ticket={t['id']}", headers=H(KEYS["agent"])).text)
    board = [d for k, d in ev if k == "board"][0]
    assert board["queue"] == [] and [m["id"] for m in board["mine"]] == [t["id"]]
    assert [d["role"] for k, d in ev if k == "message"][0] == "user"
    assert client.get("/agent/events?seconds=1&ticket=no-such-ticket", headers=H(KEYS["agent"])).status_code == 404


def test_dashboard_counts_containment_escalations_waits_and_intents(client, service):
    for _ in range(3):  # contained: answered and confirmed
        cid, token = new_conv(client)
        client.post(f"/conversations/{cid}/messages", json={"text": "what are the trading fees"}, headers=H(token))
        client.post(f"/conversations/{cid}/messages", json={"text": "/yes"}, headers=H(token))
    cid, token = new_conv(client)
    client.post(f"/conversations/{cid}/messages", json={"text": "my account was hacked"}, headers=H(token))
    service.clock.now += 120
    client.post("/agent/claim-next", headers=H(KEYS["agent"]))
    s = client.get("/dashboard/stats?days=7", headers=H(KEYS["agent"])).json()
    assert s["conversations"] == 4 and s["contained"] == 3 and s["containment_rate"] == 0.75
    assert s["escalations"] == {"P0": 1, "P1": 0, "P2": 0} and s["breaches"] == {"P0": 0, "P1": 0, "P2": 0}
    assert s["median_wait_seconds"] == 120 and s["waiting"] == 0
    assert s["busiest"][0] == {"intent": "faq/fees", "title": "what are the trading fees", "messages": 3, "escalated": 0}
    assert {"intent": "account_hacked", "messages": 1, "escalated": 1} in [
        {k: v for k, v in b.items() if k != "title"} for b in s["busiest"]]
    assert s["routes"]["answer"] == 3
    cid, token = new_conv(client)
    client.post(f"/conversations/{cid}/messages", json={"text": "my account was hacked"}, headers=H(token))
    before = client.get("/dashboard/stats", headers=H(KEYS["agent"])).json()["breaches"]["P0"]
    service.clock.now += 3600  # past the P0 due time: the monitor flags the waiting ticket
    service.check_slas()
    after = client.get("/dashboard/stats", headers=H(KEYS["agent"])).json()
    assert after["breaches"]["P0"] >= before + 1 and after["waiting"] == 1


def test_dashboard_report_is_the_newest_evaluation(client, settings):
    assert client.get("/dashboard/report", headers=H(KEYS["admin"])).status_code == 404
    for name, acc in (("old", 0.5), ("new", 0.9)):
        d = settings.reports_dir / name
        d.mkdir(parents=True)
        (d / "report.json").write_text(json.dumps({"n": 3, "in_scope_accuracy": acc}))
        (d / "confusion_matrix.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    import os
    os.utime(settings.reports_dir / "old" / "report.json", (1, 1))
    r = client.get("/dashboard/report", headers=H(KEYS["admin"])).json()
    assert r["name"] == "new" and r["summary"] == {"n": 3, "in_scope_accuracy": 0.9}
    assert r["plots"] == ["/dashboard/report/confusion_matrix.png"]
    assert client.get(r["plots"][0], headers=H(KEYS["admin"])).status_code == 200
    assert client.get("/dashboard/report/..%2Freport.json", headers=H(KEYS["admin"])).status_code == 404


def test_dashboard_stats_carry_the_on_call_alarm(db_engine, tiny_model, fake_embedder, tmp_path):
    from tests.factories import Clock, api_client

    s = Settings(encoder="fake:64", admins={"root": KEYS["admin"]}, client_rate_per_minute=10_000,
                 teams=[{"name": "day", "timezone": "UTC", "opens": "08:00", "closes": "16:00"}])
    svc = make_service(db_engine, tiny_model, fake_embedder, s, clock=Clock(1_800_000_000.0 - 2 * 3600))  # 06:00
    with api_client(svc, s) as c:
        cid, token = new_conv(c)
        c.post(f"/conversations/{cid}/messages", json={"text": "my account was hacked"}, headers=H(token))
        (alarm,) = c.get("/dashboard/stats", headers=H(KEYS["admin"])).json()["oncall_paging"]
        assert alarm["priority"] == "P0" and alarm["paged_at"] is not None
