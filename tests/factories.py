"""Shared test factories: a settable clock, and engines, services and API clients on the tiny model."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi.testclient import TestClient

from bot.core.settings import Settings
from bot.interfaces.api import create_app
from bot.ml.engine import TriageEngine
from bot.ml.model import TriageModel
from bot.support.service import ChatService

#: 2027-01-15 08:00 UTC: a working hour for the default UTC team (08:00-22:00).
WORKING_HOUR = 1_800_000_000.0


class Clock:
    """A clock the test moves by hand (`clock.now += 60`)."""

    def __init__(self, now: float = WORKING_HOUR):
        self.now = now

    def __call__(self) -> float:
        return self.now


def triage_engine(model_dir: Path, embedder) -> TriageEngine:
    return TriageEngine(TriageModel.load(model_dir), embedder)


def make_service(db, model_dir: Path, embedder, settings: Settings | None = None, clock=None,
                 **settings_kw) -> ChatService:
    """A service on the model in `model_dir` (the fake encoder unless `settings` say otherwise)."""
    settings = settings or Settings(encoder="fake:64", **settings_kw)
    return ChatService(triage_engine(model_dir, embedder), db, settings, clock=clock or Clock())


@contextmanager
def api_client(service: ChatService, settings: Settings) -> Iterator[TestClient]:
    """The HTTP API on `service`, started (lifespan run) for the length of the block."""
    with TestClient(create_app(service, settings)) as client:
        yield client
