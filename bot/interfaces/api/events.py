"""Server-sent events over the change feed (`bot.support.changes`).

Each open stream sleeps until a feed tick touches what it follows (or a few seconds pass, for
changes no write announces, such as a lapsed lease) and only then runs its own query. Idle streams
therefore cost nothing per stream. Streams end after `seconds`; browsers reconnect and resume from
the last sequence number they saw.
"""
from __future__ import annotations

import json
import threading
import time
from collections import Counter
from contextlib import contextmanager, nullcontext
from typing import Callable

from fastapi import HTTPException, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from bot.support.changes import ChangeFeed

Event = tuple[str, object]


class StreamSlots:
    """Open streams per caller (a conversation token or a staff member), capped."""

    def __init__(self, per_caller: int):
        self.per_caller = per_caller
        self._open: Counter[str] = Counter()
        self._lock = threading.Lock()

    def take(self, caller: str) -> None:
        with self._lock:
            if self._open[caller] >= self.per_caller:
                raise HTTPException(429, f"at most {self.per_caller} live streams at once; close one first",
                                    headers={"Retry-After": "5"})
            self._open[caller] += 1

    def give_back(self, caller: str) -> None:
        with self._lock:
            self._open[caller] -= 1
            if self._open[caller] <= 0:
                del self._open[caller]

    def count(self, caller: str) -> int:
        with self._lock:
            return self._open[caller]

    @contextmanager
    def held(self, caller: str):
        try:
            yield
        finally:
            self.give_back(caller)


def format_event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


def stream(request: Request, feed: ChangeFeed, poll: Callable[[], list[Event]],
           relevant: Callable[[int], bool], seconds: float, fallback: float | None = None,
           slots: StreamSlots | None = None, caller: str = "") -> StreamingResponse:
    """Stream `poll()`'s events: once at once, then whenever `relevant(tick_of_last_poll)` says a
    feed tick touched what this stream follows, and every `fallback` seconds regardless (for
    changes no write announces). A client that goes away ends the stream at once (Starlette
    listens for the disconnect beside the body). With `slots`, the stream counts against
    `caller`'s cap (429 when full) until it ends."""
    if slots is not None:
        slots.take(caller)

    async def body():
        with slots.held(caller) if slots is not None else nullcontext():
            async for chunk in events():
                yield chunk

    async def events():
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
