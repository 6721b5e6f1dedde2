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


def test_a_connection_idle_past_the_window_is_pinged_and_replaced_when_dead(pg_engine, monkeypatch):
    """PostgreSQL pool connections are pinged only after sitting idle: a turn's four or five
    checkouts cost no extra round trip, and a connection that died while idle (a restart, a
    dropped socket) is replaced before a request uses it."""
    from sqlalchemy import create_engine

    from bot.core import db as db_module

    pings = []
    real_ping = pg_engine.dialect.do_ping
    monkeypatch.setattr(pg_engine.dialect, "do_ping", lambda c: (pings.append(c), real_ping(c))[1])
    with pg_engine.connect() as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    with pg_engine.connect() as conn:  # used a moment ago: not pinged
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar() == pid
    assert pings == []
    other = create_engine(pg_engine.url)  # outside the pool under test
    with other.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    other.dispose()
    monkeypatch.setattr(db_module, "PING_AFTER_IDLE_SECONDS", 0.0)  # every pooled connection is now "idle"
    with pg_engine.connect() as conn:  # the dead one fails its ping; the pool connects again
        assert conn.execute(text("SELECT 1")).scalar() == 1
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
    assert pings


def test_a_single_statement_read_runs_outside_a_transaction_and_leaves_writes_transactional(pg_engine):
    """`reading(db, single=True)` on PostgreSQL: autocommit for that one statement (no BEGIN and
    ROLLBACK round trips); the pooled connection goes back to transactional use for writers."""
    with reading(pg_engine, single=True) as conn:
        assert conn.execute(text("SELECT 1")).scalar() == 1
        assert conn.connection.dbapi_connection.autocommit is True
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
    with pytest.raises(RuntimeError):
        with pg_engine.begin() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() == pid  # the same pooled connection
            assert conn.connection.dbapi_connection.autocommit is False
            conn.execute(text("CREATE TABLE t_single (x int)"))
            raise RuntimeError("roll back")
    with reading(pg_engine) as conn:  # the failed transaction left nothing behind
        assert conn.execute(text("SELECT to_regclass('t_single')")).scalar() is None


def test_writers_of_two_processes_queue_on_a_file_lock_beside_the_database(db, tmp_path):
    """`triage serve --workers N` on a SQLite file: another process's writer holds
    `<file>.write-lock` for its whole write transaction, and a writer here starts after it commits."""
    import fcntl
    import os
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path}/t.db"
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys; from sqlalchemy import text; from bot.core.db import make_engine\n"
         f"e = make_engine({url!r})\n"
         "with e.begin() as c:\n"
         "    c.execute(text('INSERT INTO t VALUES (1)'))\n"
         "    print('in', flush=True); sys.stdin.readline()\n"
         "print('committed', flush=True)\n"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=os.getcwd())
    try:
        assert child.stdout.readline().strip() == "in"              # its write transaction is open
        fd = os.open(f"{tmp_path}/t.db.write-lock", os.O_RDWR)
        with pytest.raises(BlockingIOError):                          # and it holds the file lock
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        done = threading.Event()

        def writer():
            with db.begin() as conn:
                conn.execute(text("INSERT INTO t VALUES (2)"))
            done.set()

        t = threading.Thread(target=writer)
        t.start()
        assert not done.is_set()
        child.stdin.write("\n")
        child.stdin.flush()
        assert child.stdout.readline().strip() == "committed"
        t.join(60)
        assert done.is_set()
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)                # free again once both ended
        os.close(fd)
    finally:
        child.kill()
        child.wait(30)
    with reading(db) as conn:
        assert [r[0] for r in conn.execute(text("SELECT x FROM t ORDER BY rowid"))] == [1, 2]
