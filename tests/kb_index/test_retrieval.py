import numpy as np

from bot.core.i18n import load_registry
from kb_index.retrieval import FaissIndex, FaqIndex, top_k
from kb_index.store import FaqEntry, FaqStore


def _unit(rng, n, d):
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_top_k_matches_brute_force():
    rng = np.random.default_rng(1)
    q, c = _unit(rng, 7, 16), _unit(rng, 40, 16)
    scores, idx = top_k(q, c, 5)
    full = q @ c.T
    for i in range(7):
        expected = np.argsort(-full[i])[:5]
        assert list(idx[i]) == list(expected)
        assert np.allclose(scores[i], full[i, expected])
    assert top_k(q, c[:0], 3)[1].shape == (7, 0)


def test_faiss_wrapper_agrees_with_top_k_and_round_trips():
    rng = np.random.default_rng(2)
    q, c = _unit(rng, 5, 32), _unit(rng, 100, 32)
    index = FaissIndex(32)
    index.add(c)
    s1, i1 = index.search(q, 10)
    s2, i2 = top_k(q, c, 10)
    assert (i1 == i2).all() and np.allclose(s1, s2, atol=1e-5)
    again = FaissIndex.from_bytes(index.to_bytes())
    assert (again.search(q, 10)[1] == i1).all()


def _entries():
    return [
        FaqEntry("fees", ["what are the trading fees", "交易手续费是多少"], {"en": "0.1%", "zh": "0.1%"}),
        FaqEntry("reset", ["how do I reset my password", "忘记密码怎么办"], {"en": "Tap forgot password"}),
    ]


def test_faq_index_finds_english_and_chinese(fake_embedder):
    index = FaqIndex(fake_embedder, load_registry()).build(_entries())
    texts = ["trading fees?", "手续费是多少", "reset password"]
    hits = index.search(fake_embedder.embed(texts), texts, k=2)
    assert [h[0].faq_id for h in hits] == ["fees", "fees", "reset"]
    assert hits[1][0].lexical > 0.3  # the character channel carries Chinese


def test_faq_edits_are_live_without_retraining(fake_embedder):
    index = FaqIndex(fake_embedder, load_registry()).build(_entries())
    q = ["how do I close my account"]
    assert index.search(fake_embedder.embed(q), q)[0][0].faq_id != "close"
    index.upsert(FaqEntry("close", ["how do I close my account", "delete my account"], {"en": "Profile > Close"}))
    assert index.search(fake_embedder.embed(q), q)[0][0].faq_id == "close"
    index.upsert(FaqEntry("close", ["cancel membership"], {"en": "changed"}))
    assert index.store.get("close").answers["en"] == "changed"
    index.delete("close")
    assert all(h.faq_id != "close" for h in index.search(fake_embedder.embed(q), q)[0])
    assert len(index.store) == 2


def test_store_json_round_trip():
    store = FaqStore(_entries())
    again = FaqStore.from_json(store.to_json())
    assert [e.to_json() for e in again] == [e.to_json() for e in store]


def test_the_index_takes_its_languages_from_the_registry_it_is_given(fake_embedder, monkeypatch):
    from bot.core import i18n

    def hidden(*a, **k):
        raise AssertionError("FaqIndex must not reach for the process-wide registry")

    monkeypatch.setattr(i18n, "registry", hidden)
    reg = load_registry()
    index = FaqIndex(fake_embedder, reg).build(_entries())
    assert index.language_weights == reg.dense_weights() and index.language_weights["zh"] == 0.0
    assert index.search(fake_embedder.embed(["交易手续费"]), ["交易手续费"], k=1)
