"""Group commit: concurrent write jobs share SQLite transactions, each caller gets its own result
after the commit, and a failing job fails only its caller."""
from __future__ import annotations

import contextvars
import threading
import time

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, select

from bot.core.db import make_engine
from bot.core.group_commit import GroupCommit

rows = Table("rows", MetaData(), Column("id", Integer, primary_key=True), Column("name", String(20)))
caller = contextvars.ContextVar("caller", default=None)


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'g.db'}")
    rows.metadata.create_all(engine)
    yield engine
    engine.dispose()


def wait_for(condition, seconds: float = 60.0) -> None:
    """Until `condition()` holds (a busy machine may take long; the bound only stops a hang)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "condition not met"
        time.sleep(0.001)


def insert(name: str, fail: bool = False):
    def job(conn):
        conn.execute(rows.insert().values(name=name))
        if fail:
            raise ValueError(f"{name} failed")
        return name, caller.get(), threading.get_ident()
    return job


def names(engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(conn.execute(select(rows.c.name)).scalars())


def queue_behind_a_blocker(writes: GroupCommit, jobs: dict[str, object]) -> tuple[dict, threading.Event]:
    """Run a first job that waits, queue `jobs` (name → job) from threads of their own behind it,
    and return (outcomes by name, the event that lets the first job finish)."""
    go, started, out = threading.Event(), threading.Event(), {}

    def blocker(conn):
        started.set()
        go.wait()
        conn.execute(rows.insert().values(name="blocker"))
        return "blocker", None, threading.get_ident()

    def call(name, job):
        caller.set(name)
        try:
            out[name] = ("ok", writes.run(job), threading.get_ident())
        except Exception as exc:  # noqa: BLE001 - the test looks at it
            out[name] = ("error", exc, threading.get_ident())

    threads = [threading.Thread(target=call, args=("blocker", blocker))]
    threads[0].start()
    wait_for(started.is_set)
    for name, job in jobs.items():
        threads.append(threading.Thread(target=call, args=(name, job)))
        threads[-1].start()
        wait_for(lambda: len(writes._queue) == len(threads) - 1)  # queued in this order
    go.set()
    for th in threads:
        th.join(timeout=120)
    return out, go


def test_concurrent_jobs_share_transactions_and_each_caller_gets_its_result(engine):
    writes = GroupCommit(engine)
    out, _ = queue_behind_a_blocker(writes, {f"job{i}": insert(f"job{i}") for i in range(6)})
    assert writes.batches == 2 and writes.jobs == 7  # the blocker alone, then the six together
    for i in range(6):
        status, (name, seen_caller, ran_on), called_on = out[f"job{i}"]
        assert status == "ok" and name == f"job{i}"
        assert seen_caller == f"job{i}"  # the caller's context variables went with its job
    runners = {out[f"job{i}"][1][2] for i in range(6)}
    assert runners == {out["job0"][2]}  # the first queued caller led the batch for all six
    assert names(engine) == sorted(["blocker"] + [f"job{i}" for i in range(6)])


def test_a_failing_job_fails_only_its_caller(engine):
    writes = GroupCommit(engine)
    out, _ = queue_behind_a_blocker(writes, {"a": insert("a"), "bad": insert("bad", fail=True), "c": insert("c")})
    assert out["a"][0] == "ok" and out["c"][0] == "ok"
    assert out["bad"][0] == "error" and str(out["bad"][1]) == "bad failed"
    assert names(engine) == ["a", "blocker", "c"]  # the failing job's write is rolled back, the others kept


def test_no_caller_leads_more_than_one_batch(engine):
    writes = GroupCommit(engine, max_batch=2)
    out, _ = queue_behind_a_blocker(writes, {f"job{i}": insert(f"job{i}") for i in range(5)})
    assert writes.batches == 4  # blocker, then (job0, job1), (job2, job3), (job4)
    for first, batch in (("job0", ["job0", "job1"]), ("job2", ["job2", "job3"]), ("job4", ["job4"])):
        assert {out[name][1][2] for name in batch} == {out[first][2]}  # led by the batch's first caller
    assert len({out[first][2] for first in ("job0", "job2", "job4")}) == 3
    assert names(engine) == sorted(["blocker"] + [f"job{i}" for i in range(5)])


def test_a_lone_job_runs_on_its_callers_thread_and_is_committed_on_return(engine):
    writes = GroupCommit(engine)
    assert writes.run(insert("alone"))[2] == threading.get_ident()
    assert names(engine) == ["alone"]
    with pytest.raises(ValueError, match="lone failed"):
        writes.run(insert("lone", fail=True))
    assert names(engine) == ["alone"] and writes.batches == 1


def test_postgresql_runs_each_job_in_its_own_transaction(pg_engine):
    rows.metadata.create_all(pg_engine)
    writes = GroupCommit(pg_engine)
    assert not writes.grouped
    assert writes.run(insert("pg"))[0] == "pg"
    with pytest.raises(ValueError):
        writes.run(insert("pg-bad", fail=True))
    assert names(pg_engine) == ["pg"] and writes.batches == 0
