"""Input no store can keep: refused at the door with a 400 and a reason, before any route runs.

JSON allows what neither the databases nor the logs can hold: a NUL character (PostgreSQL's text
refuses it), a lone surrogate half (`"\\ud800"`: not encodable as UTF-8), and numbers that are not
finite (`NaN`, `Infinity`, `1e400`). Path segments and query parameters can carry the same
characters percent-encoded. This pure ASGI middleware checks all of them once, so no route,
store or error handler ever meets them.
"""
from __future__ import annotations

import json
import math
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from bot.interfaces.api.limits import replay


class BadInput(ValueError):
    pass


def text_problem(s: str) -> str | None:
    """Why `s` cannot be stored, or None."""
    if "\x00" in s:
        return "contains a NUL character"
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (invalid Unicode)"
    return None


def _no_constant(name: str):
    raise BadInput(f"{name} is not a number JSON may carry here")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadInput(f"number {text[:20]} is out of range")
    return value


def _walk(value, where: str) -> None:
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise BadInput(f"{where} {problem}")
    elif isinstance(value, dict):
        for k, v in value.items():
            _walk(k, f"a key in {where}")
            _walk(v, f"{where}.{k}" if text_problem(k) is None else where)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _walk(v, f"{where}[{i}]")


def check_json(body: bytes) -> None:
    """Raise BadInput for a JSON body holding what cannot be stored; malformed JSON is left to the
    route's own validation (a 422 naming the position)."""
    try:
        value = json.loads(body, parse_constant=_no_constant, parse_float=_finite)
    except BadInput:
        raise
    except ValueError:
        return
    _walk(value, "body")


def check_url(scope: Scope) -> None:
    problem = text_problem(scope.get("path", ""))
    if problem:
        raise BadInput(f"the path {problem}")
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True, errors="surrogateescape"):
        for part in (name, value):
            problem = text_problem(part)
            if problem:
                raise BadInput(f"query parameter {name[:40]!r} {problem}")


class InputGuard:
    """Refuse requests whose URL or JSON body holds text or numbers that cannot be stored."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        try:
            check_url(scope)
        except BadInput as e:
            return await _refuse(send, str(e))
        ctype = dict(scope.get("headers", [])).get(b"content-type", b"")
        if b"json" not in ctype.lower():
            return await self.app(scope, receive, send)
        chunks, more = [], True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return await self.app(scope, replay(message, receive), send)
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            check_json(body)
        except BadInput as e:
            return await _refuse(send, str(e))
        await self.app(scope, replay({"type": "http.request", "body": body, "more_body": False}, receive), send)


async def _refuse(send: Send, reason: str) -> None:
    body = json.dumps({"detail": f"bad input: {reason}"}).encode()
    await send({"type": "http.response.start", "status": 400,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
