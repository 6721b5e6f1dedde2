"""Group commit: the write transactions of concurrent turns share one SQLite transaction.

SQLite admits one writer at a time (`db.WriteGate`). Under load a turn's write transaction held
that lock about 7 ms for 1.5-2 ms of CPU: each of its ten or so statements lets go of the GIL and
then waits for it (and for a core) again, and the `synchronous=FULL` commit waits for the disk.
With 16 clients the lock was busy 86% of the time and capped a server near 100 turns/s
(docs/benchmarks.md, "Group commit").

`GroupCommit.run(job)` queues `job` (a function of a connection). The first caller that finds no
batch running leads: it takes the queued jobs (its own first), runs them one after another in one
transaction — one BEGIN IMMEDIATE, one COMMIT and its one disk sync for all — and hands the lead
to the first job queued meanwhile, so that no caller runs more than one batch. Every caller gets
its result only after the commit: an acknowledged turn is on disk as before. A job that raises
rolls the batch back; each job of that batch then runs again in a transaction of its own, so only
the failing one fails. Jobs must therefore be free of effects outside the database (they may run
twice, the first time rolled back), and must not call `run` themselves (they would wait for the
batch they are in).

On PostgreSQL jobs run at once, each in its own transaction: the server has its own group commit,
and one transaction over several conversations' row locks could deadlock against another
server's.
"""
from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from sqlalchemy.engine import Connection, Engine

T = TypeVar("T")


class _Job(Generic[T]):
    __slots__ = ("context", "fn", "ready", "done", "result", "error")

    def __init__(self, fn: Callable[[Connection], T]):
        # The caller's context variables (a turn's model) go with the job to whichever thread runs it.
        self.context = contextvars.copy_context()
        self.fn = fn
        self.ready = threading.Event()  # set when the job is done, or when its caller is to lead
        self.done = False
        self.result: T | None = None
        self.error: BaseException | None = None

    def finish(self, result=None, error: BaseException | None = None) -> None:
        self.result, self.error, self.done = result, error, True
        self.ready.set()


class GroupCommit:
    """See the module's docstring. `max_batch` bounds one transaction (and so the wait of the
    batch's last job)."""

    def __init__(self, engine: Engine, max_batch: int = 32):
        self.engine = engine
        self.max_batch = max_batch
        self.grouped = engine.dialect.name == "sqlite"
        self._lock = threading.Lock()
        self._queue: list[_Job] = []
        self._leading = False
        #: Transactions committed and jobs run through them (for the benchmarks and tests).
        self.batches = 0
        self.jobs = 0

    def run(self, fn: Callable[[Connection], T]) -> T:
        """`fn(conn)` inside a write transaction; its result once that transaction committed."""
        if not self.grouped:
            with self.engine.begin() as conn:
                return fn(conn)
        job = _Job(fn)
        with self._lock:
            self._queue.append(job)
            leads = not self._leading
            self._leading = True
        if not leads:
            job.ready.wait()
        if not job.done:  # this caller leads: its job is the first in the queue
            self._lead()
        if job.error is not None:
            raise job.error
        return job.result

    def _lead(self) -> None:
        with self._lock:
            batch = self._queue[:self.max_batch]
            del self._queue[:self.max_batch]
        try:
            self._run(batch)
        finally:
            for job in batch:  # also when the batch was interrupted: nobody waits for ever
                if not job.done:
                    job.finish(error=RuntimeError("the write was interrupted"))
            with self._lock:
                if self._queue:
                    self._queue[0].ready.set()  # the next caller leads the next batch
                else:
                    self._leading = False

    def _run(self, batch: list[_Job]) -> None:
        results = []
        try:
            with self.engine.begin() as conn:
                for job in batch:
                    results.append(job.context.run(job.fn, conn))
        except Exception as exc:
            if len(batch) == 1:
                batch[0].finish(error=exc)
                return
            for job in batch:  # rolled back: each alone, so that only the failing job fails
                self._run([job])
            return
        self.batches += 1
        self.jobs += len(batch)
        for job, result in zip(batch, results):
            job.finish(result)
