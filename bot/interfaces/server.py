"""The server process: model, database and service put together into the ASGI app.

`triage serve` builds it in-process; with `--workers N`, uvicorn starts N processes that each call
`app_factory` (and so load the model once each). Settings come from the environment in both
cases; the model directory from `TRIAGE_SERVE_MODEL` in the workers.
"""
from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from bot.core.settings import Settings

MODEL_ENV = "TRIAGE_SERVE_MODEL"


def build_app(model: Path, settings: Settings, migrate: bool = True) -> FastAPI:
    """Load the model (encoder warmed up), migrate the database, load the live FAQ state, and
    return the app; the encoder is shared by concurrent turns through the micro-batcher."""
    from bot.core.db import make_engine, reading, upgrade
    from bot.interfaces.api import create_app
    from bot.ml.engine import TriageEngine
    from bot.support import promotions
    from bot.support.service import ChatService
    from escalation.webhooks import Dispatcher
    from intents.features import prepare as prepare_features

    def load(path: Path, name: str | None = None) -> TriageEngine:
        engine = TriageEngine.from_model_dir(path, settings)
        if name:
            engine.name = name
        engine.embedder.embed(["warm up"])  # load the encoder now, not on the first user's message
        engine.batch_queries(settings.batch_max_texts, settings.batch_max_wait_ms / 1000, settings.batch_max_queue)
        return engine

    db_engine = make_engine(settings.database_url)
    if migrate:
        upgrade(db_engine)
    with reading(db_engine) as conn:
        promoted = promotions.current(conn)
    # A model promoted with `triage promote` wins over --model: every server serves the same one.
    engine = load(Path(promoted.path), promoted.name) if promoted else load(model)
    service = ChatService(engine, db_engine, settings)
    service.model_loader = load
    service.model_seq = promoted.seq if promoted else None
    service.start()  # every live FAQ edit, in one batch, before the port opens
    seed_golden(service, settings)
    dispatcher = Dispatcher(db_engine, settings.webhook_url, settings.webhook_secret or "")
    # The Chinese word segmenter's dictionary (about 1 s) loads now, not on the first Chinese
    # message (loaded beside the rest of the start it saved nothing: both hold the GIL).
    prepare_features()
    return create_app(service, settings, dispatcher, monitor_seconds=settings.monitor_seconds)


def seed_golden(service, settings: Settings) -> None:
    """The starter golden set, into a database without golden questions."""
    import logging

    from bot.support.editor import EditorService
    from kb_index.repository import load_golden_file

    path = settings.golden_seed
    if path is None or not Path(path).is_file():
        return
    added, skipped = EditorService(service).seed_golden(load_golden_file(path))
    log = logging.getLogger("triage.server")
    if added:
        log.warning("added %d starter golden questions from %s", added, path)
    for q in skipped:
        log.warning("starter golden question %r does not reach its expected intent with this model: skipped", q)


def app_factory() -> FastAPI:
    """For uvicorn's worker processes (`triage serve --workers N`); the parent has migrated."""
    from bot.core.i18n import load_registry, use
    from bot.core.redact import install_log_redaction

    settings = Settings()
    use(load_registry(settings.locales_dir))
    install_log_redaction()
    return build_app(Path(os.environ[MODEL_ENV]), settings, migrate=False)
