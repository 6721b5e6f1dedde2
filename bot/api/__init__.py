"""The HTTP service, built by `create_app` from objects it is given (nothing heavy at import)."""
from __future__ import annotations

from fastapi import FastAPI, Response

from bot.api import errors
from bot.api.deps import Credentials, Staff
from bot.api.limits import BodySizeLimit, RateLimiter
from bot.api.metrics import LatencyMiddleware, Metrics
from bot.service import ChatService
from bot.settings import Settings


def create_app(service: ChatService, settings: Settings) -> FastAPI:
    from bot.api import routes_agent, routes_chat

    app = FastAPI(title="triage", version="0.1.0",
                  description="Answer what the bot knows, confirm when unsure, hand the rest to a person.")
    app.state.service = service
    app.state.settings = settings
    app.state.credentials = Credentials(settings.agents, settings.editors, settings.admins)
    app.state.conversation_limiter = RateLimiter(settings.conversation_rate_per_minute)
    app.state.client_limiter = RateLimiter(settings.client_rate_per_minute)
    app.state.metrics = metrics = Metrics()

    def seen_staff(staff: Staff) -> None:
        if "agent" in staff.roles:
            service.mark_agent_seen(staff.name)

    app.state.seen_staff = seen_staff
    errors.install(app)
    app.include_router(routes_chat.router)
    app.include_router(routes_agent.router)
    app.include_router(routes_agent.status_router)

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        body, ctype = metrics.render()
        return Response(body, media_type=ctype)

    @app.get("/health", tags=["status"])
    def health() -> dict:
        return {"status": "ok"}

    app.add_middleware(LatencyMiddleware, metrics=metrics)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
