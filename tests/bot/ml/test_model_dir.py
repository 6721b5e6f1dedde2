import json

import pytest

from bot.core.errors import EncoderError, ModelError
from bot.ml.engine import TriageEngine
from bot.ml.model import TriageModel
from intents.encoder import FakeEmbedder


def test_round_trip_predicts_identically(tiny_model, settings):
    a = TriageEngine.from_model_dir(tiny_model, settings, FakeEmbedder(64))
    b = TriageEngine(TriageModel.load(tiny_model), FakeEmbedder(64))
    texts = ["I forgot my password", "交易手续费是多少", "random words"]
    assert [d.to_json() for d in a.predict(texts)] == [d.to_json() for d in b.predict(texts)]


def test_no_pickle_in_model_dir(tiny_model):
    names = sorted(p.name for p in tiny_model.iterdir())
    assert names == ["classifier.json", "classifier.safetensors", "config.json", "faq.json", "faq_index.faiss",
                     "manifest.json"]
    for p in tiny_model.iterdir():
        assert not p.read_bytes().startswith(b"\x80")  # pickle protocol marker


def test_missing_model_dir(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        TriageModel.load(tmp_path / "nope")


def test_directory_without_manifest(tmp_path):
    (tmp_path / "m").mkdir()
    with pytest.raises(ModelError, match="manifest.json is missing"):
        TriageModel.load(tmp_path / "m")


def test_tampered_file_is_refused(tiny_model):
    p = tiny_model / "config.json"
    cfg = json.loads(p.read_text())
    cfg["thresholds"]["answer"] = 0.0
    p.write_text(json.dumps(cfg))
    with pytest.raises(ModelError, match="tampered or corrupt model: config.json"):
        TriageModel.load(tiny_model)


def test_missing_file_is_refused(tiny_model):
    (tiny_model / "faq_index.faiss").unlink()
    with pytest.raises(ModelError, match="faq_index.faiss is missing"):
        TriageModel.load(tiny_model)


def test_corrupt_manifest_is_refused(tiny_model):
    (tiny_model / "manifest.json").write_text("{not json")
    with pytest.raises(ModelError, match="not valid JSON"):
        TriageModel.load(tiny_model)


def test_rehashed_garbage_is_reported_as_corrupt(tiny_model):
    import hashlib

    (tiny_model / "classifier.json").write_text("[]")
    m = json.loads((tiny_model / "manifest.json").read_text())
    m["files"]["classifier.json"] = hashlib.sha256(b"[]").hexdigest()
    (tiny_model / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ModelError, match="corrupt model"):
        TriageModel.load(tiny_model)


def test_other_encoder_is_refused(tiny_model, settings):
    with pytest.raises(EncoderError, match="trained with encoder 'fake-64'"):
        TriageEngine.from_model_dir(tiny_model, settings, FakeEmbedder(32))


def test_threshold_overrides_from_settings(tiny_model, settings):
    s = settings.model_copy(update={"answer_threshold": 0.0, "confirm_threshold": 0.0})
    engine = TriageEngine.from_model_dir(tiny_model, s, FakeEmbedder(64))
    assert engine.thresholds.answer == 0.0
    d = engine.predict_one("hello")
    assert d.route.value == "answer" and d.intent == "greet"
