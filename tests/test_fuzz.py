"""Fuzz every operation of the OpenAPI schema (schemathesis): no input may cause a 500, on SQLite
and on PostgreSQL (which refuses what SQLite takes: NUL characters, over-long values)."""
import os
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from tests.conftest import write_data

pytestmark = pytest.mark.slow
ADMIN = "fuzz-admin-key-123456"


def _postgres_database() -> str | None:
    """A fresh database on the test PostgreSQL server (scripts/test.sh starts it), or None."""
    import uuid

    from sqlalchemy import text

    from bot.core.db import make_engine

    admin_url = os.environ.get("TRIAGE_TEST_POSTGRES_URL")
    if not admin_url:
        return None
    name = f"fuzz_{uuid.uuid4().hex[:10]}"
    admin = make_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return admin_url.rsplit("/", 1)[0] + "/" + name


def _build(url: str | None = None):
    from bot.core.db import make_engine, upgrade
    from bot.core.settings import Settings
    from bot.interfaces.api import create_app
    from bot.ml.engine import TriageEngine
    from bot.ml.training import train
    from bot.ml.training_data import load_training_data
    from bot.support.service import ChatService
    from intents.encoder import FakeEmbedder

    tmp = Path(tempfile.mkdtemp(prefix="triage-fuzz-"))
    s = Settings(encoder="fake:64", admins={"root": ADMIN}, conversation_rate_per_minute=1_000_000,
                 client_rate_per_minute=1_000_000)
    emb = FakeEmbedder(64)
    model = train(load_training_data(write_data(tmp / "data")), emb, s)
    db = make_engine(url or f"sqlite:///{tmp / 'fuzz.db'}")
    upgrade(db)
    service = ChatService(TriageEngine(model, emb), db, s)
    cid, token = service.create_conversation()
    return create_app(service, s), cid, token


APP, CID, TOKEN = _build()
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)
PG_URL = _postgres_database()
PG_APP, PG_CID, PG_TOKEN = _build(PG_URL) if PG_URL else (APP, CID, TOKEN)
pg_schema = schemathesis.openapi.from_asgi("/openapi.json", PG_APP)
FUZZ = settings(max_examples=int(os.environ.get("TRIAGE_FUZZ_EXAMPLES", "40")), deadline=None,
                suppress_health_check=list(HealthCheck), derandomize=not os.environ.get("TRIAGE_FUZZ_RANDOM"))


@schema.parametrize()
@FUZZ
def test_no_input_causes_a_server_error(case):
    _check(case, CID, TOKEN)


@pg_schema.parametrize()
@FUZZ
def test_no_input_causes_a_server_error_on_postgresql(case):
    if PG_URL is None:
        if os.environ.get("CI"):
            pytest.fail("TRIAGE_TEST_POSTGRES_URL is not set: PostgreSQL tests must run in CI")
        pytest.skip("no PostgreSQL server (run the tests through scripts/test.sh)")
    _check(case, PG_CID, PG_TOKEN)


def _check(case, cid, token):
    if "conversation_id" in (case.path_parameters or {}):
        case.path_parameters["conversation_id"] = cid
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {token}"}
    elif case.path.startswith(("/agent", "/editor", "/dashboard", "/auth/me")):
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {ADMIN}"}
    if case.path.endswith("/events"):  # server-sent event streams: keep each one short
        case.query = {**(case.query or {}), "seconds": 1}
    response = case.call()
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
