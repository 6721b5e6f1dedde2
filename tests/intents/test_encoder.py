import numpy as np
import pytest

from bot.core.errors import EncoderError
from intents.encoder import FakeEmbedder, load_embedder


def test_fake_embedder_is_deterministic_and_normalised():
    e = FakeEmbedder(32)
    a = e.embed(["reset my password", "reset my password", "weather today"])
    assert a.shape == (3, 32) and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0)
    assert np.allclose(a[0], a[1])
    assert a[0] @ a[1] > a[0] @ a[2]
    assert e.embed([]).shape == (0, 32)


def test_load_embedder_errors(tmp_path):
    with pytest.raises(EncoderError, match="not found"):
        load_embedder(str(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(EncoderError, match="not a sentence-transformers model directory"):
        load_embedder(str(tmp_path / "empty"))


def test_default_encoder_resolves_without_loading():
    e = load_embedder("default")
    assert e._model is None  # lazily loaded
    info = e.info()
    assert info.dim == 384 and len(info.weights_sha256) == 64
    assert e._model is None


@pytest.mark.slow
def test_default_encoder_loads_offline_and_embeds(real_embedder):
    v = real_embedder.encode_query(["how do I reset my password", "I forgot my password", "pizza recipe"])
    assert v.shape == (3, 384)
    assert v[0] @ v[1] > v[0] @ v[2]


@pytest.mark.slow
def test_any_model_directory_can_be_configured(tmp_path):
    """A copy of the bundled model, given by path, loads through the generic loader."""
    import shutil

    from intents.encoder import default_encoder_dir

    copy = tmp_path / "my-encoder"
    shutil.copytree(default_encoder_dir(), copy)
    e = load_embedder(str(copy))
    assert e.info().weights_sha256 == load_embedder("default").info().weights_sha256
    assert e.embed(["hello"]).shape == (1, 384)


def test_precision_is_part_of_the_encoder_identity():
    from intents.encoder import EncoderInfo

    plain = EncoderInfo(kind="sentence-transformers", name="m", dim=384, weights_sha256="a" * 64)
    q = EncoderInfo(kind="sentence-transformers", name="m", dim=384, weights_sha256="a" * 64, precision="int8")
    assert "precision" not in plain.to_json()  # a float model's record is as it always was
    assert EncoderInfo.from_json(plain.to_json()) == plain
    assert EncoderInfo.from_json(q.to_json()) == q and q.to_json()["precision"] == "int8"
    assert not plain.same_encoder(q) and q.same_encoder(EncoderInfo.from_json(q.to_json()))
    e = load_embedder("default", precision="int8")
    assert e._model is None and e._onnx is None  # still lazily loaded
    assert e.info().precision == "int8" and not e.info().same_encoder(load_embedder("default").info())
