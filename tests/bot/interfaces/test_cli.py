"""Every command and every documented error, through the real command line."""
import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from bot.interfaces.cli import app
from tests.conftest import write_data

runner = CliRunner()


def triage(*args, stdin: bytes | None = None, env_extra=None):
    """Run the installed console entry point in a subprocess (real stdin/stdout)."""
    env = {**os.environ, "TRIAGE_ENCODER": "fake:64", **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "bot.interfaces.cli", *args], input=stdin, capture_output=True, env=env,
                          timeout=120)


def test_train_writes_a_model(tmp_path, tiny_data_dir, fake_env):
    r = runner.invoke(app, ["train", "--data", str(tiny_data_dir), "--out", str(tmp_path / "m")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "m" / "manifest.json").exists()
    assert "thresholds:" in r.output


def test_train_reuses_a_previous_models_vectors(tmp_path, tiny_data_dir, fake_env):
    assert runner.invoke(app, ["train", "--data", str(tiny_data_dir), "--out", str(tmp_path / "a")]).exit_code == 0
    r = runner.invoke(app, ["train", "--data", str(tiny_data_dir), "--out", str(tmp_path / "b"),
                            "--reuse", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    assert "reusing" in r.output and "texts already encoded" in r.output
    r = runner.invoke(app, ["train", "--data", str(tiny_data_dir), "--out", str(tmp_path / "c"),
                            "--reuse", str(tmp_path / "nowhere")])
    assert r.exit_code != 0 and "nowhere" in r.output and "Traceback" not in r.output


def test_train_on_a_lone_rasa_nlu_file(tmp_path, fake_env):
    d = write_data(tmp_path / "rasa", faq=None)
    r = runner.invoke(app, ["train", "--data", str(d), "--out", str(tmp_path / "m")])
    assert r.exit_code == 0, r.output


@pytest.mark.parametrize("setup, message", [
    (lambda d: (d / "x.yml").write_text("nlu:\n  - intent: a\n   bad: [\n"), "x.yml:"),
    (lambda d: (d / "x.yml").write_text("nlu:\n- intent: lonely\n  examples: |\n"), "intent 'lonely' has no examples"),
    (lambda d: (d / "x.yml").write_text("nlu:\n- intent: other\n  examples: |\n    - hello\n"), "under two intents"),
])
def test_train_data_errors_are_one_line(tmp_path, fake_env, setup, message):
    d = write_data(tmp_path / "d", faq=None)
    setup(d)
    r = runner.invoke(app, ["train", "--data", str(d), "--out", str(tmp_path / "m")])
    assert r.exit_code == 1
    assert message in r.output and r.output.startswith("error: ") and r.output.count("\n") == 1
    assert not (tmp_path / "m").exists()


def test_train_empty_directory(tmp_path, fake_env):
    (tmp_path / "e").mkdir()
    r = runner.invoke(app, ["train", "--data", str(tmp_path / "e"), "--out", str(tmp_path / "m")])
    assert r.exit_code == 1 and "no .yml or .yaml files" in r.output


def test_train_with_a_bad_encoder_directory(tmp_path, tiny_data_dir):
    r = runner.invoke(app, ["train", "--data", str(tiny_data_dir), "--out", str(tmp_path / "m"),
                            "--encoder", str(tmp_path / "no-model")])
    assert r.exit_code == 1 and "encoder directory not found" in r.output


def test_predict_contract(tiny_model):
    lines = [b'{"text": "I forgot my password"}', b"not json", b'{"text": ""}', b'{"nope": 1}',
             b'{"text": 5}', b"", b'{"text": "\xe4\xba\xa4\xe6\x98\x93\xe6\x89\x8b\xe7\xbb\xad\xe8\xb4\xb9"}',
             b'{"text": "asdf qwer zxcv"}', b"\xff\xfe"]
    r = triage("predict", "--model", str(tiny_model), stdin=b"\n".join(lines) + b"\n")
    assert r.returncode == 0, r.stderr
    out = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert len(out) == len(lines)
    ok = out[0]
    assert set(ok) == {"text", "intent", "confidence", "route", "priority", "faq_id", "candidates"}
    assert ok["text"] == "I forgot my password" and ok["intent"] == "reset_password"
    assert ok["route"] in ("answer", "confirm", "escalate") and ok["priority"] in ("P0", "P1", "P2")
    assert 0 <= ok["confidence"] <= 1 and 1 <= len(ok["candidates"]) <= 3
    assert all(set(c) == {"intent", "confidence"} for c in ok["candidates"])
    for i in (1, 2, 3, 4, 5, 8):
        assert set(out[i]) == {"error"}, out[i]
    assert out[6]["text"] == "交易手续费" and "error" not in out[6]
    assert out[7]["route"] in ("confirm", "escalate")


def test_predict_last_line_without_newline(tiny_model):
    r = triage("predict", "--model", str(tiny_model), stdin=b'{"text": "hello"}\n{"text": "hi"}')
    assert len(r.stdout.decode().splitlines()) == 2


def test_predict_exits_non_zero_only_when_the_model_cannot_load(tmp_path, tiny_model):
    r = triage("predict", "--model", str(tmp_path / "missing"), stdin=b'{"text": "hi"}\n')
    assert r.returncode == 1 and b"model directory not found" in r.stderr and r.stdout == b""
    (tiny_model / "classifier.safetensors").write_bytes(b"garbage")
    r = triage("predict", "--model", str(tiny_model), stdin=b'{"text": "hi"}\n')
    assert r.returncode == 1 and b"tampered or corrupt" in r.stderr


def test_predict_with_wrong_encoder(tiny_model):
    r = triage("predict", "--model", str(tiny_model), stdin=b'{"text": "hi"}\n', env_extra={"TRIAGE_ENCODER": "fake:32"})
    assert r.returncode == 1 and b"trained with encoder" in r.stderr


@pytest.mark.slow
def test_a_model_trained_with_the_int8_encoder_is_served_with_it(tmp_path, tiny_data_dir, monkeypatch):
    from bot.core.errors import EncoderError
    from bot.core.settings import Settings, get_settings
    from bot.interfaces import cli
    from bot.ml.engine import TriageEngine
    from intents.encoder import load_embedder

    monkeypatch.delenv("TRIAGE_ENCODER", raising=False)  # the bundled encoder
    monkeypatch.setattr(cli, "INT8_HINT_ABOVE", 0)  # as if the tiny base were a large one
    get_settings.cache_clear()
    try:
        r = runner.invoke(app, ["train", "--data", str(tiny_data_dir), "--out", str(tmp_path / "m"),
                                "--encoder-precision", "int8"])
        plain = runner.invoke(app, ["train", "--data", str(tiny_data_dir), "--out", str(tmp_path / "f")])
    finally:
        get_settings.cache_clear()
    assert r.exit_code == 0, r.output
    assert "hint:" not in r.output and "--encoder-precision int8" in plain.output  # suggested to the float one
    assert json.loads((tmp_path / "m" / "config.json").read_text())["encoder"]["precision"] == "int8"
    # Served with the precision it recorded, though nothing else says int8.
    r = triage("predict", "--model", str(tmp_path / "m"), stdin=b'{"text": "I forgot my password"}\n',
               env_extra={"TRIAGE_ENCODER": "default", "HF_HUB_OFFLINE": "1"})
    assert r.returncode == 0, r.stderr
    assert "error" not in json.loads(r.stdout) and json.loads(r.stdout)["route"]
    with pytest.raises(EncoderError, match="int8.*float32"):  # handed a float encoder: refused, saying why
        TriageEngine.from_model_dir(tmp_path / "m", Settings(encoder="default"), load_embedder("default"))


def test_predict_in_process_runner(tiny_model, fake_env):
    r = runner.invoke(app, ["predict", "--model", str(tiny_model)], input='{"text": "hello"}\nbad\n')
    assert r.exit_code == 0
    lines = r.stdout.splitlines()
    assert json.loads(lines[0])["intent"] == "greet" and "error" in json.loads(lines[1])


def test_evaluate_with_report(tmp_path, tiny_model, tiny_data_dir, fake_env):
    out = tmp_path / "report"
    r = runner.invoke(app, ["evaluate", "--model", str(tiny_model), "--data", str(tiny_data_dir), "--report", str(out)])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout[: r.stdout.rindex("}") + 1])
    for key in ("in_scope_accuracy", "out_of_scope_recall", "answer_coverage", "answer_precision",
                "out_of_scope_answered", "priority_confusion"):
        assert key in summary
    assert summary["in_scope_accuracy"] > 0.8  # it was trained on these
    for name in ("index.html", "report.json", "confusion_matrix.png", "risk_coverage.png", "misclassified.jsonl"):
        assert (out / name).exists(), name
    full = json.loads((out / "report.json").read_text())
    assert {s["intent"] for s in full["per_intent"]} >= {"greet", "reset_password", "faq/fees"}
    assert "risk_coverage.png" in (out / "index.html").read_text()


def test_cross_validation(tmp_path, tiny_data_dir, fake_env):
    r = runner.invoke(app, ["evaluate", "--data", str(tiny_data_dir), "--cross-validation", "3"])
    assert r.exit_code == 0, r.output
    assert '"n": ' in r.stdout and "fold 3/3" in r.output


def test_evaluate_needs_model_or_cv(tiny_data_dir, fake_env):
    r = runner.invoke(app, ["evaluate", "--data", str(tiny_data_dir)])
    assert r.exit_code != 0 and "--cross-validation" in r.output


def test_evaluate_missing_model(tmp_path, tiny_data_dir, fake_env):
    r = runner.invoke(app, ["evaluate", "--model", str(tmp_path / "x"), "--data", str(tiny_data_dir)])
    assert r.exit_code == 1 and "model directory not found" in r.output


def test_chat_shows_decisions(tiny_model, fake_env):
    r = runner.invoke(app, ["chat", "--model", str(tiny_model)], input="I forgot my password\nmy account was hacked\n\n")
    assert r.exit_code == 0, r.output
    assert "reset_password" in r.output and "priority=" in r.output and "candidates:" in r.output
    assert "ESCALATE" in r.output and "P0" in r.output


def test_chat_missing_model(tmp_path, fake_env):
    r = runner.invoke(app, ["chat", "--model", str(tmp_path / "x")])
    assert r.exit_code == 1 and "model directory not found" in r.output


def test_predict_accepts_context(tiny_model):
    lines = [b'{"text": "hello", "context": {"tier": "vip", "returns_24h": 4}}', b'{"text": "hello", "context": 5}',
             b'{"text": "hello", "context": {"returns_24h": "many"}}']
    r = triage("predict", "--model", str(tiny_model), stdin=b"\n".join(lines) + b"\n")
    out = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert out[0]["priority"] == "P1" and "error" in out[1] and "error" in out[2]


def test_train_prints_what_the_thresholds_rest_on(tmp_path, tiny_data_dir, fake_env):
    from tests.bot.ml.test_calibrate import CALIBRATION

    r = runner.invoke(app, ["train", "--data", str(tiny_data_dir), "--out", str(tmp_path / "m")])
    assert "thresholds rest on: 5-fold out-of-fold scores of the training data, n=" in r.output
    (tiny_data_dir / "calibration.yml").write_text(CALIBRATION)
    r = runner.invoke(app, ["train", "--data", str(tiny_data_dir), "--out", str(tmp_path / "m")])
    assert r.exit_code == 0, r.output
    assert "5 calibration messages" in r.output
    assert f"thresholds rest on: calibration set {tiny_data_dir / 'calibration.yml'}, n=5" in r.output
    assert "warning: these 5 messages cannot support 99.0% answer precision" in r.output
    elsewhere = tmp_path / "cal"
    elsewhere.mkdir()
    (elsewhere / "more.yml").write_text(CALIBRATION)
    r = runner.invoke(app, ["train", "--data", str(tiny_data_dir), "--out", str(tmp_path / "m2"),
                            "--calibrate-on", str(elsewhere)])
    assert f"thresholds rest on: calibration set {elsewhere}, n=5" in r.output
    r = runner.invoke(app, ["evaluate", "--model", str(tmp_path / "m"), "--data", str(tiny_data_dir)])
    assert r.exit_code == 0 and "thresholds rest on: calibration set" in r.output
    assert '"calibration"' in r.output and '"by_complexity"' in r.output


def test_fine_tuning_a_fake_encoder_is_a_clear_error(tmp_path, tiny_data_dir, fake_env):
    r = runner.invoke(app, ["train", "--data", str(tiny_data_dir), "--out", str(tmp_path / "m"), "--fine-tune"])
    assert r.exit_code == 1 and "cannot be fine-tuned" in r.output
