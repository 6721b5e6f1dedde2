"""The change feed behind live updates, and read-only transactions on SQLite."""
import asyncio
import concurrent.futures
import threading

import pytest
from sqlalchemy import select

from bot.core.db import make_engine, reading, upgrade
from bot.interfaces.api.events import ChangeFeed
from bot.support.conversations import messages
from tests.factories import make_service


@pytest.fixture
def service(db_engine, tiny_model, fake_embedder):
    return make_service(db_engine, tiny_model, fake_embedder)


def test_feed_reports_changed_conversations_and_ticket_changes(service):
    feed = ChangeFeed(service.db)
    a, _ = service.create_conversation()
    b, _ = service.create_conversation()
    changed, key = feed._probe()
    assert changed == set()  # the first probe only takes its bearings
    feed._tickets_key = key
    service.send(a, "what are the trading fees")
    changed, key2 = feed._probe()
    assert changed == {a} and key2 == key  # a message, no ticket
    assert feed._probe()[0] == set()  # read once
    service.send(b, "my account was hacked")
    changed, key3 = feed._probe()
    assert changed == {b} and key3 != key2  # a ticket opened
    feed._tickets_key = key3
    t = service.claim("ann")
    changed, key4 = feed._probe()
    assert key4 != key3 and changed == {b}  # the claim, and its "ann joined" message
    feed._tickets_key = key4
    service.release(t.id, "ann", t.claim_token)
    assert feed._probe()[1] != key4


def test_feed_reads_a_message_that_commits_after_a_later_one(pg_engine, tiny_model, fake_embedder):
    """PostgreSQL: a message whose seq is below one already read still wakes its conversation."""
    from bot.support import conversations as conv_db

    service = make_service(pg_engine, tiny_model, fake_embedder)

    feed = ChangeFeed(service.db)
    a, _ = service.create_conversation()
    b, _ = service.create_conversation()
    feed._probe()
    slow = service.db.connect()
    tx = slow.begin()
    conv_db.add_message(slow, a, "agent", "late reply", 1.0, author="ann")
    service.send(b, "hello")
    assert feed._probe()[0] == {b}
    tx.commit()
    slow.close()
    assert feed._probe()[0] == {a}


def test_feed_reads_a_message_in_flight_when_it_started(pg_engine, tiny_model, fake_embedder):
    """PostgreSQL: a message that took its seq before the feed's first probe and commits after it
    (below the newest seq the feed started from) still wakes its conversation."""
    from bot.support import conversations as conv_db

    service = make_service(pg_engine, tiny_model, fake_embedder)
    feed = ChangeFeed(service.db)
    a, _ = service.create_conversation()
    b, _ = service.create_conversation()
    slow = service.db.connect()
    tx = slow.begin()
    conv_db.add_message(slow, a, "agent", "late reply", 1.0, author="ann")
    service.send(b, "hello")
    assert feed._probe()[0] == set()  # the first probe takes its bearings
    tx.commit()
    slow.close()
    assert feed._probe()[0] == {a}
    assert feed._probe()[0] == set()


def test_waiters_wake_on_a_change_and_only_the_concerned_conversation_is_flagged(service):
    a, _ = service.create_conversation()
    b, _ = service.create_conversation()

    async def scenario():
        feed = ChangeFeed(service.db, interval=0.05)
        await feed.wait(0.3)  # starts the feed
        seen = feed.tick
        await asyncio.get_running_loop().run_in_executor(None, service.send, a, "hello")
        for _ in range(40):
            await feed.wait(0.1)
            if feed.tick > seen:
                break
        flags = feed.conversation_changed(a, seen), feed.conversation_changed(b, seen), feed.tickets_tick > seen
        await feed.close()
        return flags

    # In a thread of its own: the browser tests' Playwright keeps an event loop in this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, scenario()).result(timeout=30) == (True, False, False)


def test_a_reading_transaction_does_not_hold_up_a_writer_on_sqlite(tmp_path):
    db = make_engine(f"sqlite:///{tmp_path / 'r.db'}")
    upgrade(db)
    done = threading.Event()

    def write():
        with db.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE IF NOT EXISTS probe (x INTEGER)")
            conn.exec_driver_sql("INSERT INTO probe VALUES (1)")
        done.set()

    with reading(db) as conn:
        conn.execute(select(messages.c.seq)).all()  # the read transaction is open
        t = threading.Thread(target=write)
        t.start()
        assert done.wait(5), "the writer waited for a reader"
    t.join()
    db.dispose()
