"""Large knowledge bases: FAQ entries answered through retrieval (one classifier class for them all)."""
import numpy as np

from bot.core.settings import Settings
from bot.core.vocabulary import FAQ_ANY
from bot.ml.engine import TriageEngine
from bot.ml.model import TriageModel
from bot.ml.training import train
from bot.ml.training_data import load_training_data
from kb_index.store import FaqEntry
from tests.conftest import TINY_NLU, write_data

MORE_FAQ = """\
faq:
- id: fees
  answer: {en: Trading costs 0.1% per trade.}
  questions: [what are the trading fees, how much is the fee per trade, trading commission, fee schedule]
- id: limits
  answer: {en: You can withdraw up to 10000 a day.}
  questions: [what is the daily withdrawal limit, how much can I withdraw per day, max withdrawal, withdrawal cap]
- id: hours
  answer: {en: Support is open around the clock.}
  questions: [when is support open, what are your opening hours, are you open at night, support hours]
"""


def test_above_the_bound_faq_entries_are_one_class_and_retrieval_names_the_entry(tmp_path, fake_embedder):
    settings = Settings(encoder="fake:64", faq_classifier_max_entries=2)     # 3 entries: above the bound
    model = train(load_training_data(write_data(tmp_path / "d", TINY_NLU, MORE_FAQ)), fake_embedder, settings)
    assert FAQ_ANY in model.classifier.classes_
    assert not any(c.startswith("faq/") for c in model.classifier.classes_)
    assert model.report["faq_answered_by"] == "retrieval"
    model.save(tmp_path / "m")
    engine = TriageEngine(TriageModel.load(tmp_path / "m"), fake_embedder)
    for text, fid in (("what is the daily withdrawal limit", "limits"), ("when is support open", "hours"),
                      ("what are the trading fees", "fees")):
        d = engine.predict_one(text)
        assert d.intent == f"faq/{fid}", (text, d.intent, d.route)
    assert engine.predict_one("hello").intent == "greet"                      # intents still classified
    engine.upsert_faq(FaqEntry("desk", ["where is the desktop app", "desktop app download"], {"en": "Website."}))
    assert engine.predict_one("where is the desktop app").intent == "faq/desk"  # an edit, no retraining


def test_below_the_bound_each_entry_is_its_own_class(tmp_path, fake_embedder):
    model = train(load_training_data(write_data(tmp_path / "d", TINY_NLU, MORE_FAQ)), fake_embedder,
                  Settings(encoder="fake:64"))
    assert {"faq/fees", "faq/limits", "faq/hours"} <= set(model.classifier.classes_)
    assert FAQ_ANY not in model.classifier.classes_ and model.report["faq_answered_by"] == "classifier"


def test_in_retrieval_mode_the_classifier_learns_from_a_sample_of_the_phrasings(tmp_path, fake_embedder):
    settings = Settings(encoder="fake:64", faq_classifier_max_entries=2, faq_sample_max=5)
    data = load_training_data(write_data(tmp_path / "d", TINY_NLU, MORE_FAQ))
    n_faq = sum(e.label.startswith("faq/") for e in data.examples)
    model = train(data, fake_embedder, settings)
    clf = model.classifier
    n_other = sum(not e.label.startswith("faq/") and e.label != "out_of_scope" for e in data.examples)
    assert n_faq == 12 and clf.train_X_.shape[0] == n_other       # no FAQ rows kept for nearness
    assert sum(len(v) for v in model.faq_vectors.values()) == 12    # retrieval holds every phrasing
    engine = TriageEngine(model, fake_embedder)
    assert engine.predict_one("how much can I withdraw per day").intent == "faq/limits"


class _Counting:
    """Wraps an embedder and records every text it is asked to encode."""

    def __init__(self, inner):
        self.inner, self.seen = inner, []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode_document(self, texts, *, progress=False):
        self.seen += list(texts)
        return self.inner.encode_document(texts, progress=progress)


def test_retraining_reuses_the_previous_models_phrasing_vectors(tmp_path, fake_embedder):
    from intents.encoder import FakeEmbedder

    settings = Settings(encoder="fake:64")
    data = load_training_data(write_data(tmp_path / "d", TINY_NLU, MORE_FAQ))
    first = train(data, fake_embedder, settings)
    edited = MORE_FAQ.replace("fee schedule", "price list for trades")
    data2 = load_training_data(write_data(tmp_path / "d2", TINY_NLU, edited))
    counting, lines = _Counting(fake_embedder), []
    second = train(data2, counting, settings, previous=first, log=lines.append)
    faq_texts = {q for e in data2.faqs for q in e.questions}
    assert "price list for trades" in counting.seen                      # the edited phrasing is encoded
    assert not (faq_texts - {"price list for trades"}) & set(counting.seen)  # the others are not
    assert any("reusing" in line for line in lines)
    fresh = train(data2, fake_embedder, settings)
    for fid, v in fresh.faq_vectors.items():
        assert np.allclose(second.faq_vectors[fid], v, atol=1e-6)
    # Another encoder's vectors are never reused.
    other, lines = _Counting(FakeEmbedder(32)), []
    train(data2, other, Settings(encoder="fake:32"), previous=first, log=lines.append)
    assert faq_texts <= set(other.seen) and any("not reusing" in line for line in lines)


def test_a_model_keeps_the_approximate_index_lists_training_found(tmp_path, fake_embedder, monkeypatch):
    """Above the approximate-search threshold, training clusters the phrasings once; the model
    keeps the lists, and loading it searches on them without clustering again."""
    from kb_index.retrieval import ApproximateIndex, FaqIndex

    monkeypatch.setattr(FaqIndex, "APPROXIMATE_ABOVE", 60)
    topics = ["invoice", "parcel", "coupon", "refund", "login", "address", "warranty", "battery", "printer", "router"]
    faq = "faq:\n" + "".join(
        f"- id: e{i}\n  answer: {{en: Answer {i}.}}\n"
        f"  questions: [how do I fix the {t} number {i}, {t} problem {i}, help with {t} {i}]\n"
        for i, t in enumerate(topics * 4))
    settings = Settings(encoder="fake:64", faq_classifier_max_entries=2)
    model = train(load_training_data(write_data(tmp_path / "d", TINY_NLU, faq)), fake_embedder, settings)
    assert model.faq_centroids is not None and model.faq_centroids.shape[1] == 64
    model.save(tmp_path / "m")
    loaded = TriageModel.load(tmp_path / "m")
    assert np.array_equal(loaded.faq_centroids, model.faq_centroids)

    def no_clustering(self, sample, seed=13):
        raise AssertionError("clustered again")

    monkeypatch.setattr(ApproximateIndex, "train", no_clustering)
    engine = TriageEngine(loaded, fake_embedder)
    assert engine.predict_one("parcel problem 21").intent == "faq/e21"
    assert isinstance(engine.faq_index._faiss, ApproximateIndex)


def test_lists_that_do_not_fit_the_vectors_are_refused_with_the_file_named(tmp_path, fake_embedder):
    import pytest

    from bot.core.errors import ModelError

    model = train(load_training_data(write_data(tmp_path / "d", TINY_NLU, MORE_FAQ)), fake_embedder,
                  Settings(encoder="fake:64", faq_classifier_max_entries=2))
    model.faq_centroids = np.zeros((16, 32), np.float32)                 # 32 dimensions, vectors have 64
    model.save(tmp_path / "m")                                           # hashes fine, content wrong
    with pytest.raises(ModelError, match="faq_centroids.safetensors does not match"):
        TriageModel.load(tmp_path / "m")
