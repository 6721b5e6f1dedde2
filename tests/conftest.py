"""Shared fixtures: a deterministic fake embedder for unit tests, the real encoder once per session."""
from __future__ import annotations

import os
import textwrap
from contextlib import contextmanager
from pathlib import Path

import pytest

from bot.core.settings import Settings
from intents.encoder import FakeEmbedder

ROOT = Path(__file__).resolve().parent.parent

TINY_NLU = """\
version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
    - hi there
    - good morning
    - hey
    - hello bot
    - hi
    - good evening
    - hey there friend
- intent: reset_password
  examples: |
    - I forgot my password
    - how do I reset my password
    - password reset please
    - can't remember my password
    - change my password
    - reset my [password](thing) now
    - new password needed
    - my password does not work
- intent: account_hacked
  metadata: {complexity: complex, priority: P0}
  examples: |
    - my account was hacked
    - someone stole my account
    - hacker took over my login
    - unknown person logged into my account
    - my account is compromised
    - somebody else is using my account
- intent: out_of_scope
  examples: |
    - what is the weather
    - tell me a joke
    - who won the football
    - recipe for pancakes
    - play some music
"""

TINY_FAQ = """\
faq:
- id: fees
  tags: [fees]
  priority: P2
  answer:
    en: Trading costs 0.1% per trade.
    zh: 每笔交易收取0.1%手续费。
  questions:
    - what are the trading fees
    - how much is the fee per trade
    - trading commission
    - fee schedule
    - 交易手续费是多少
    - 手续费怎么收
"""


def write_data(directory: Path, nlu: str = TINY_NLU, faq: str | None = TINY_FAQ) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "nlu.yml").write_text(textwrap.dedent(nlu), encoding="utf-8")
    if faq is not None:
        (directory / "faq.yml").write_text(textwrap.dedent(faq), encoding="utf-8")
    return directory


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder(64)


@pytest.fixture
def settings() -> Settings:
    return Settings(encoder="fake:64")


@pytest.fixture
def tiny_data_dir(tmp_path) -> Path:
    return write_data(tmp_path / "data")


@pytest.fixture
def tiny_model(tmp_path, tiny_data_dir, fake_embedder, settings):
    """A model trained on the tiny data with the fake embedder, saved to disk."""
    from bot.ml.training import train
    from bot.ml.training_data import load_training_data

    model = train(load_training_data(tiny_data_dir), fake_embedder, settings)
    path = tmp_path / "model"
    model.save(path)
    return path


@pytest.fixture
def fake_env(monkeypatch):
    """Run CLI commands with the fake encoder."""
    monkeypatch.setenv("TRIAGE_ENCODER", "fake:64")
    from bot.core.settings import get_settings

    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def real_embedder():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from intents.encoder import load_embedder

    return load_embedder("default")


def _postgres_admin_url() -> str | None:
    return os.environ.get("TRIAGE_TEST_POSTGRES_URL")


@contextmanager
def fresh_database(backend: str, tmp_path, revision: str = "head"):
    """A new database on `backend`, migrated to `revision`. PostgreSQL comes from
    TRIAGE_TEST_POSTGRES_URL, which scripts/test.sh sets after starting a local server; in CI its
    absence is an error."""
    import uuid

    from sqlalchemy import text

    from bot.core.db import make_engine, upgrade

    if backend == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / f'triage-{uuid.uuid4().hex[:6]}.db'}")
        upgrade(engine, revision)
        yield engine
        engine.dispose()
        return
    admin_url = _postgres_admin_url()
    if not admin_url:
        if os.environ.get("CI"):
            pytest.fail("TRIAGE_TEST_POSTGRES_URL is not set: PostgreSQL tests must run in CI")
        pytest.skip("no PostgreSQL server (run the tests through scripts/test.sh)")
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine = make_engine(admin_url.rsplit("/", 1)[0] + "/" + name, pool_size=20, max_overflow=10)
    upgrade(engine, revision)
    yield engine
    engine.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_engine(request, tmp_path):
    """A migrated database on each backend."""
    with fresh_database(request.param, tmp_path) as engine:
        yield engine


@pytest.fixture
def pg_engine(tmp_path):
    """A migrated PostgreSQL database, for what only PostgreSQL does (sequence values committed
    out of order)."""
    with fresh_database("postgresql", tmp_path) as engine:
        yield engine
