"""Prometheus metrics, on a registry of the app's own (so several apps in one process don't clash)."""
from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Receive, Scope, Send

from bot.support.dialogue import State


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.messages = Counter("triage_messages_total", "User messages received", registry=r)
        self.routes = Counter("triage_routes_total", "Triage routes taken", ["route"], registry=r)
        self.contained = Counter("triage_conversations_contained_total",
                                 "Conversations resolved by the bot without a person", registry=r)
        self.escalations = Counter("triage_escalations_total", "Escalations to a person", ["priority"], registry=r)
        self.breaches = Counter("triage_sla_breaches_total", "Tickets that missed their SLA", ["priority"], registry=r)
        self.latency = Histogram("triage_request_seconds", "Request latency", ["path"], registry=r,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))

    def turn(self, turn) -> None:
        if turn.replayed:
            return
        self.messages.inc()
        if turn.route:
            self.routes.labels(turn.route).inc()
        if turn.escalated:
            self.escalations.labels(turn.escalated).inc()
        if turn.state is State.RESOLVED and turn.ticket_id is None:
            self.contained.inc()

    def render(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class LatencyMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", "unmatched")
            self.metrics.latency.labels(path).observe(time.perf_counter() - start)
