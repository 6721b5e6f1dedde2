"""The console's API: search, canned replies, transfer notes, titles in the packet."""
from tests.bot.interfaces import test_api
from tests.bot.interfaces.test_api import KEYS, H, new_conv

client, settings = test_api.client, test_api.settings  # the API tests' fixtures


def escalate(client, text):
    cid, token = new_conv(client)
    r = client.post(f"/conversations/{cid}/messages", json={"text": text}, headers=H(token))
    if not r.json()["ticket_id"]:
        r = client.post(f"/conversations/{cid}/messages", json={"text": "/human"}, headers=H(token))
    return cid, r.json()["ticket_id"]


def test_search_by_text_id_and_intent(client):
    _, hacked = escalate(client, "my account was hacked")
    _, other = escalate(client, "the 50% off_code zebra does not apply")
    escalate(client, "the 50 offXcode quagga")
    ag = H(KEYS["agent"])
    by_text = client.get("/agent/search", params={"q": "ZEBRA"}, headers=ag).json()
    assert [t["id"] for t in by_text["data"]] == [other]
    assert [t["id"] for t in client.get("/agent/search", params={"q": hacked[:8]}, headers=ag).json()["data"]] == [hacked]
    assert hacked in [t["id"] for t in client.get("/agent/search", params={"q": "hacked"}, headers=ag).json()["data"]]
    assert client.get("/agent/search", params={"q": "50%"}, headers=ag).json()["count"] == 1      # % is literal
    assert [t["id"] for t in client.get("/agent/search", params={"q": "f_c"}, headers=ag).json()["data"]] == [other]
    assert client.get("/agent/search", params={"q": ""}, headers=ag).status_code == 422
    assert client.get("/agent/search", params={"q": "x"}).status_code == 401


def test_canned_replies_are_managed_by_editors_and_read_by_agents(client):
    ed, ag = H(KEYS["editor"]), H(KEYS["agent"])
    r = client.put("/editor/canned/greeting", json={"title": "Greeting", "text": "Hi, I'm looking into it now."},
                   headers=ed)
    assert r.status_code == 200 and r.json()["updated_by"] == "ed"
    assert client.put("/editor/canned/greeting", json={"title": "x", "text": "y"}, headers=ag).status_code == 403
    assert client.put("/editor/canned/Bad Id", json={"title": "x", "text": "y"}, headers=ed).status_code == 422
    assert [c["text"] for c in client.get("/agent/canned", headers=ag).json()] == ["Hi, I'm looking into it now."]
    assert client.delete("/editor/canned/greeting", headers=ed).status_code == 204
    assert client.delete("/editor/canned/greeting", headers=ed).status_code == 404
    assert client.get("/agent/canned", headers=ag).json() == []


def test_a_transfer_note_travels_with_the_ticket_and_titles_come_with_the_packet(client):
    _, tid = escalate(client, "my account was hacked")
    ag = H(KEYS["agent"])
    t = client.post("/agent/claim-next", headers=ag).json()
    r = client.post(f"/agent/tickets/{tid}/transfer", json={"claim_token": t["claim_token"], "team": t["team"],
                                                            "note": "Checked the login history: two logins from abroad."},
                    headers=ag)
    assert r.status_code == 200, r.text
    detail = client.get(f"/agent/tickets/{tid}", headers=ag).json()
    (note,) = detail["packet"]["transfer_notes"]
    assert note["by"] == "ann" and note["note"].startswith("Checked the login history")
    assert detail["titles"]["account_hacked"]
