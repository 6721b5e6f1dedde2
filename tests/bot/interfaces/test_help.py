"""The help center: browse, read in the reader's language, search with the out-of-scope
threshold, feedback, published edits at once (drafts never), sitemap."""
from sqlalchemy import select

from bot.support.feedback import answer_feedback
from tests.bot.interfaces import test_api
from tests.bot.interfaces.test_api import KEYS, H

client, settings = test_api.client, test_api.settings  # the API tests' fixtures


def test_browse_and_read_in_the_readers_language(client):
    home = client.get("/help")
    assert home.status_code == 200 and 'href="/help/a/fees?lang=en"' in home.text and '<html lang="en">' in home.text
    art = client.get("/help/a/fees")
    assert "Trading costs 0.1% per trade." in art.text and 'rel="canonical"' in art.text
    zh = client.get("/help/a/fees", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"})
    assert "每笔交易收取0.1%手续费" in zh.text and '<html lang="zh">' in zh.text
    assert "每笔交易收取0.1%手续费" in client.get("/help/a/fees?lang=zh").text
    assert client.get("/help/a/nope").status_code == 404
    assert client.get("/help/a/..%2Fetc").status_code in (404, 422)
    assert client.get("/help/c/fees").status_code == 200 and client.get("/help/c/none").status_code == 404


def test_search_finds_articles_and_nonsense_finds_nothing(client):
    r = client.get("/help/search", params={"q": "what are the trading fees"})
    assert 'href="/help/a/fees?lang=en"' in r.text and "no-results" not in r.text
    r = client.get("/help/search", params={"q": "qwv zzk pplt"})
    assert 'id="no-results"' in r.text and 'href="/chat?lang=en"' in r.text
    r = client.get("/help/search", params={"q": "<script>alert(1)</script>"})
    assert "<script>alert(1)</script>" not in r.text                     # escaped


def test_was_this_helpful_is_stored_with_the_chats_answers(client):
    r = client.post("/help/a/fees/feedback", content="helpful=no&lang=en",
                    headers={"Content-Type": "application/x-www-form-urlencoded"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/help/a/fees?lang=en&feedback=thanks"
    assert 'id="feedback-thanks"' in client.get(r.headers["location"]).text
    assert client.post("/help/a/fees/feedback", content="helpful=maybe",
                       headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 422
    cid, token = test_api.new_conv(client)
    client.post(f"/conversations/{cid}/messages", json={"text": "what are the trading fees"}, headers=H(token))
    client.post(f"/conversations/{cid}/messages", json={"text": "/yes"}, headers=H(token))
    with client.app.state.context.service.db.connect() as conn:
        rows = conn.execute(select(answer_feedback.c.faq_id, answer_feedback.c.helpful, answer_feedback.c.channel)
                            .order_by(answer_feedback.c.seq)).all()
    assert [tuple(r) for r in rows] == [("fees", False, "help"), ("fees", True, "chat")]


def test_a_published_edit_shows_at_once_and_a_draft_never(client):
    ed = H(KEYS["editor"])
    body = {"questions": ["where is the desktop app"], "answers": {"en": "From our website."}, "tags": ["apps"],
            "titles": {"en": "Desktop app"}}
    client.put("/editor/faq/desktop/draft", json=body, headers=ed)
    assert client.get("/help/a/desktop").status_code == 404                   # a draft: not public
    assert client.put("/editor/faq/desktop", json=body, headers=ed).status_code == 200
    page = client.get("/help/a/desktop")
    assert page.status_code == 200 and "Desktop app" in page.text and "From our website." in page.text
    assert "/help/c/apps" in client.get("/help").text
    sitemap = client.get("/sitemap.xml")
    assert sitemap.headers["content-type"].startswith("application/xml")
    assert "/help/a/desktop?lang=zh" in sitemap.text and "/help/a/fees?lang=en" in sitemap.text


def test_chat_answers_link_to_their_article(client):
    cid, token = test_api.new_conv(client)
    r = client.post(f"/conversations/{cid}/messages", json={"text": "what are the trading fees"}, headers=H(token))
    answer, question = r.json()["replies"]
    assert answer["article"] == "/help/a/fees" and question["article"] is None
    assert client.get(answer["article"]).status_code == 200
