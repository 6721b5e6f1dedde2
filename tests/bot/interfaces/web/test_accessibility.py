"""Every page and state the people using it see, checked with axe-core at phone and desktop
sizes: no critical or serious violation."""
import pytest

from tests.bot.interfaces.web.conftest import KEYS, assert_accessible, sign_in
from tests.bot.interfaces.web.test_pages import ask

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(params=[PHONE, DESKTOP], ids=["phone", "desktop"])
def size(request):
    return request.param


def test_chat_states(live, new_page, size):
    page = new_page(viewport=size, locale="en-US")
    page.goto(f"{live.url}/chat")
    page.locator("#send", has_text="Send").wait_for()
    assert_accessible(page, "chat idle")
    ask(page, "what are the trading fees")
    page.locator(".choices button", has_text="Yes").wait_for()
    assert_accessible(page, "chat with buttons")
    page.locator(".choices button", has_text="Yes").click()
    page.locator(".csat button").first.wait_for()
    assert_accessible(page, "chat asking for a rating")
    ask(page, "my account was hacked")
    page.locator("#banner", has_text="queue").wait_for()
    assert_accessible(page, "chat handed to a person")


def test_chinese_chat(live, new_page, size):
    page = new_page(viewport=size, locale="en-US")
    page.goto(f"{live.url}/chat?lang=zh")
    page.locator("#send", has_text="发送").wait_for()
    ask(page, "交易手续费是多少")
    page.locator(".choices button", has_text="解决了").wait_for()
    assert_accessible(page, "Chinese chat with buttons")


def test_staff_pages(live, new_page, size):
    user = new_page(viewport=size, locale="en-US")
    user.goto(f"{live.url}/chat")
    ask(user, "my account was hacked")
    user.locator("#banner", has_text="queue").wait_for()

    from bot.core.vocabulary import Priority

    now = live.service.clock()
    for prio in (Priority.P1, Priority.P2):                       # every badge colour in the queue
        cid, _ = live.service.create_conversation()
        live.service.tickets.open_ticket(conversation_id=cid, priority=prio, team="day", now=now, due_at=now + 7200)
    agent = new_page(viewport=size, locale="en-US")
    sign_in(agent, live.url, KEYS["agent"], "/agent")
    agent.locator("#queue .badge", has_text="P1").first.wait_for()
    agent.locator("#queue .ticket").first.wait_for()
    assert_accessible(agent, "console with the queue")
    agent.click("#claim-next")
    agent.locator("#packet", has_text="Predicted priority").wait_for()
    assert_accessible(agent, "console with a ticket open")

    editor = new_page(viewport=size, locale="en-US")
    sign_in(editor, live.url, KEYS["editor"], "/editor")
    editor.locator('[data-entry="fees"]').click()
    editor.locator("#questions").wait_for()
    assert_accessible(editor, "editor with an entry open")

    dash = new_page(viewport=size, locale="en-US")
    sign_in(dash, live.url, KEYS["admin"], "/dashboard")
    dash.locator('[data-figure="csat"]').wait_for()
    assert_accessible(dash, "dashboard")

    login = new_page(viewport=size, locale="en-US")
    login.goto(f"{live.url}/login")
    assert_accessible(login, "sign-in")


def test_phone_staff_can_reach_every_action(live, new_page):
    """On a phone: the console's claim, reply and resolve, and the editor's publish, all reachable
    (one column, nothing off screen)."""
    user = new_page(viewport=PHONE, locale="en-US")
    user.goto(f"{live.url}/chat")
    ask(user, "/human")
    user.locator("#banner", has_text="queue").wait_for()
    agent = new_page(viewport=PHONE, locale="en-US")
    sign_in(agent, live.url, KEYS["agent"], "/agent")
    agent.locator("#queue .ticket").first.wait_for()
    agent.locator("#claim-next").click()
    agent.locator("#reply").fill("Hello from a phone.")
    for control in ("#send-reply", "#resolve", "#transfer"):
        agent.locator(control).wait_for()  # shown once the claimed ticket has rendered
        box = agent.locator(control).bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], control   # on screen
    agent.locator("#send-reply").click()
    user.locator(".msg.agent", has_text="Hello from a phone.").wait_for()
    agent.locator("#resolve").click()
    agent.locator("#placeholder").wait_for()
    assert agent.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]   # no sideways scroll

    editor = new_page(viewport=PHONE, locale="en-US")
    sign_in(editor, live.url, KEYS["editor"], "/editor")
    editor.locator('[data-entry="fees"]').click()
    editor.locator("#publish").wait_for()  # the entry has opened (a busy machine: not at once)
    box = editor.locator("#publish").bounding_box()
    assert box and box["x"] + box["width"] <= PHONE["width"]
    assert editor.evaluate("() => document.documentElement.scrollWidth") <= PHONE["width"]
    editor.locator("#tab-golden").click()
    editor.fill("#golden-question", "fee per trade")
    editor.fill("#golden-expected", "faq/fees")
    editor.locator("#golden-form button").click()
    editor.locator("#golden tr[data-golden]").first.wait_for()
    assert_accessible(editor, "editor with golden questions")


def test_the_chat_works_by_keyboard_alone(live, new_page):
    page = new_page(viewport=DESKTOP, locale="en-US")
    page.goto(f"{live.url}/chat")
    page.locator("#send", has_text="Send").wait_for()
    page.keyboard.type("what are the trading fees")
    page.keyboard.press("Enter")
    yes = page.locator(".choices button", has_text="Yes")
    yes.wait_for()
    yes.focus()
    page.keyboard.press("Enter")
    page.locator(".csat button").first.wait_for()
    page.locator(".csat button", has_text="5").focus()
    page.keyboard.press("Enter")
    page.locator(".csat .thanks").wait_for()
