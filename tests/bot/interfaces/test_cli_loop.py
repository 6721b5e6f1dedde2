"""`triage export` and `triage compare` through the command line."""
import shutil

import yaml
from typer.testing import CliRunner

from bot.core.db import make_engine, upgrade
from bot.interfaces.cli import app
from bot.support import signals
from bot.support.dialogue import Learned
from bot.support.editor import EditorService
from bot.support.learning import LearningService
from kb_index.store import FaqEntry
from tests.factories import make_service

runner = CliRunner()


def test_export_writes_what_train_reads(tmp_path, tiny_model, tiny_data_dir, fake_embedder, fake_env):
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    db = make_engine(url)
    upgrade(db)
    svc = make_service(db, tiny_model, fake_embedder)
    editor = EditorService(svc)
    fees = svc.engine.faq_index.store.get("fees")
    editor.put(FaqEntry("fees", fees.questions + ["cost of a trade"], fees.answers, tags=["fees"]), "ed")
    editor.put(FaqEntry("desktop", ["where is the desktop app", "desktop download"], {"en": "From our website."}), "ed")
    with db.begin() as conn:
        signals.record(conn, Learned("chose", "lost my pass word, mail a@b.com", "reset_password"), None, "en", 1.0)
        signals.record(conn, Learned("chose", "never approved", "reset_password"), None, "en", 1.0)
    sig = next(s for s in LearningService(editor).suggestions().phrasings[0].signals if "pass word" in s.text)
    LearningService(editor).keep_for_training([sig.id], "ed")
    db.dispose()

    out = tmp_path / "export"
    r = runner.invoke(app, ["export", "--db", url, "--model", str(tiny_model), "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "2 FAQ entries (2 changed by editors since training), 1 reviewed examples" in r.output
    faq = yaml.safe_load((out / "faq.yml").read_text(encoding="utf-8"))["faq"]
    assert {e["id"] for e in faq} == {"fees", "desktop"} and "cost of a trade" in faq[0]["questions"]
    nlu = yaml.safe_load((out / "nlu_reviewed.yml").read_text(encoding="utf-8"))["nlu"]
    assert nlu == [{"intent": "reset_password", "examples": "- lost my pass word, mail [email]\n"}]

    merged = tmp_path / "merged"
    shutil.copytree(tiny_data_dir, merged)
    shutil.copy(out / "faq.yml", merged / "faq.yml")
    shutil.copy(out / "nlu_reviewed.yml", merged / "nlu_reviewed.yml")
    r = runner.invoke(app, ["train", "--data", str(merged), "--out", str(tmp_path / "retrained")])
    assert r.exit_code == 0, r.output

    r = runner.invoke(app, ["compare", "--model", str(tiny_model), "--model", str(tmp_path / "retrained"),
                            "--data", str(merged), "--report", str(tmp_path / "cmp")])
    assert r.exit_code == 0, r.output
    assert "McNemar" in r.output and "in_scope_accuracy" in r.output
    assert (tmp_path / "cmp" / "index.html").exists() and (tmp_path / "cmp" / "comparison.json").exists()


def test_compare_needs_two_models(tiny_model, tiny_data_dir, fake_env):
    r = runner.invoke(app, ["compare", "--model", str(tiny_model), "--data", str(tiny_data_dir)])
    assert r.exit_code != 0 and "twice" in r.output


def test_the_same_model_twice_shows_no_difference(tiny_model, tiny_data_dir, fake_env):
    r = runner.invoke(app, ["compare", "--model", str(tiny_model), "--model", str(tiny_model),
                            "--data", str(tiny_data_dir)])
    assert r.exit_code == 0, r.output
    assert "only A right 0, only B right 0, p = 1" in r.output and "regressions: none" in r.output


def test_the_retrain_script_goes_from_export_to_promotion(tmp_path, tiny_model, tiny_data_dir):
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    url = f"sqlite:///{tmp_path / 'desk.db'}"
    r = runner.invoke(app, ["export", "--db", url, "--model", str(tiny_model), "--out", str(tmp_path / "x")])
    assert r.exit_code == 1 and "not a triage database" in r.output            # a wrong database: one line
    upgrade(make_engine(url))                                                  # the desk's database
    env = {**os.environ, "TRIAGE_ENCODER": "fake:64", "TRIAGE": f"{sys.executable} -m bot.interfaces.cli"}
    run = subprocess.run(["bash", str(root / "scripts" / "retrain.sh"), "--db", url, "--registry",
                          str(tmp_path / "registry"), "--name", "week49", "--data", str(tiny_data_dir),
                          "--test", str(tiny_data_dir), "--current", str(tiny_model)],
                         cwd=root, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    for step in ("1/5 export", "2/5 merge", "3/5 train", "4/5 compare", "5/5 promote"):
        assert step in run.stdout
    assert "promoted week49@" in run.stdout
    r = runner.invoke(app, ["models", "--db", url, "--current-path"])
    assert r.output.strip() == str((tmp_path / "registry" / "week49").resolve())
    again = subprocess.run(["bash", str(root / "scripts" / "retrain.sh"), "--db", url, "--registry",
                            str(tmp_path / "registry"), "--name", "week49"], cwd=root, env=env, capture_output=True,
                           text=True, timeout=60)
    assert again.returncode == 2 and "exists already" in again.stderr
