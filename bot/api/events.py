"""Server-sent events: a poll of the database turned into a stream, so every server sees every
change (no in-process bus). Streams end after `seconds`; browsers reconnect and resume."""
from __future__ import annotations

import asyncio
import json
import time
from typing import Callable

from fastapi import Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

Event = tuple[str, object]


def format_event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"


def stream(request: Request, poll: Callable[[], list[Event]], seconds: float, interval: float = 0.5) -> StreamingResponse:
    async def body():
        yield "retry: 1000\n\n"
        deadline = time.monotonic() + seconds
        quiet_since = time.monotonic()
        while True:
            events = await run_in_threadpool(poll)
            for name, data in events:
                yield format_event(name, data)
            if events:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > 10:
                yield ": keep-alive\n\n"
                quiet_since = time.monotonic()
            if time.monotonic() >= deadline or await request.is_disconnected():
                return
            await asyncio.sleep(interval)

    return StreamingResponse(body(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
