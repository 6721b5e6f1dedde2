"""The help center in a browser: search in English and Chinese, article feedback, a published
edit visible at once, no JavaScript needed, accessible at phone and desktop sizes."""
import httpx
import pytest

from tests.bot.interfaces.web.conftest import KEYS, assert_accessible

pytestmark = pytest.mark.browser


def test_search_read_and_rate_an_article_without_javascript(live, new_page):
    page = new_page(java_script_enabled=False, locale="en-US")
    page.goto(f"{live.url}/help")
    assert page.locator("h1").inner_text() == "Help center"
    page.fill("#help-q", "what are the trading fees")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="what are the trading fees").first.click()
    page.locator("article", has_text="Trading costs 0.1% per trade.").wait_for()
    page.get_by_role("button", name="Yes").click()                            # a plain form post
    page.locator("#feedback-thanks").wait_for()


def test_chinese_search_and_nonsense(live, new_page):
    page = new_page(locale="zh-CN", extra_http_headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    page.goto(f"{live.url}/help")
    page.locator("h1", has_text="帮助中心").wait_for()
    page.fill("#help-q", "交易手续费是多少")
    page.locator("form[role=search] button").click()
    page.locator(".help-results a").first.click()
    page.locator("article", has_text="每笔交易收取0.1%手续费").wait_for()
    page.fill("#help-q", "qwv zzk pplt")
    page.locator("form[role=search] button").click()
    page.locator("#no-results a", has_text="在线咨询").wait_for()                 # nothing found: the chat


def test_a_published_edit_is_on_the_help_center_at_once(live, new_page):
    page = new_page(locale="en-US")
    body = {"questions": ["where is the desktop app"], "answers": {"en": "Download it from our website."},
            "tags": ["apps"], "titles": {"en": "Desktop app"}}
    r = httpx.put(f"{live.url}/editor/faq/desktop", json=body, headers={"Authorization": f"Bearer {KEYS['editor']}"})
    assert r.status_code == 200
    page.goto(f"{live.url}/help")
    page.get_by_role("link", name="Desktop app").click()
    page.locator("article", has_text="Download it from our website.").wait_for()


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}, {"width": 1280, "height": 800}],
                         ids=["phone", "desktop"])
def test_help_pages_are_accessible(live, new_page, viewport):
    page = new_page(viewport=viewport, locale="en-US")
    page.goto(f"{live.url}/help")
    assert_accessible(page, "help center home")
    page.goto(f"{live.url}/help/search?q=trading+fees")
    assert_accessible(page, "help center search")
    page.goto(f"{live.url}/help/a/fees")
    assert_accessible(page, "help center article")
    assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]


def test_a_chat_answer_opens_its_article(live, new_page):
    page = new_page(locale="en-US")
    page.goto(f"{live.url}/chat")
    page.fill("#text", "what are the trading fees")
    page.click("#send")
    link = page.locator(".msg.bot a.article-link")
    link.wait_for()
    assert link.get_attribute("href") == "/help/a/fees?lang=en"


def test_the_widget_searches_the_help_center_before_chatting(live, new_page):
    page = new_page(locale="en-US")
    page.goto(f"{live.url}/chat")
    page.fill("#help-q", "trading fees")
    page.click("#help-go")
    page.locator("#help-results a", has_text="what are the trading fees").wait_for()
    page.fill("#help-q", "qwv zzk pplt")
    page.click("#help-go")
    page.locator("#help-results", has_text="No article matches").wait_for()
