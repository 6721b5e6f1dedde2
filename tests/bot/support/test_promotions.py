"""Model promotions: the golden gate, hot swap under concurrent turns, servers following, rollback."""
import shutil
import threading

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from bot.core.errors import ConflictError
from bot.interfaces.cli import app
from bot.ml.engine import TriageEngine
from bot.ml.model import TriageModel
from bot.ml.training import train
from bot.ml.training_data import load_training_data
from bot.support import promotions
from bot.support.conversations import messages
from kb_index import repository as repo
from tests.conftest import TINY_FAQ, TINY_NLU, write_data
from tests.factories import make_service

runner = CliRunner()
DESKTOP = TINY_FAQ + """\
- id: desktop
  answer:
    en: Download the desktop app from our website.
  questions:
    - where is the desktop app
    - desktop app download
    - get the app for my computer
"""
NO_PASSWORD = TINY_NLU.replace("- intent: reset_password", "- intent: password_things")


@pytest.fixture
def registry(tmp_path, tiny_model, fake_embedder, settings):
    """Model `a` (the tiny model), `b` (it plus a desktop-app entry), `c` (password intent renamed)."""
    reg = tmp_path / "registry"
    reg.mkdir()
    shutil.copytree(tiny_model, reg / "a")
    for name, nlu, faq in (("b", TINY_NLU, DESKTOP), ("c", NO_PASSWORD, TINY_FAQ)):
        data = write_data(tmp_path / f"data_{name}", nlu, faq)
        train(load_training_data(data), fake_embedder, settings).save(reg / name)
    return reg


def loader(fake_embedder):
    def load(path, name):
        engine = TriageEngine(TriageModel.load(path), fake_embedder)
        engine.name = name
        return engine
    return load


def promote(db, reg, name):
    with db.begin() as conn:
        path = promotions.in_registry(reg, name)
        return promotions.record(conn, name, path, TriageModel.load(path).fingerprint, "test", 1.0)


def test_a_swap_under_concurrent_turns_fails_no_request(db_engine, registry, fake_embedder):
    svc = make_service(db_engine, registry / "a", fake_embedder)
    svc.model_loader = loader(fake_embedder)
    errors, models = [], set()
    stop = threading.Event()

    def user():
        while not stop.is_set():
            try:
                cid, _ = svc.create_conversation()
                turn = svc.send(cid, "what are the trading fees")
                assert turn.replies[0].text == "Trading costs 0.1% per trade."
            except Exception as e:  # noqa: BLE001 - any failure fails the test
                errors.append(e)

    threads = [threading.Thread(target=user) for _ in range(4)]
    for t in threads:
        t.start()
    p = promote(db_engine, registry, "b")
    svc.sync_model(wait=True)
    assert svc.model_seq == p.seq and svc.engine.name == "b"
    cid, _ = svc.create_conversation()
    assert svc.send(cid, "where is the desktop app").replies[0].text == "Download the desktop app from our website."
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    with db_engine.connect() as conn:
        models = {m for (m,) in conn.execute(select(messages.c.model).where(messages.c.role == "bot"))}
    fp_a, fp_b = TriageModel.load(registry / "a").fingerprint, TriageModel.load(registry / "b").fingerprint
    assert f"b@{fp_b}" in models and models <= {f"a@{fp_a}", f"b@{fp_b}", f"model@{fp_a}"}


def test_a_new_model_keeps_the_editors_published_changes(db_engine, registry, fake_embedder):
    from bot.support.editor import EditorService
    from kb_index.store import FaqEntry

    svc = make_service(db_engine, registry / "a", fake_embedder)
    svc.model_loader = loader(fake_embedder)
    EditorService(svc).put(FaqEntry("staking", ["when are staking rewards paid"], {"en": "Every Monday."}), "ed")
    promote(db_engine, registry, "b")
    svc.sync_model(wait=True)
    assert svc.engine.name == "b" and "staking" in svc.engine.faq_index.store


def test_every_server_on_the_database_follows(db_engine, registry, fake_embedder):
    one = make_service(db_engine, registry / "a", fake_embedder)
    two = make_service(db_engine, registry / "a", fake_embedder)
    for s in (one, two):
        s.model_loader = loader(fake_embedder)
    promote(db_engine, registry, "b")
    two.sync_model(wait=True)
    one.sync_model(wait=True)
    assert one.engine.name == two.engine.name == "b"


def test_rollback_returns_to_the_previous_model(db_engine, registry):
    promote(db_engine, registry, "a")
    promote(db_engine, registry, "b")
    with db_engine.begin() as conn:
        back = promotions.rollback(conn, "ops", 2.0)
        assert back.name == "a" and back.kind == "rollback"
        with pytest.raises(ConflictError):
            promotions.rollback(conn, "ops", 3.0)                 # nothing before `a`


def test_a_model_that_is_not_the_promoted_one_is_not_served(db_engine, registry, fake_embedder):
    svc = make_service(db_engine, registry / "a", fake_embedder)
    svc.model_loader = loader(fake_embedder)
    with db_engine.begin() as conn:
        promotions.record(conn, "b", registry / "b", "000000000000", "test", 1.0)  # the directory changed since
    svc.sync_model(wait=True)
    assert svc.engine.name != "b" and svc.model_seq is None


def test_promote_through_the_command_line(tmp_path, db_engine, registry, fake_env, tiny_data_dir):
    url = db_engine.url.render_as_string(hide_password=False)
    if url.startswith("postgresql+psycopg://"):
        url = "postgresql://" + url[len("postgresql+psycopg://"):]
    with db_engine.begin() as conn:
        repo.add_golden(conn, "I forgot my password", "reset_password", "ed", 1.0)
    r = runner.invoke(app, ["promote", "--registry", str(registry), "--model", "c", "--db", url])
    assert r.exit_code == 1 and "promotion refused" in r.output and "golden question" in r.output
    r = runner.invoke(app, ["promote", "--registry", str(registry), "--model", "a", "--db", url,
                            "--current", str(tmp_path / "none")])
    assert r.exit_code == 0, r.output
    assert "no model is served yet" in r.output and "promoted a@" in r.output
    r = runner.invoke(app, ["promote", "--registry", str(registry), "--model", "b", "--db", url])
    assert r.exit_code != 0 and "--data" in r.output                # the compare gate needs test data
    r = runner.invoke(app, ["promote", "--registry", str(registry), "--model", "b", "--db", url,
                            "--data", str(tiny_data_dir)])
    assert r.exit_code == 0, r.output
    assert "compare gate" in r.output and "McNemar" in r.output
    r = runner.invoke(app, ["promote", "--registry", str(registry), "--rollback", "--db", url])
    assert r.exit_code == 0 and "serving a@" in r.output
    r = runner.invoke(app, ["promote", "--registry", str(registry), "--model", "../a", "--db", url])
    assert r.exit_code == 1 and "may use only" in r.output


def test_a_candidate_that_loses_on_the_test_set_is_refused(db_engine, registry, fake_env, tiny_data_dir):
    url = db_engine.url.render_as_string(hide_password=False).replace("postgresql+psycopg://", "postgresql://")
    promote(db_engine, registry, "a")
    r = runner.invoke(app, ["promote", "--registry", str(registry), "--model", "c", "--db", url,
                            "--data", str(tiny_data_dir)])                # no golden questions: the gate decides
    assert r.exit_code == 1 and "loses to the served model" in r.output and "in_scope_accuracy" in r.output
    with db_engine.connect() as conn:
        assert promotions.current(conn).name == "a"


def test_a_server_starts_on_the_promoted_model_and_follows_the_next(tmp_path, registry):
    from bot.core.db import make_engine, upgrade
    from bot.core.settings import Settings
    from bot.interfaces.server import build_app

    url = f"sqlite:///{tmp_path / 'srv.db'}"
    db = make_engine(url)
    upgrade(db)
    promote(db, registry, "b")
    app_ = build_app(registry / "a", Settings(encoder="fake:64", database_url=url))
    service = app_.state.context.service
    assert service.engine.name == "b" and service.model_seq is not None   # not --model's `a`
    promote(db, registry, "a")
    service.sync_model(wait=True)
    assert service.engine.name == "a"
    db.dispose()
