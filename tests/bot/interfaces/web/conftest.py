"""A real server on a free port and headless Chromium (Debian's package, driven by Playwright).

scripts/test.sh installs Chromium when it is missing and sets TRIAGE_TEST_CHROMIUM; in CI a
missing browser is an error, elsewhere these tests are skipped."""
import os
import shutil
import socket
import threading
import time

import pytest

from bot.core.db import make_engine, upgrade
from bot.core.settings import Settings
from bot.interfaces.api import create_app
from bot.ml.engine import TriageEngine
from bot.ml.model import TriageModel
from bot.support.service import ChatService

KEYS = {"agent": "agent-key-123456", "agent2": "agent-key-999999", "editor": "editor-key-123456",
        "admin": "admin-key-1234567"}


def chromium_path() -> str | None:
    return os.environ.get("TRIAGE_TEST_CHROMIUM") or shutil.which("chromium")


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if not path:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing: browser tests must run in CI (scripts/test.sh installs it)")
        pytest.skip("no Chromium (run the tests through scripts/test.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"])
        yield b
        b.close()


@pytest.fixture
def new_page(browser):
    """Pages in browser contexts of their own (separate people), closed after the test."""
    contexts = []

    def make(**kw):
        ctx = browser.new_context(**kw)
        contexts.append(ctx)
        p = ctx.new_page()
        p.set_default_timeout(15_000)
        return p

    yield make
    for ctx in contexts:
        ctx.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    def __init__(self, app, port: int):
        import uvicorn

        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                                    timeout_graceful_shutdown=1))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.time() + 20
        while not self.server.started:
            if time.time() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def web_settings(tmp_path):
    return Settings(encoder="fake:64", agents={"ann": KEYS["agent"], "bob": KEYS["agent2"]},
                    editors={"ed": KEYS["editor"]}, admins={"root": KEYS["admin"]},
                    reports_dir=tmp_path / "reports", client_rate_per_minute=10_000,
                    teams=[{"name": "day", "timezone": "UTC"}, {"name": "night", "timezone": "Asia/Shanghai"}])


@pytest.fixture
def live(tmp_path, tiny_model, fake_embedder, web_settings):
    db = make_engine(f"sqlite:///{tmp_path / 'web.db'}")
    upgrade(db)
    # Real-time clock anchored in the team's working hours (2027-01-15 10:00 UTC), so SLA times
    # and reply-time messages do not depend on when the tests run.
    start = time.time()
    service = ChatService(TriageEngine(TriageModel.load(tiny_model), fake_embedder), db, web_settings,
                          clock=lambda: 1_800_007_200.0 + (time.time() - start))
    with LiveServer(create_app(service, web_settings), _free_port()) as server:
        server.service = service
        yield server
    db.dispose()


def sign_in(page, base: str, key: str, next_path: str) -> None:
    page.goto(f"{base}{next_path}")
    page.wait_for_url("**/login**")
    page.fill("#key", key)
    page.click("#signin")
    page.wait_for_url(f"**{next_path}")


# -- accessibility: axe-core (npm) injected into the page ---------------------------------------------
AXE_RUN = """async () => {
  const r = await axe.run(document, { resultTypes: ["violations"] });
  return r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 4).map(n => n.target.join(" ") + " | " + (n.failureSummary || "").split("\\n").slice(0, 2).join(" ")) }));
}"""


def axe_script() -> str | None:
    path = os.environ.get("TRIAGE_TEST_AXE")
    if not path:
        local = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".cache", "axe", "node_modules",
                             "axe-core", "axe.min.js")
        path = local if os.path.exists(local) else None
    return path


def assert_accessible(page, state: str) -> None:
    """No critical or serious axe-core violation in the page as it is now (`state` names it)."""
    path = axe_script()
    if not path:
        if os.environ.get("CI"):
            pytest.fail("axe-core is missing: scripts/test.sh installs it (scripts/axe.sh)")
        pytest.skip("no axe-core (run the tests through scripts/test.sh)")
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        page.add_script_tag(path=path)
    found = [v for v in page.evaluate(AXE_RUN) if v["impact"] in ("critical", "serious")]
    assert not found, f"accessibility ({state}, {page.viewport_size}): " + "; ".join(
        f"[{v['impact']}] {v['id']}: {v['help']} at {v['nodes']}" for v in found)
