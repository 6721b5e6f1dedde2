"""The editors' suggestions over HTTP, and the agent's tag on resolve."""
from tests.bot.interfaces import test_api
from tests.bot.interfaces.test_api import KEYS, H, new_conv

client, settings = test_api.client, test_api.settings  # the API tests' fixtures


def escalate_and_tag(client, text, tag):
    cid, token = new_conv(client)
    client.post(f"/conversations/{cid}/messages", json={"text": text}, headers=H(token))
    r = client.post(f"/conversations/{cid}/messages", json={"text": "/human"}, headers=H(token))
    assert r.json()["ticket_id"]
    t = client.post("/agent/claim-next", headers=H(KEYS["agent"])).json()
    return client.post(f"/agent/tickets/{t['id']}/resolve", json={"claim_token": t["claim_token"], "tag": tag},
                       headers=H(KEYS["agent"]))


def test_tagging_suggesting_and_approving_over_http(client):
    assert escalate_and_tag(client, "price of one trade?", "nope").status_code == 400   # unknown tag
    t = client.get("/agent/queue", headers=H(KEYS["agent"])).json()
    assert t["count"] == 0  # the ticket stayed claimed: resolve it properly
    mine = client.get("/agent/board", headers=H(KEYS["agent"])).json()["mine"][0]
    r = client.post(f"/agent/tickets/{mine['id']}/resolve", json={"claim_token": mine["claim_token"], "tag": "fees"},
                    headers=H(KEYS["agent"]))
    assert r.status_code == 200, r.text
    assert client.get("/editor/suggestions", headers=H(KEYS["agent"])).status_code == 403
    s = client.get("/editor/suggestions", headers=H(KEYS["editor"])).json()
    (group,) = s["phrasings"]
    assert group["faq_id"] == "fees" and [x["text"] for x in group["signals"]] == ["price of one trade?"]
    ids = [x["id"] for x in group["signals"]]
    r = client.post("/editor/suggestions/approve", json={"faq_id": "fees", "signal_ids": ids}, headers=H(KEYS["editor"]))
    assert r.status_code == 200 and r.json()["added"] == ["price of one trade?"]
    again = client.post("/editor/suggestions/approve", json={"faq_id": "fees", "signal_ids": ids},
                        headers=H(KEYS["editor"]))
    assert again.status_code == 409                                       # already decided
    assert client.post("/editor/suggestions/approve", json={"faq_id": "fees", "signal_ids": ["missing"]},
                       headers=H(KEYS["editor"])).status_code == 404
    assert client.post("/editor/suggestions/dismiss", json={"signal_ids": []},
                       headers=H(KEYS["editor"])).status_code == 422
    cid, token = new_conv(client)
    r = client.post(f"/conversations/{cid}/messages", json={"text": "price of one trade?"}, headers=H(token))
    assert r.json()["replies"][0]["text"] == "Trading costs 0.1% per trade."
