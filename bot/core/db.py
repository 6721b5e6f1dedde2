"""Database plumbing: one SQLAlchemy metadata, engines tuned per backend, Alembic migrations.

SQLite (a file) is the embedded default: WAL journal, a busy timeout, `BEGIN IMMEDIATE` for every
transaction that may write (so concurrent writers queue instead of failing half-way; read-only work
opened with `reading()` takes a deferred BEGIN) and synchronous=FULL so an acknowledged commit
survives a crash. PostgreSQL, through a URL, is the path for several servers.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Column, Float, MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

metadata = MetaData()

DEFAULT_DB_URL = "sqlite:///triage.db"


def ts_column(name: str, nullable: bool = False) -> Column:
    """Timestamps are UTC epoch seconds: portable, sortable and free of timezone surprises."""
    return Column(name, Float, nullable=nullable)


#: How long a write transaction waits for another (as SQLite's busy timeout).
WRITE_WAIT_SECONDS = 30.0


class WriteGate:
    """Who may write to one SQLite file: a lock of this process, then (for a file) an exclusive
    `flock` on `<file>.write-lock` that other processes on the file (`triage serve --workers N`,
    the command line beside a server) take too. SQLite admits one writer at a time and makes the
    others poll with growing sleeps (up to 100 ms each): under load a writer could wait seconds
    after the lock was free. Queued on these locks, the next writer starts the moment the last one
    ends (between processes within 2 ms: the file lock is polled that often)."""

    def __init__(self, path: str | None = None):
        self.lock = threading.Lock()
        self.path = path
        self._fd: int | None = None
        self._pid = 0

    def acquire(self) -> None:
        deadline = time.monotonic() + WRITE_WAIT_SECONDS
        if not self.lock.acquire(timeout=WRITE_WAIT_SECONDS):
            raise sqlite3.OperationalError("database is locked (a write transaction of this process)")
        if self.path is None:
            return
        try:
            self._lock_file(deadline)
        except BaseException:
            self.lock.release()
            raise

    def release(self) -> None:
        if self.path is not None and self._fd is not None:
            import fcntl

            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self.lock.release()

    def _lock_file(self, deadline: float) -> None:
        import fcntl

        if self._fd is None or self._pid != os.getpid():  # a forked child needs its own
            self._fd, self._pid = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644), os.getpid()
        pause = 0.0001
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise sqlite3.OperationalError("database is locked (a write transaction of another process)")
                time.sleep(pause)
                pause = min(pause * 2, 0.002)


def _gated_connection(gate: WriteGate) -> type[sqlite3.Connection]:
    """A sqlite3 connection class whose write transactions hold `gate` (one per engine) from
    BEGIN IMMEDIATE to COMMIT or ROLLBACK."""

    class GatedConnection(sqlite3.Connection):
        _holds = False

        def begin_write(self) -> None:
            if self._holds:
                return
            gate.acquire()
            self._holds = True

        def end_write(self) -> None:
            if self._holds:
                self._holds = False
                gate.release()

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self.end_write()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self.end_write()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self.end_write()

    return GatedConnection


def _sqlite_file(url) -> str | None:
    """The database file of a SQLite URL (a string or SQLAlchemy's URL; None for an in-memory or
    URI database): where the lock files beside it go."""
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    return None if not database or database == ":memory:" or database.startswith("file:") else database


def make_engine(url: str, **kw) -> Engine:
    if url.startswith("sqlite"):
        database = _sqlite_file(url)
        gate = WriteGate(f"{database}.write-lock" if database else None)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False,
                                                  "factory": _gated_connection(gate)}, **kw)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):
            dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below be the only one
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin_immediate(conn):
            # Read-only work (see `reading`) takes a plain deferred BEGIN: a WAL snapshot that
            # neither waits for writers nor holds them up.
            if conn.get_execution_options().get("triage_read_only"):
                conn.exec_driver_sql("BEGIN")
                return
            dbapi_conn = conn.connection.dbapi_connection
            dbapi_conn.begin_write()
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                dbapi_conn.end_write()
                raise

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    engine = create_engine(url, **kw)
    _ping_when_idle(engine)
    return engine


#: A pooled connection idle longer than this is pinged before it is used again.
PING_AFTER_IDLE_SECONDS = 10.0


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection before use only when it sat idle past `PING_AFTER_IDLE_SECONDS`
    (a database restart, or a firewall dropping idle connections, is met by the ping and the pool
    connects again). SQLAlchemy's `pool_pre_ping` pings at every checkout: a round trip more for
    each of the four or five connections a turn takes, under load as under none. A connection
    used within the window and broken since fails its statement, which the API answers with 503
    and Retry-After, and SQLAlchemy then renews the pool's connections."""

    @event.listens_for(engine.pool, "checkin")
    def _idle_from(_dbapi_conn, record):
        if record is not None:
            record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def _ping_if_idle(dbapi_conn, record, _proxy):
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since <= PING_AFTER_IDLE_SECONDS:
            return  # new, or used a moment ago
        try:
            alive = engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # the driver's own error for a dead connection
            raise DisconnectionError(f"a pooled connection failed its ping: {exc}") from exc
        if alive is False:
            raise DisconnectionError("a pooled connection failed its ping")


def reading(engine: Engine, single: bool = False, snapshot: bool = False):
    """A connection for read-only work (`with reading(db) as conn:`). On SQLite its transaction
    does not take the write lock; it must not write. `single`: the work is one statement, which on
    PostgreSQL then runs without a transaction block (autocommit: no BEGIN and ROLLBACK round
    trips; one statement sees one snapshot either way): a turn's token check, state read, FAQ sync
    and promotion check. `snapshot`: several statements that must see the same committed state
    (PostgreSQL's default, read committed, gives each statement its own snapshot; there this takes
    repeatable read. SQLite's read transaction keeps one snapshot anyway)."""
    conn = engine.connect()
    if engine.dialect.name == "postgresql":
        if single:
            return conn.execution_options(isolation_level="AUTOCOMMIT", triage_read_only=True)
        if snapshot:
            return conn.execution_options(isolation_level="REPEATABLE READ", triage_read_only=True)
    return conn.execution_options(triage_read_only=True)


def _alembic_config(engine: Engine):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).resolve().parent.parent / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent). Processes starting together migrate one after
    the other: on PostgreSQL through an advisory lock (`bot/migrations/env.py`); on a SQLite file
    through a lock on a file beside it, because Alembic commits each SQLite migration on its own
    (SQLite's DDL is not transactional there), so the database's write lock alone let a second
    process start between two migrations of the first and apply one twice."""
    from alembic import command

    with _file_lock(engine):
        command.upgrade(_alembic_config(engine), revision)


@contextmanager
def _file_lock(engine: Engine):
    database = _sqlite_file(engine.url) if engine.dialect.name == "sqlite" else None
    if database is None:
        yield
        return
    import fcntl

    with open(f"{database}.migrate-lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)  # released when the file closes, also if the process dies
        yield


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
