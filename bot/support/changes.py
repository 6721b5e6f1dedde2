"""What changed in the database, tick by tick, so that every server sees every change (no
in-process bus): the source of the live updates.

One `ChangeFeed` per process asks the database twice a tick (0.5 s) what changed: which
conversations have new messages, and whether the open tickets changed (a fingerprint over their
count, claims, priorities, breaches). Waiters sleep until a tick touches what they follow. The
queries live in the stores (`conversations.changed_since`, `TicketStore.open_fingerprint`; the
cursor starts at `cursor.seq_window`); this module only keeps time.
"""
from __future__ import annotations

import asyncio
import logging

from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from bot.core.cursor import GapCursor, seq_window
from bot.core.db import reading
from bot.support import conversations
from escalation.store import open_fingerprint

log = logging.getLogger("triage.events")


class ChangeFeed:
    """What changed in the database, tick by tick. Started by the first stream that waits on it."""

    MAX_TRACKED = 50_000
    MAX_ROWS = 5_000  # new messages read per tick; a bigger burst is read over several ticks

    def __init__(self, db: Engine, interval: float = 0.5):
        self.db, self.interval = db, interval
        self.tick = 0
        self.conversation_tick: dict[str, int] = {}
        self.tickets_tick = 0
        self._cursor: GapCursor | None = None  # messages read (one committing late is not skipped)
        self._tickets_key: tuple | None = None
        self._event: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    def _probe(self) -> tuple[set[str], tuple]:
        with reading(self.db, snapshot=self._cursor is None) as conn:
            if self._cursor is None:  # start after the newest message; ones in flight below it still count
                self._cursor, changed = GapCursor(grace_seconds=30.0), set()
                self._cursor.start_at(*seq_window(conn, conversations.messages.c.seq))
            else:
                changed, seqs = conversations.changed_since(conn, self._cursor, self.MAX_ROWS)
                self._cursor.saw(seqs)
            return changed, open_fingerprint(conn)

    async def _run(self) -> None:
        while True:
            try:
                changed, key = await run_in_threadpool(self._probe)
            except Exception:  # the database may be briefly unavailable: keep the feed alive
                log.exception("change feed probe failed; retrying")
                await asyncio.sleep(max(self.interval, 2.0))
                continue
            if changed or key != self._tickets_key:
                self.tick += 1
                for cid in changed:
                    self.conversation_tick.pop(cid, None)
                    self.conversation_tick[cid] = self.tick  # most recent last
                if len(self.conversation_tick) > self.MAX_TRACKED:
                    for cid in list(self.conversation_tick)[: self.MAX_TRACKED // 2]:
                        del self.conversation_tick[cid]
                if key != self._tickets_key:
                    self._tickets_key, self.tickets_tick = key, self.tick
                event, self._event = self._event, asyncio.Event()
                event.set()
            await asyncio.sleep(self.interval)

    def conversation_changed(self, cid: str, since: int) -> bool:
        return self.conversation_tick.get(cid, 0) > since

    async def wait(self, timeout: float) -> None:
        """Until the next tick that changed something, or `timeout` seconds."""
        if self._task is None or self._task.done():
            self._event = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(), name="triage-change-feed")
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
        except asyncio.TimeoutError:
            pass

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except (asyncio.CancelledError, Exception):
                pass
            self._task = None
