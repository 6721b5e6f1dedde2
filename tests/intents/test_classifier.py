import numpy as np
import pytest

from bot.ml.training_data import load_training_data
from intents.classifier import IntentClassifier


@pytest.fixture
def fitted(tiny_data_dir, fake_embedder):
    data = load_training_data(tiny_data_dir)
    texts = [e.text for e in data.examples]
    X = fake_embedder.embed(texts)
    clf = IntentClassifier().fit(X, texts, [e.label for e in data.examples])
    return clf, fake_embedder


def test_fit_follows_estimator_contract(fitted):
    clf, _ = fitted
    assert clf.classes_ == sorted(clf.classes_)
    assert "out_of_scope" in clf.classes_ and "out_of_scope" not in clf.in_scope_labels
    assert clf.coef_.shape[0] == len(clf.classes_)


def test_scores_rank_the_right_intent_and_never_offer_out_of_scope(fitted):
    clf, emb = fitted
    texts = ["I forgot my password", "hello there", "what is the weather"]
    s = clf.score(emb.embed(texts), texts)
    assert s.top_labels[0][0] == "reset_password"
    assert s.top_labels[1][0] == "greet"
    assert all("out_of_scope" not in row for row in s.top_labels)
    assert np.all((s.top_raw >= 0) & (s.top_raw <= 1))
    assert np.all(np.diff(s.top_probs, axis=1) <= 0)


def test_state_round_trip_gives_identical_scores(fitted):
    clf, emb = fitted
    meta, arrays = clf.to_state()
    again = IntentClassifier.from_state(meta, arrays)
    texts = ["reset password", "hi", "交易手续费"]
    a, b = clf.score(emb.embed(texts), texts), again.score(emb.embed(texts), texts)
    assert a.top_labels == b.top_labels and np.allclose(a.top_raw, b.top_raw)


def test_needs_two_intents(fake_embedder):
    with pytest.raises(ValueError, match="two in-scope intents"):
        IntentClassifier().fit(fake_embedder.embed(["a", "b"]), ["a", "b"], ["x", "out_of_scope"])


def test_binary_problem_works(fake_embedder):
    texts = ["hello", "hi", "hey", "password reset", "forgot password", "new password"]
    labels = ["greet"] * 3 + ["pw"] * 3
    clf = IntentClassifier().fit(fake_embedder.embed(texts), texts, labels)
    s = clf.score(fake_embedder.embed(["forgot my password"]), ["forgot my password"])
    assert s.top_labels[0][0] == "pw"
