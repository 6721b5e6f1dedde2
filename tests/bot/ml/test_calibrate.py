"""Calibration on a set of messages written apart from the training data."""
import numpy as np
import pytest

from bot.core.errors import DataError
from bot.core.settings import Settings
from bot.core.vocabulary import Complexity, IntentMeta
from bot.ml.calibrate import CalibrationReport, HeldOutScores, calibrate
from bot.ml.training import CalibrationSet, train
from bot.ml.training_data import load_calibration_data, load_training_data

CALIBRATION = """\
nlu:
- intent: reset_password
  examples: |
    - i lost my password
    - cannot recall my password at all
- intent: greet
  examples: |
    - hello hello
- intent: faq/fees
  examples: |
    - how big are your fees
- intent: out_of_scope
  examples: |
    - what time is the match
"""


def _scores(n_ok: int, n_bad: int, n_oos: int = 0, seed: int = 0) -> HeldOutScores:
    rng = np.random.default_rng(seed)
    n = n_ok + n_bad + n_oos
    truth = np.array(["a"] * n_ok + ["a"] * n_bad + ["out_of_scope"] * n_oos, dtype=object)
    pred = np.array(["a"] * n_ok + ["b"] * (n_bad + n_oos), dtype=object)
    prob = np.r_[rng.uniform(0.7, 1.0, n_ok), rng.uniform(0.2, 0.6, n_bad + n_oos)]
    return HeldOutScores(truth=truth, lang=np.array(["en"] * n, dtype=object), pred=pred, prob=prob, near=prob,
                         margin=prob / 2, retrieval_top=prob, retrieval_top_ok=pred == truth,
                         retrieval_true=np.array([]))


def test_a_set_too_small_for_the_target_says_so_and_falls_back():
    cal = calibrate(_scores(60, 10), {}, Settings(encoder="fake"), "calibration set x.yml")
    r = cal.report
    assert not r.target_supported and r.applied_target == 0.95  # 60 clean answers cannot show 99%
    assert r.best_lower_bound < 0.99 and cal.thresholds.answer < 1.0
    lines = r.describe()
    assert lines[0].startswith("thresholds rest on: calibration set x.yml, n=70")
    assert any(line.startswith("warning: these 70 messages cannot support 99.0% answer precision") for line in lines)
    # Too few even for the follow-up target: the bot confirms instead of answering.
    tiny = calibrate(_scores(8, 1), {}, Settings(encoder="fake"), "x").report
    assert tiny.applied_target is None and tiny.answer_threshold == 1.0
    assert "the bot confirms instead of answering" in tiny.describe()[-1]
    assert CalibrationReport.from_json(r.to_json()) == r


def test_a_large_clean_set_supports_the_target():
    r = calibrate(_scores(600, 20), {}, Settings(encoder="fake"), "x").report
    assert r.target_supported and r.applied_target == 0.99 and r.precision_lower_bound >= 0.99
    assert not any(line.startswith("warning") for line in r.describe())


def test_only_answerable_predictions_count_towards_answer_precision():
    meta = {"b": IntentMeta(Complexity.COMPLEX)}  # wrong predictions go to a complex intent: never answered
    r = calibrate(_scores(400, 40, seed=1), meta, Settings(encoder="fake"), "x").report
    assert r.answered_correct == r.answered  # the 40 wrong ones were escalated, not answered


def test_calibration_file_in_the_data_directory_is_not_training_data(tmp_path, tiny_data_dir, fake_embedder):
    (tiny_data_dir / "calibration.yml").write_text(CALIBRATION)
    data = load_training_data(tiny_data_dir)
    assert "i lost my password" not in {e.text for e in data.examples}
    cal = load_calibration_data(tiny_data_dir / "calibration.yml")
    assert len(cal.examples) == 5
    model = train(data, fake_embedder, Settings(encoder="fake:64"), calibration=CalibrationSet(cal, "cal.yml"))
    rep = model.report["calibration"]
    assert rep["source"] == "cal.yml" and rep["n"] == 5 and rep["n_out_of_scope"] == 1


def test_calibration_messages_are_checked_against_the_training_data(tmp_path, tiny_data_dir, fake_embedder):
    data = load_training_data(tiny_data_dir)
    bad = tmp_path / "bad.yml"
    bad.write_text("nlu:\n- intent: no_such_intent\n  examples: |\n    - hi\n")
    with pytest.raises(DataError, match=r"bad.yml:4: .*'no_such_intent', which is not an intent"):
        train(data, fake_embedder, Settings(encoder="fake:64"), calibration=CalibrationSet(load_calibration_data(bad), "b"))
    bad.write_text("nlu:\n- intent: greet\n  examples: |\n    - hello\n")
    with pytest.raises(DataError, match=r"bad.yml:4: .*is also a training example"):
        train(data, fake_embedder, Settings(encoder="fake:64"), calibration=CalibrationSet(load_calibration_data(bad), "b"))
    bad.write_text("faq:\n- id: x\n  answer: y\n  questions: [z]\n")
    with pytest.raises(DataError, match="labelled messages"):
        load_calibration_data(bad)
