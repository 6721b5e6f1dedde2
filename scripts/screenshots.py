#!/usr/bin/env python
"""Screenshots of every page, for the README: the default bot on a throwaway SQLite database,
a few conversations, then headless Chromium (Debian's package, driven by Playwright).

    python scripts/screenshots.py [--model models/default] [--out docs/screenshots]
"""
from __future__ import annotations

import argparse
import os
import shutil
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ADMIN = "screenshot-admin-key-123456"
AGENT = "screenshot-agent-key-123456"
EDITOR = "screenshot-editor-key-123456"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


def serve(model: Path, tmp: Path):
    import uvicorn

    from bot.core.db import make_engine, upgrade
    from bot.core.settings import Settings
    from bot.interfaces.api import create_app
    from bot.ml.engine import TriageEngine
    from bot.support.service import ChatService

    settings = Settings(admins={"lee": ADMIN}, agents={"ann": AGENT}, editors={"ed": EDITOR},
                        reports_dir=ROOT / "docs" / "reports", client_rate_per_minute=100_000,
                        teams=[{"name": "emea", "timezone": "Europe/Berlin", "opens": "00:00", "closes": "23:59"},
                               {"name": "apac", "timezone": "Asia/Shanghai", "languages": ["zh", "en"]}])
    db = make_engine(f"sqlite:///{tmp / 'shots.db'}")
    upgrade(db)
    service = ChatService(TriageEngine.from_model_dir(model, settings), db, settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(service, settings), host="127.0.0.1", port=port,
                                           log_level="warning", timeout_graceful_shutdown=1))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def say(base: str, *texts: str) -> None:
    import httpx

    c = httpx.post(f"{base}/conversations").json()
    for text in texts:
        httpx.post(f"{base}/conversations/{c['id']}/messages", json={"text": text},
                   headers={"Authorization": f"Bearer {c['token']}"}, timeout=30)


def chat(page, text: str) -> None:
    """Send a message in the widget and wait for the bot's replies."""
    n = page.locator(".msg").count()
    page.fill("#text", text)
    page.click("#send")
    page.wait_for_function("n => document.querySelectorAll('.msg').length >= n + 2", arg=n)
    page.wait_for_timeout(300)


def sign_in(page, base: str, key: str, path: str) -> None:
    page.goto(f"{base}{path}")
    page.fill("#key", key)
    page.click("#signin")
    page.wait_for_url(f"**{path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=ROOT / "models" / "default")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = ap.parse_args()
    chromium = os.environ.get("TRIAGE_TEST_CHROMIUM") or shutil.which("chromium")
    if not chromium:
        sys.exit("no Chromium: run scripts/chromium.sh (installs Debian's package)")
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp:
        server, base = serve(args.model, Path(tmp))
        # Traffic for the queue and the dashboard.
        say(base, "How do I open an account?", "/yes")
        say(base, "what are the trading fees", "/yes")
        say(base, "交易手续费是多少", "/yes")
        say(base, "I deposited 2 BTC yesterday and it is still not in my balance, this is urgent")
        say(base, "我的提现一直在处理中")
        say(base, "I want to talk to a person about my statement")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
            view = {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1}

            user = browser.new_context(**view).new_page()
            user.set_viewport_size({"width": 720, "height": 800})
            user.goto(f"{base}/chat")
            chat(user, "How do I open an account?")
            chat(user, "/yes")
            chat(user, "is there a limit on how much I can take out per day")
            user.screenshot(path=str(args.out / "chat.png"))

            phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1,
                                        is_mobile=True, has_touch=True).new_page()
            phone.goto(f"{base}/chat")
            chat(phone, "what are the trading fees")
            phone.locator(".choices button", has_text="Yes").click()
            phone.locator(".csat button").first.wait_for()
            phone.screenshot(path=str(args.out / "chat_phone_rating.png"))

            zh = browser.new_context(**view, locale="zh-CN").new_page()
            zh.set_viewport_size({"width": 720, "height": 800})
            zh.goto(f"{base}/chat?lang=zh")
            chat(zh, "交易手续费是多少")
            zh.screenshot(path=str(args.out / "chat_zh.png"))

            user.click("#new")
            chat(user, "my account was hacked, someone is withdrawing my money")

            agent = browser.new_context(**view).new_page()
            sign_in(agent, base, AGENT, "/agent")
            agent.locator('#queue .ticket[data-ticket]', has_text="hacked").first.click()   # a preview of the ticket
            agent.locator("#preview-bar").wait_for()
            agent.screenshot(path=str(args.out / "agent_preview.png"))
            agent.click("#claim-this")
            agent.locator("#packet", has_text="Predicted priority").wait_for()
            agent.fill("#reply", "Hi, this is Ann from support. I have frozen withdrawals on your account; "
                                 "let's secure it together.")
            agent.click("#send-reply")
            agent.locator("#transcript .msg.agent").wait_for()
            agent.screenshot(path=str(args.out / "agent.png"))
            user.locator(".msg.agent").wait_for()
            user.screenshot(path=str(args.out / "chat_agent_reply.png"))

            editor = browser.new_context(**view).new_page()
            sign_in(editor, base, EDITOR, "/editor")
            editor.fill("#search", "fee")
            editor.locator('[data-entry="trading_fees"]').click()
            editor.fill("#try-text", "how much do you charge per trade")
            editor.click("#try-form button")
            editor.locator("#customer-view .msg.bot").first.wait_for()
            editor.screenshot(path=str(args.out / "editor.png"), full_page=True)
            import httpx

            httpx.post(f"{base}/editor/golden", json={"question": "what are the trading fees",
                                                      "expected": "faq/trading_fees"},
                       headers={"Authorization": f"Bearer {EDITOR}"})
            editor.select_option("#complexity", "complex")
            editor.click("#publish")
            editor.locator("#result.error").wait_for()
            editor.locator("#result").scroll_into_view_if_needed()
            editor.screenshot(path=str(args.out / "editor_refused.png"))

            dash = browser.new_context(**view).new_page()
            sign_in(dash, base, ADMIN, "/dashboard")
            dash.locator("#containment", has_text="%").wait_for()
            dash.locator("#plots img").first.wait_for()
            dash.wait_for_function("[...document.querySelectorAll('#plots img')].every(i => i.complete)")
            dash.locator('[data-figure="csat"]').wait_for()
            dash.screenshot(path=str(args.out / "dashboard.png"), full_page=True)

            host = browser.new_context(**view).new_page()
            site = f"""<html><head><meta name="viewport" content="width=device-width, initial-scale=1"></head>
                <body style="font-family:system-ui;padding:2rem;background:#fafafa">
                <h1>Example Exchange</h1><p>Any site: one script tag adds the support widget.</p>
                <script src="{base}/static/embed.js" data-lang="en"></script></body></html>"""
            host.set_content(site)
            host.locator("button", has_text="Chat with us").click()
            host.frame_locator("iframe").locator("#text").fill("where can I download the app")
            host.frame_locator("iframe").locator("#send").click()
            host.frame_locator("iframe").locator(".msg.user").wait_for()
            host.frame_locator("iframe").locator(".msg.bot").nth(1).wait_for()
            host.screenshot(path=str(args.out / "embed.png"))

            small = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True).new_page()
            small.set_content(site)
            small.locator("#triage-chat-button").click()
            small.frame_locator("iframe").locator("#text").fill("how do I reset my password")
            small.frame_locator("iframe").locator("#send").click()
            small.frame_locator("iframe").locator(".msg.bot").nth(1).wait_for()
            small.screenshot(path=str(args.out / "embed_phone.png"))
            browser.close()
        server.should_exit = True
    for f in sorted(args.out.glob("*.png")):
        print(f"{f.relative_to(ROOT)}  {f.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    main()
