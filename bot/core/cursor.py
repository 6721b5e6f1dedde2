"""A read cursor over an auto-increment column that cannot skip a row.

PostgreSQL hands out sequence values when rows are inserted, not when they commit: a transaction
that took seq 41 may commit after one that took 42. A reader that remembers "the highest seq I
saw" and asks for `seq > 42` next time never sees 41. This cursor remembers the values it jumped
over (gaps) and asks for them again, `seq > top OR seq IN (gaps)`, until they show up or a grace
period passes (longer than any transaction lives; values that never show up were rolled back or
belong to rows the query filters out).
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.sql.elements import ColumnElement


def unread(column, gaps: bool) -> ColumnElement:
    """Rows a cursor has not read: `column > :top`, or in the list `:gaps` too when it has gaps
    (`GapCursor.has_gaps`). Bound parameters, so a statement built once from each of the two shapes
    serves every read; execute it with `GapCursor.params()`."""
    after = column > bindparam("top")
    return or_(after, column.in_(bindparam("gaps", expanding=True))) if gaps else after


#: How far below the newest value a cursor that starts looks for values still in flight.
START_WINDOW = 1000


def seq_window(conn, column, window: int = START_WINDOW) -> tuple[int, set[int]]:
    """The highest value of `column` (0 for none) and the values that exist in the `window` below
    it: where a cursor starts (`GapCursor.start_at`), so that a row still in flight with a lower
    value is read when it commits. Two statements: read them in one snapshot
    (`reading(..., snapshot=True)`)."""
    top = int(conn.execute(select(func.coalesce(func.max(column), 0))).scalar_one())
    return top, set(conn.execute(select(column).where(column > top - window)).scalars())


class GapCursor:
    MAX_GAPS = 10_000  # beyond this (a huge burst of filtered rows), the oldest gaps are let go

    def __init__(self, top: int = 0, grace_seconds: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self.top = top
        self.grace = grace_seconds
        self.clock = clock
        self.gaps: dict[int, float] = {}  # seq -> when it was first missed

    @property
    def has_gaps(self) -> bool:
        return bool(self.gaps)

    def params(self) -> dict[str, object]:
        """The bound parameters of an `unread` condition."""
        return {"top": self.top, "gaps": sorted(self.gaps)}

    def saw(self, seqs: Iterable[int]) -> None:
        """Record the values just read (any order)."""
        now = self.clock()
        for s in sorted(set(seqs)):
            if s > self.top:
                for missing in range(max(self.top + 1, s - self.MAX_GAPS), s):
                    self.gaps.setdefault(missing, now)
                self.top = s
            self.gaps.pop(s, None)
        self.expire(now)

    def expire(self, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        self.gaps = {s: t for s, t in self.gaps.items() if now - t < self.grace}
        if len(self.gaps) > self.MAX_GAPS:
            keep = sorted(self.gaps)[-self.MAX_GAPS:]
            self.gaps = {s: self.gaps[s] for s in keep}

    def start_at(self, top: int, seen: Iterable[int], window: int = START_WINDOW) -> None:
        """Start after `top`, treating the values of the last `window` below it that were not
        `seen` as gaps: transactions in flight when the reader started may still commit them."""
        now = self.clock()
        seen = set(seen)
        self.top = top
        self.gaps = {s: now for s in range(max(1, top - window), top) if s not in seen}
