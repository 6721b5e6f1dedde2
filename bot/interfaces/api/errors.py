"""The one place where domain errors become HTTP responses."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa

from bot.core.errors import (
    ConflictError,
    DataError,
    EncoderError,
    ModelError,
    NotFoundError,
    Overloaded,
    PublishRefused,
    TriageError,
)

log = logging.getLogger("triage.api")

STATUS = ((Overloaded, 503), (NotFoundError, 404), (ConflictError, 409), (DataError, 400), (ModelError, 503), (EncoderError, 503),
          (TriageError, 400))

#: The database is busy (SQLite's write lock) or away (PostgreSQL restarting): try again shortly.
UNAVAILABLE = (sa.OperationalError, sa.InterfaceError, sa.TimeoutError, sa.DisconnectionError)
RETRY_AFTER = "2"


def _safe(value) -> str:
    """Text that can always be encoded (a message may quote the client's invalid Unicode)."""
    return str(value).encode("utf-8", "backslashreplace").decode("utf-8")


def validation_errors(exc: RequestValidationError) -> list[dict]:
    """The validation errors without the client's input echoed back (it may be unencodable, and
    it is the client's own data anyway): where and why only."""
    return [{"loc": [_safe(p) for p in e.get("loc", ())], "msg": _safe(e.get("msg", "")), "type": e.get("type", "")}
            for e in exc.errors()]


def install(app: FastAPI) -> None:
    @app.exception_handler(TriageError)
    async def _domain(request: Request, exc: TriageError):
        status = next(code for cls, code in STATUS if isinstance(exc, cls))
        body = {"detail": str(exc)}
        if isinstance(exc, PublishRefused):
            body["broken"] = exc.broken
        headers = {"Retry-After": RETRY_AFTER} if status == 503 else None
        return JSONResponse(body, status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return JSONResponse({"detail": validation_errors(exc)}, status_code=422)

    @app.exception_handler(sa.DBAPIError)
    async def _database(request: Request, exc: sa.DBAPIError):
        if isinstance(exc, UNAVAILABLE) or exc.connection_invalidated:
            log.warning("database unavailable on %s %s: %s", request.method, request.url.path, type(exc.orig).__name__)
            return JSONResponse({"detail": "the database is busy or unavailable; retry shortly"}, status_code=503,
                                headers={"Retry-After": RETRY_AFTER})
        log.exception("database error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error"}, status_code=500)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):  # pragma: no cover - a bug, logged with trace
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error"}, status_code=500)
