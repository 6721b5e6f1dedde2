"""Contrastive fine-tuning: the batching and the loss (pure), and a real tune-save-load (slow)."""
import json

import numpy as np
import pytest

from intents.finetune import batches_of, contrastive_loss, pair_epoch

LABELS = ["a"] * 5 + ["b"] * 4 + ["c"] + ["out_of_scope"] * 3


def test_an_epoch_pairs_every_in_scope_example_once_within_its_label():
    pairs = pair_epoch(LABELS, np.random.default_rng(0))
    firsts = sorted(i for p in pairs for i in p[:1]) + sorted(p[1] for p in pairs)
    assert set(firsts) == set(range(10))  # every in-scope example, no out-of-scope one
    assert all(LABELS[i] == LABELS[j] for i, j in pairs)
    assert (9, 9) in pairs  # a label of one example is paired with itself (dropout makes two views)


def test_batches_keep_one_pair_per_label_where_they_can():
    pairs = pair_epoch(LABELS, np.random.default_rng(1))
    batches = batches_of(pairs, LABELS, 3)
    assert sorted(p for b in batches for p in b) == sorted(pairs)
    assert len({LABELS[p[0]] for p in batches[0]}) == 3


def test_same_label_rows_are_masked_not_counted_as_negatives():
    torch = pytest.importorskip("torch")
    e = torch.nn.functional.normalize(torch.randn(5, 8, generator=torch.Generator().manual_seed(0)), dim=1)
    # Rows: anchors 0,1; partners 2,3; one out-of-scope negative 4. Rows 0 and 1 share a label.
    labels = ["a", "a", "a", "a", "out_of_scope"]
    base = contrastive_loss(e, labels, 2, 20.0)
    moved = e.clone()
    moved[1] = e[0]  # a same-label row identical to anchor 0 must not change anchor 0's loss...
    assert torch.isfinite(base)
    other = ["a", "b", "a", "b", "out_of_scope"]
    # ...whereas with different labels it is a hard negative and the loss rises.
    assert contrastive_loss(moved, labels, 2, 20.0) < contrastive_loss(moved, other, 2, 20.0)


@pytest.mark.slow
def test_fine_tuning_writes_hashed_weights_that_load_and_predict(tmp_path, tiny_data_dir, real_embedder):
    from bot.core.errors import ModelError
    from bot.core.settings import Settings
    from bot.ml.engine import TriageEngine
    from bot.ml.model import TUNED_FILE, TriageModel
    from bot.ml.training import train
    from bot.ml.training_data import load_training_data

    settings = Settings(fine_tune_min_steps=3, fine_tune_epochs=0.01)
    model = train(load_training_data(tiny_data_dir), real_embedder, settings, fine_tune=True)
    assert model.tuned is not None and model.report["fine_tuning"]["steps"] == 3
    assert model.tuned.base == real_embedder.info()
    texts = ["I forgot my password", "what are the trading fees", "tell me a joke"]
    before = [d.to_json() for d in TriageEngine(model, real_embedder).predict(texts)]
    model.save(tmp_path / "m")
    manifest = json.loads((tmp_path / "m" / "manifest.json").read_text())
    assert TUNED_FILE in manifest["files"] and manifest["tuned_encoder"]["base"]["name"] == "all-MiniLM-L6-v2"
    # Loaded from disk with the base encoder configured, it predicts what training measured.
    engine = TriageEngine.from_model_dir(tmp_path / "m", Settings())
    assert engine.embedder.info().weights_sha256 == model.tuned.sha256
    assert [d.to_json() for d in engine.predict(texts)] == before
    # Not the bundled encoder's embeddings any more.
    assert not np.allclose(engine.embedder.embed(texts), real_embedder.embed(texts))
    # A tampered tuned-weights file is refused.
    p = tmp_path / "m" / TUNED_FILE
    data = bytearray(p.read_bytes())
    data[-3] ^= 0xFF
    p.write_bytes(bytes(data))
    with pytest.raises(ModelError, match=TUNED_FILE):
        TriageModel.load(tmp_path / "m")


@pytest.mark.slow
def test_fine_tuning_is_deterministic_with_the_seed(tiny_data_dir, real_embedder):
    from bot.core.settings import Settings
    from bot.ml.finetuning import tune_encoder
    from bot.ml.training_data import load_training_data

    data = load_training_data(tiny_data_dir)
    texts, labels = [e.text for e in data.examples], [e.label for e in data.examples]
    s = Settings(fine_tune_min_steps=2, fine_tune_epochs=0.01)
    _, a = tune_encoder(real_embedder, texts, labels, s)
    _, b = tune_encoder(real_embedder, texts, labels, s)
    assert a.sha256 == b.sha256
