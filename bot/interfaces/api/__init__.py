"""The HTTP service, built by `create_app` from objects it is given (nothing heavy at import)."""
from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from bot.core.settings import Settings
from bot.interfaces.api import errors, session
from bot.interfaces.api.context import AppContext
from bot.interfaces.api.events import StreamSlots
from bot.interfaces.api.guard import InputGuard
from bot.interfaces.api.limits import BodySizeLimit, RateLimiter
from bot.interfaces.api.metrics import LatencyMiddleware, Metrics
from bot.interfaces.api.schemas import TicketPublic
from bot.interfaces.api.session import Credentials
from bot.support.board import QueueBoard
from bot.support.changes import ChangeFeed
from bot.support.editor import EditorService
from bot.support.service import ChatService
from escalation.webhooks import Dispatcher

log = logging.getLogger("triage.monitor")


def monitor_once(service: ChatService, dispatcher: Dispatcher | None, metrics: Metrics) -> None:
    for t in service.check_slas():
        metrics.breaches.labels(t.priority.value).inc()
        log.warning("SLA breached: ticket %s (%s, team %s)", t.id, t.priority.value, t.team)
    if dispatcher is not None:
        dispatcher.deliver_due(service.clock())
    if service.settings.smtp_relay_host:  # agents' replies to users who left an e-mail address
        from bot.support.maildesk import MailDesk

        MailDesk(service, service.settings).deliver_due()


def _watch_models(service: ChatService, stop: threading.Event, every: float) -> None:
    """Follow model promotions (made on any server) even when no turn comes in."""
    while not stop.wait(every):
        try:
            service.sync_model(poll_seconds=every)
        except Exception:
            log.exception("model watch failed; retrying")


def _monitor(service, dispatcher, metrics, stop: threading.Event, every: float) -> None:
    while not stop.wait(every):
        try:
            monitor_once(service, dispatcher, metrics)
        except Exception:  # keep the loop alive; the error is logged with its trace
            log.exception("SLA monitor failed; retrying")


def ticket_card(service: ChatService, t) -> dict:
    """A ticket for the console's lists, with its topic's title (not an intent id)."""
    return TicketPublic.of(t).model_dump() | {"title": service.title(t.intent, t.language or "en") if t.intent else None}


def create_app(service: ChatService, settings: Settings, dispatcher: Dispatcher | None = None,
               monitor_seconds: float | None = None) -> FastAPI:
    """Build the app from the objects it is given. With `monitor_seconds`, a background thread
    checks SLAs and delivers webhooks at that interval while the app runs."""
    from bot.interfaces.api import (
        routes_agent,
        routes_chat,
        routes_editor,
        routes_help,
        routes_web,
    )

    metrics = Metrics()
    context = AppContext(
        service=service, editor=EditorService(service), settings=settings,
        credentials=Credentials(settings.agents, settings.editors, settings.admins),
        session_secret=session.derive_secret(settings.session_secret,
                                             [settings.agents, settings.editors, settings.admins]),
        conversation_limiter=RateLimiter(settings.conversation_rate_per_minute),
        client_limiter=RateLimiter(settings.client_rate_per_minute),
        login_failures=RateLimiter(settings.login_failures_per_minute),
        metrics=metrics, feed=ChangeFeed(service.db),
        streams=StreamSlots(settings.max_streams_per_caller),
        board=QueueBoard(service.tickets, render=lambda ts: [ticket_card(service, t) for t in ts]))

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        try:  # the live FAQ state, before traffic (`triage serve` has loaded it already)
            await run_in_threadpool(service.start)
        except Exception:  # the database may be away: /ready says so, and the next turn retries
            log.exception("could not load the live FAQ state at start; retrying on the first turn")
        stop = threading.Event()
        thread = None
        if monitor_seconds:
            thread = threading.Thread(target=_monitor, args=(service, dispatcher, metrics, stop, monitor_seconds),
                                      name="triage-monitor", daemon=True)
            thread.start()
        watcher = None
        if service.model_loader is not None:
            watcher = threading.Thread(target=_watch_models, args=(service, stop, settings.model_poll_seconds),
                                       name="triage-model-watch", daemon=True)
            watcher.start()
        yield
        await context.feed.close()
        stop.set()
        for t in (thread, watcher):
            if t:
                t.join(timeout=10)

    app = FastAPI(title="triage", version="0.1.0", lifespan=lifespan,
                  description="Answer what the bot knows, confirm when unsure, hand the rest to a person.")
    app.state.context = context
    errors.install(app)
    app.include_router(routes_chat.router)
    app.include_router(routes_agent.router)
    app.include_router(routes_agent.status_router)
    app.include_router(routes_editor.router)
    app.include_router(routes_web.router)
    app.include_router(routes_help.router)
    app.include_router(routes_web.pages)
    app.mount("/static", StaticFiles(directory=routes_web.WEB / "static"), name="static")

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        body, ctype = metrics.render()
        return Response(body, media_type=ctype)

    @app.get("/health", tags=["status"])
    def health() -> dict:
        """Liveness: the process answers. It does not touch the database (see /ready)."""
        return {"status": "ok"}

    @app.get("/ready", tags=["status"], responses={503: {"description": "database or model not ready"}})
    def ready() -> JSONResponse:
        """Readiness: the database answers and the model is loaded. A load balancer sends traffic
        only to servers that are ready."""
        problems = service.readiness()
        if problems:
            return JSONResponse({"status": "unavailable", "problems": problems}, status_code=503,
                                headers={"Retry-After": errors.RETRY_AFTER})
        return JSONResponse({"status": "ready"})

    app.add_middleware(InputGuard)
    app.add_middleware(LatencyMiddleware, metrics=metrics)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
