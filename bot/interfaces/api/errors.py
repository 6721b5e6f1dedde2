"""The one place where domain errors become HTTP responses."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from bot.core.errors import (
    ConflictError,
    DataError,
    EncoderError,
    ModelError,
    NotFoundError,
    PublishRefused,
    TriageError,
)

log = logging.getLogger("triage.api")

STATUS = ((NotFoundError, 404), (ConflictError, 409), (DataError, 400), (ModelError, 503), (EncoderError, 503),
          (TriageError, 400))


def install(app: FastAPI) -> None:
    @app.exception_handler(TriageError)
    async def _domain(request: Request, exc: TriageError):
        status = next(code for cls, code in STATUS if isinstance(exc, cls))
        body = {"detail": str(exc)}
        if isinstance(exc, PublishRefused):
            body["broken"] = exc.broken
        return JSONResponse(body, status_code=status)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):  # pragma: no cover - a bug, logged with trace
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse({"detail": "internal error"}, status_code=500)
