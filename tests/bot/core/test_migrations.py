"""The schema: every table is migrated, and databases made by earlier code keep working."""
import pytest
from sqlalchemy import text

from bot.core.db import current_revision, metadata, upgrade
from tests.conftest import fresh_database

HEAD = "0010"  # the newest migration


@pytest.fixture(params=["sqlite", "postgresql"])
def db_at_0007(request, tmp_path):
    """A database as the code before incident columns made it."""
    with fresh_database(request.param, tmp_path, "0007") as engine:
        yield engine


def test_migrations_create_every_table_the_code_defines(db_engine):
    import importlib
    import pkgutil

    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    for name in ("bot.support", "escalation", "kb_index"):  # as bot/migrations/env.py does
        pkg = importlib.import_module(name)
        for mod in pkgutil.iter_modules(pkg.__path__, name + "."):
            importlib.import_module(mod.name)
    assert {"tickets", "conversations", "messages", "staff_seen", "incidents", "faq_versions", "audit_log",
            "outbox", "golden_questions"} <= set(metadata.tables)
    with db_engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    tables = [d for d in diffs if d[0] in ("add_table", "remove_table", "add_column", "remove_column")]
    assert tables == [], tables


def test_a_database_made_before_incident_columns_is_converted(db_at_0007):
    """Tickets of a 0007 database (incident tickets marked by an "incident:" prefix) come through
    the 0008 migration with their incident in its own column."""
    e = db_at_0007
    row = dict(status="queued", priority=0, team="support", created_at=1.0, due_at=2.0, claim_token=0,
               breached=False, packet="{}")
    with e.begin() as conn:
        conn.execute(text("INSERT INTO tickets (id, conversation_id, open_key, status, priority, team, created_at, "
                          "due_at, claim_token, breached, packet) VALUES "
                          "('t1', 'incident:abc', 'incident:abc', :status, :priority, :team, :created_at, :due_at, "
                          ":claim_token, :breached, :packet), "
                          "('t2', 'conv-1', 'conv-1', :status, 2, :team, :created_at, :due_at, :claim_token, "
                          ":breached, :packet)"), row)
    upgrade(e)
    assert current_revision(e) == HEAD
    from escalation.store import TicketStore

    store = TicketStore(e)
    inc, conv = store.get("t1"), store.get("t2")
    assert inc.incident_id == "abc" and inc.conversation_id is None
    assert conv.incident_id is None and conv.conversation_id == "conv-1"
    # The open incident ticket is still found by its incident (no duplicate ticket).
    from bot.core.vocabulary import Priority

    again, created = store.open_ticket(conversation_id=None, incident_id="abc", priority=Priority.P0,
                                       team="support", now=3.0, due_at=4.0)
    assert not created and again.id == "t1"


def test_a_0008_database_gains_client_keys_incident_decisions_and_revocations(db_at_0007):
    """Conversations, incidents and tickets written before 0009 keep working after it."""
    e = db_at_0007
    upgrade(e, "0008")
    with e.begin() as conn:
        conn.execute(text("INSERT INTO conversations (id, token_hash, channel, state, status, created_at, updated_at) "
                          "VALUES ('c1', 'h', 'api', '{\"state\": \"bot\"}', 'bot', 1.0, 1.0)"))
        conn.execute(text("INSERT INTO incidents (id, intent, open_key, ticket_id, opened_at, conversations) "
                          "VALUES ('i1', 'outage', 'outage', 't1', 1.0, '[\"c1\"]')"))
    upgrade(e)
    assert current_revision(e) == HEAD
    from bot.support.conversations import distinct_clients
    from escalation import incidents

    with e.begin() as conn:
        inc = incidents.get(conn, "i1")
        assert inc.status == incidents.OPEN and inc.decided_by is None
        assert distinct_clients(conn, {"c1"}) == 1


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request, tmp_path):
    with fresh_database(request.param, tmp_path, "base") as engine:
        yield engine


def test_servers_starting_together_migrate_one_after_the_other(empty_db):
    """Several server processes started at once on an empty database: every one comes up."""
    import subprocess
    import sys

    url = empty_db.url.render_as_string(hide_password=False)
    code = "import sys; from bot.core.db import make_engine, upgrade; upgrade(make_engine(sys.argv[1]))"
    procs = [subprocess.Popen([sys.executable, "-c", code, url], stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [p.communicate(timeout=120)[1] for p in procs if p.wait(timeout=120) != 0]
    assert errors == [] and current_revision(empty_db) == HEAD
