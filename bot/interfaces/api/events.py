"""Server-sent events from the database, so that every server sees every change (no in-process bus).

One `ChangeFeed` per process asks the database twice a tick (0.5 s) what changed: which
conversations have new messages, and whether the open tickets changed (a fingerprint over their
count, claims, priorities, breaches). Each open stream sleeps until a tick touches what it follows
(or a few seconds pass, for changes no write announces, such as a lapsed lease) and only then
runs its own query. Idle streams therefore cost nothing per stream. Streams end after `seconds`;
browsers reconnect and resume from the last sequence number they saw.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Callable

from fastapi import Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Integer, cast, func, select
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

from bot.core.db import reading
from bot.support.conversations import messages
from escalation.store import Status, tickets

log = logging.getLogger("triage.events")
Event = tuple[str, object]


def format_event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


class ChangeFeed:
    """What changed in the database, tick by tick. Started by the first stream that waits on it."""

    MAX_TRACKED = 50_000
    MAX_ROWS = 5_000  # new messages read per tick; a bigger burst is read over several ticks

    def __init__(self, db: Engine, interval: float = 0.5):
        self.db, self.interval = db, interval
        self.tick = 0
        self.conversation_tick: dict[str, int] = {}
        self.tickets_tick = 0
        self._max_seq: int | None = None
        self._tickets_key: tuple | None = None
        self._event: asyncio.Event | None = None
        self._task: asyncio.Task | None = None

    def _probe(self) -> tuple[set[str], int, tuple]:
        open_t = tickets.c.status.in_((Status.QUEUED.value, Status.CLAIMED.value))  # uses ix_tickets_queue
        with reading(self.db) as conn:
            if self._max_seq is None:
                changed: set[str] = set()
                top = conn.execute(select(func.coalesce(func.max(messages.c.seq), 0))).scalar_one()
            else:  # a primary-key range (a GROUP BY here made SQLite scan a whole index)
                rows = conn.execute(select(messages.c.seq, messages.c.conversation_id)
                                    .where(messages.c.seq > self._max_seq)
                                    .order_by(messages.c.seq).limit(self.MAX_ROWS)).all()
                changed = {r[1] for r in rows}
                top = rows[-1][0] if rows else self._max_seq
            key = tuple(conn.execute(select(
                func.count(),
                func.coalesce(func.max(tickets.c.seq), 0),
                func.coalesce(func.sum(tickets.c.claim_token), 0),
                func.coalesce(func.sum(tickets.c.priority), 0),
                func.coalesce(func.sum(cast(tickets.c.breached, Integer)), 0),
            ).where(open_t)).one())
        return changed, top, key

    async def _run(self) -> None:
        while True:
            try:
                changed, top, key = await run_in_threadpool(self._probe)
            except Exception:  # the database may be briefly unavailable: keep the feed alive
                log.exception("change feed probe failed; retrying")
                await asyncio.sleep(max(self.interval, 2.0))
                continue
            self._max_seq = top
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


def stream(request: Request, feed: ChangeFeed, poll: Callable[[], list[Event]],
           relevant: Callable[[int], bool], seconds: float, fallback: float | None = None) -> StreamingResponse:
    """Stream `poll()`'s events: once at once, then whenever `relevant(tick_of_last_poll)` says a
    feed tick touched what this stream follows, and every `fallback` seconds regardless (for
    changes no write announces). A client that goes away ends the stream at once (Starlette
    listens for the disconnect beside the body)."""
    async def body():
        yield "retry: 1000\n\n"
        deadline = time.monotonic() + seconds
        last_poll = last_sent = float("-inf")
        seen = -1
        while True:
            now = time.monotonic()
            if seen < 0 or relevant(seen) or (fallback is not None and now - last_poll >= fallback):
                seen, last_poll = feed.tick, now
                for name, data in await run_in_threadpool(poll):
                    yield format_event(name, data)
                    last_sent = now
            if now - last_sent > 10:
                yield ": keep-alive\n\n"
                last_sent = now
            left = deadline - time.monotonic()
            if left <= 0:
                return
            await feed.wait(min(5.0, left))

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
