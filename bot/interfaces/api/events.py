"""Server-sent events over the change feed (`bot.support.changes`).

Each open stream sleeps until a feed tick touches what it follows (or a few seconds pass, for
changes no write announces, such as a lapsed lease) and only then runs its own query. Idle streams
therefore cost nothing per stream. Streams end after `seconds`; browsers reconnect and resume from
the last sequence number they saw.
"""
from __future__ import annotations

import json
import time
from typing import Callable

from fastapi import Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from bot.support.changes import ChangeFeed

Event = tuple[str, object]


def format_event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


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
