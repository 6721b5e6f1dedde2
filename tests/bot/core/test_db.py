"""SQLite write transactions of one process queue on a lock instead of polling SQLite's."""
import threading

import pytest
from sqlalchemy import text

from bot.core.db import make_engine, reading


@pytest.fixture
def db(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path}/t.db")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
    yield engine
    engine.dispose()


def test_a_waiting_writer_starts_when_the_first_commits_and_readers_never_wait(db):
    first_in, release, second_done = threading.Event(), threading.Event(), threading.Event()
    order = []

    def first():
        with db.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
            first_in.set()
            release.wait(30)
            order.append("first commits")

    def second():
        with db.begin() as conn:
            order.append("second writes")
            conn.execute(text("INSERT INTO t VALUES (2)"))
        second_done.set()

    a = threading.Thread(target=first)
    a.start()
    assert first_in.wait(30)
    b = threading.Thread(target=second)
    b.start()
    with reading(db) as conn:  # a reader is not held up by the writer
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 0
    assert not second_done.is_set()
    release.set()
    a.join(30)
    b.join(30)
    assert order == ["first commits", "second writes"]
    with reading(db) as conn:
        assert sorted(r[0] for r in conn.execute(text("SELECT x FROM t"))) == [1, 2]


def test_a_failed_transaction_lets_the_next_writer_in(db):
    with pytest.raises(ZeroDivisionError):
        with db.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (1)"))
            1 / 0
    with db.connect() as conn:  # an implicit transaction, closed without commit: rolled back
        conn.execute(text("INSERT INTO t VALUES (2)"))
    def writer():
        with db.begin() as conn:
            conn.execute(text("INSERT INTO t VALUES (3)"))

    t = threading.Thread(target=writer)  # another thread: it would wait forever on a lock left held
    t.start()
    t.join(30)
    assert not t.is_alive()
    with reading(db) as conn:
        assert [r[0] for r in conn.execute(text("SELECT x FROM t"))] == [3]
