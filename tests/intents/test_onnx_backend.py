"""The ONNX Runtime backend gives the PyTorch encoder's vectors, exports once, and re-exports a
damaged file."""
import os

import numpy as np
import pytest

from bot.core.errors import EncoderError
from intents.encoder import load_embedder

pytestmark = pytest.mark.slow

TEXTS = ["how do I reset my password", "pizza", "我的银行卡被冻结了怎么办",
         "a much longer message that goes on and on about a card that was charged twice " * 20]


@pytest.fixture(scope="module")
def torch_embedder():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    return load_embedder("default", backend="torch")


def test_onnx_vectors_are_the_torch_vectors(torch_embedder, tmp_path):
    onnx = load_embedder("default", cache_dir=tmp_path)
    assert onnx.backend == "onnx" and onnx.info() == torch_embedder.info()  # the same encoder to a model
    # Mixed lengths in one batch (padding), Chinese, and a text past the 256-token limit (truncation).
    a, b = onnx.embed(TEXTS), torch_embedder.embed(TEXTS)
    assert a.shape == b.shape == (len(TEXTS), 384)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert (a * b).sum(axis=1).min() > 0.99999
    one = onnx.embed([TEXTS[0]])[0]  # alone, without padding
    assert float(one @ b[0]) > 0.99999


def test_the_export_is_reused_and_a_damaged_one_is_replaced(tmp_path, monkeypatch):
    from intents import onnx_backend

    load_embedder("default", cache_dir=tmp_path).embed(["warm"])
    (onnx_file,) = tmp_path.glob("*.onnx")
    exports = []
    real_export = onnx_backend._export
    monkeypatch.setattr(onnx_backend, "_export", lambda st, path: (exports.append(path), real_export(st, path)))
    cached = load_embedder("default", cache_dir=tmp_path)
    assert np.allclose(cached.embed(TEXTS), load_embedder("default", backend="torch").embed(TEXTS), atol=1e-5)
    assert exports == [] and cached._model is None  # read from the cache, without loading PyTorch weights
    data = bytearray(onnx_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    onnx_file.write_bytes(bytes(data))  # a flipped byte: the recorded SHA-256 no longer matches
    v = load_embedder("default", cache_dir=tmp_path).embed(["again"])
    assert len(exports) == 1 and v.shape == (1, 384)
    assert not list(tmp_path.glob("*.part"))


def test_fine_tuned_weights_are_exported_with_them(torch_embedder, tmp_path):
    params = dict(torch_embedder.torch_model().named_parameters())
    name = next(n for n in params if n.endswith("output.dense.weight"))
    tuned = {name: params[name].detach().numpy() * 0.5}
    t = torch_embedder.with_tuned(tuned, "f" * 64)
    o = load_embedder("default", cache_dir=tmp_path).with_tuned(tuned, "f" * 64)
    assert o.backend == "onnx"
    a, b = o.embed(TEXTS[:2]), t.embed(TEXTS[:2])
    assert (a * b).sum(axis=1).min() > 0.99999
    assert (a * torch_embedder.embed(TEXTS[:2])).sum(axis=1).min() < 0.9999  # not the base encoder's
    assert len(list(tmp_path.glob("*.onnx"))) == 1


def test_an_unknown_backend_is_refused():
    with pytest.raises(EncoderError, match="unknown encoder backend"):
        load_embedder("default", backend="tensorflow")


def test_threads_encode_at_once(tmp_path):
    """A server encodes from several threads (the batcher, FAQ edits, the help center's search)."""
    from concurrent.futures import ThreadPoolExecutor

    emb = load_embedder("default", cache_dir=tmp_path)
    want = emb.embed(TEXTS[:3])
    with ThreadPoolExecutor(6) as pool:
        got = list(pool.map(lambda _: emb.embed(TEXTS[:3]), range(24)))
    assert all(np.allclose(g, want, atol=1e-5) for g in got)


def test_several_batches_run_on_every_core_with_the_same_vectors(tmp_path):
    """Texts spanning several batches are encoded batch-per-core on a one-thread session; the
    vectors, and their order, are those of one batch after another on the main session."""
    emb = load_embedder("default", batch_size=2, cache_dir=tmp_path)
    emb.embed(["warm"])
    encoder = emb._onnx
    texts = [f"{t} {i}" for i in range(5) for t in TEXTS]  # 20 texts of mixed lengths: 10 batches
    encoder.workers = 1
    one_by_one = emb.embed(texts)
    assert encoder._bulk is None  # every batch went to the main session
    encoder.workers = 2
    together = emb.embed(texts)
    assert encoder._bulk is not None
    assert np.allclose(together, one_by_one, atol=1e-5)
    assert float(together[3] @ emb.embed([texts[3]])[0]) > 0.99999  # row i is text i


def test_a_failing_batch_fails_the_call(tmp_path, monkeypatch):
    emb = load_embedder("default", batch_size=2, cache_dir=tmp_path)
    emb.embed(["warm"])
    encoder = emb._onnx
    encoder.workers = 2
    session, _ = encoder._bulk_runner()
    real = encoder._run
    monkeypatch.setattr(encoder, "_run", lambda s, texts, rows: (_ for _ in ()).throw(RuntimeError("boom"))
                        if "pizza" in [texts[i] for i in rows] else real(s, texts, rows))
    with pytest.raises(RuntimeError, match="boom"):
        emb.embed(TEXTS * 3)
    assert emb.embed(TEXTS[:1]).shape == (1, 384)  # the encoder still works afterwards
    # A failure early in a long job stops it: the batches queued behind it are not encoded (an
    # interrupted training must not go on encoding in the background until it can exit).
    runs = []
    monkeypatch.setattr(encoder, "_run", lambda s, texts, rows: (
        runs.append(1), (_ for _ in ()).throw(RuntimeError("boom")) if len(runs) == 1 else real(s, texts, rows))[1])
    with pytest.raises(RuntimeError, match="boom"):
        emb.embed([f"text {i}" for i in range(200)])  # 100 batches
    _, pool = encoder._bulk_runner()
    pool.submit(lambda: None).result()  # whatever was running has finished
    assert len(runs) <= 2 * encoder.workers + 1


def test_int8_precision_quantizes_the_export_once_and_is_another_encoder(tmp_path, monkeypatch):
    from intents import onnx_backend

    float_emb = load_embedder("default", cache_dir=tmp_path)
    q = load_embedder("default", cache_dir=tmp_path, precision="int8")
    a, b = q.embed(TEXTS), float_emb.embed(TEXTS)
    assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    cos = (a * b).sum(axis=1)
    assert cos.min() > 0.95 and cos.mean() > 0.98  # close to the float vectors
    assert cos.min() < 0.9999  # but not them: the weights really are 8-bit
    # A model must know which it was trained with: the same weights, another encoder.
    assert q.info().precision == "int8" and not q.info().same_encoder(float_emb.info())
    (key,) = [p.stem for p in tmp_path.glob("*.onnx") if not p.stem.endswith("-int8")]
    assert {p.name for p in tmp_path.glob("*.onnx")} == {f"{key}.onnx", f"{key}-int8.onnx"}  # beside the float one
    # Loaded again: from the cache, neither exported nor quantized again, PyTorch not loaded.
    calls = []
    monkeypatch.setattr(onnx_backend, "_export", lambda st, path: calls.append("export"))
    monkeypatch.setattr(onnx_backend, "_quantize_to", lambda *args: calls.append("quantize"))
    again = load_embedder("default", cache_dir=tmp_path, precision="int8")
    assert np.allclose(again.embed(TEXTS), a, atol=1e-6) and calls == [] and again._model is None


def test_int8_is_quantized_from_a_cached_float_export_without_pytorch(tmp_path):
    load_embedder("default", cache_dir=tmp_path).embed(["warm"])  # the float export only
    q = load_embedder("default", cache_dir=tmp_path, precision="int8")
    assert q.embed(["how do I reset my password"]).shape == (1, 384)
    assert q._model is None and len(list(tmp_path.glob("*-int8.onnx"))) == 1


def test_fine_tuned_weights_are_quantized_with_them(torch_embedder, tmp_path):
    params = dict(torch_embedder.torch_model().named_parameters())
    name = next(n for n in params if n.endswith("output.dense.weight"))
    tuned = {name: params[name].detach().numpy() * 0.5}
    plain = load_embedder("default", cache_dir=tmp_path, precision="int8").embed(TEXTS[:2])
    o = load_embedder("default", cache_dir=tmp_path, precision="int8").with_tuned(tuned, "f" * 64)
    assert o.precision == "int8" and o.info().precision == "int8"
    a, b = o.embed(TEXTS[:2]), torch_embedder.with_tuned(tuned, "f" * 64).embed(TEXTS[:2])
    assert 0.95 < (a * b).sum(axis=1).min() < 0.9999  # the tuned encoder's vectors, quantized
    assert (a * plain).sum(axis=1).min() < 0.9999  # not the base encoder's


def test_precision_is_checked():
    with pytest.raises(EncoderError, match="unknown encoder precision"):
        load_embedder("default", precision="int4")
    with pytest.raises(EncoderError, match="runs on the ONNX backend"):
        load_embedder("default", backend="torch", precision="int8")
