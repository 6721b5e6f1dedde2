"""POST /conversations/{id}/csat: tokens, ranges, replacement, who helped."""
import pytest

from tests.bot.interfaces import test_api
from tests.bot.interfaces.test_api import KEYS, H, new_conv

client, settings = test_api.client, test_api.settings  # the API tests' fixtures


def say(client, cid, token, text):
    r = client.post(f"/conversations/{cid}/messages", json={"text": text}, headers=H(token))
    assert r.status_code == 200, r.text
    return r.json()


def rate(client, cid, token, **body):
    return client.post(f"/conversations/{cid}/csat", json=body, headers=H(token) if token else {})


def test_a_solved_answer_is_rated_for_the_bot_and_a_second_rating_replaces_the_first(client):
    cid, token = new_conv(client)
    say(client, cid, token, "what are the trading fees")
    assert rate(client, cid, token, score=5).status_code == 409  # not resolved yet
    assert say(client, cid, token, "/yes")["state"] == "resolved"
    r = rate(client, cid, token, score=4, comment="quick, thanks; mail me at jo@example.com")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["answered_by"] == "bot" and body["agent"] is None and body["intent"] == "faq/fees"
    assert body["replaced"] is False and "jo@example.com" not in body["comment"] and "[email]" in body["comment"]
    again = rate(client, cid, token, score=2).json()
    assert again["replaced"] is True and again["score"] == 2 and again["comment"] is None
    with client.app.state.context.service.db.connect() as conn:
        from sqlalchemy import select

        from bot.support.satisfaction import csat
        assert conn.execute(select(csat.c.score).where(csat.c.conversation_id == cid)).scalars().all() == [2]


@pytest.mark.parametrize("score", [0, 6, -1, "five", None])
def test_scores_outside_one_to_five_are_422(client, score):
    cid, token = new_conv(client)
    say(client, cid, token, "what are the trading fees")
    say(client, cid, token, "/yes")
    assert rate(client, cid, token, score=score).status_code == 422


def test_only_the_conversations_token_may_rate_it(client):
    cid, token = new_conv(client)
    other, other_token = new_conv(client)
    say(client, cid, token, "what are the trading fees")
    say(client, cid, token, "/yes")
    assert rate(client, cid, None, score=5).status_code == 401
    assert rate(client, cid, other_token, score=5).status_code == 403
    assert rate(client, cid, KEYS["agent"], score=5).status_code == 403
    assert rate(client, cid, token, score=5).status_code == 200


def test_an_agent_resolution_is_rated_for_that_agent(client):
    cid, token = new_conv(client)
    tid = say(client, cid, token, "my account was hacked")["ticket_id"]
    t = client.post("/agent/claim-next", headers=H(KEYS["agent"])).json()
    assert rate(client, cid, token, score=5).status_code == 409  # with an agent, not resolved yet
    client.post(f"/agent/tickets/{tid}/resolve", json={"claim_token": t["claim_token"]}, headers=H(KEYS["agent"]))
    body = rate(client, cid, token, score=5).json()
    assert body["answered_by"] == "agent" and body["agent"] == "ann" and body["intent"] == "account_hacked"


def test_a_waiting_user_can_leave_an_e_mail_address(client):
    cid, token = new_conv(client)
    turn = say(client, cid, token, "/human")
    assert turn["long_wait"] is (turn["state"] == "queued")
    r = client.post(f"/conversations/{cid}/contact", json={"email": "nope"}, headers=H(token))
    assert r.status_code == 422
    assert client.post(f"/conversations/{cid}/contact", json={"email": "jo@example.com"}, headers=H(token)).status_code == 204
    assert client.get(f"/conversations/{cid}/messages", headers=H(token)).json()["contact_left"] is True
    t = client.post("/agent/claim-next", headers=H(KEYS["agent"])).json()
    assert client.get(f"/agent/tickets/{t['id']}", headers=H(KEYS["agent"])).json()["contact_email"] == "jo@example.com"
