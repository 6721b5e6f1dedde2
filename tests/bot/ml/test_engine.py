import threading

from bot.ml.engine import TriageEngine
from bot.ml.model import TriageModel
from bot.ml.policy import Route
from kb_index.store import FaqEntry
from tests.factories import triage_engine


def _engine(tiny_model, fake_embedder):
    return triage_engine(tiny_model, fake_embedder)


def test_known_and_unknown(tiny_model, fake_embedder):
    e = _engine(tiny_model, fake_embedder)
    known, hacked = e.predict(["I forgot my password", "my account was hacked"])
    assert known.intent == "reset_password" and known.route in (Route.ANSWER, Route.CONFIRM)
    assert hacked.route is Route.ESCALATE and hacked.priority.value == "P0"


def test_exact_faq_question_is_answered_in_its_language(tiny_model, fake_embedder):
    e = _engine(tiny_model, fake_embedder)
    en, zh = e.predict(["what are the trading fees", "交易手续费是多少"])
    assert en.route is Route.ANSWER and en.faq_id == "fees" and en.answer.startswith("Trading")
    assert zh.route is Route.ANSWER and zh.lang == "zh" and zh.answer.startswith("每笔")


def test_faq_edit_is_live_without_retraining(tiny_model, fake_embedder):
    e = _engine(tiny_model, fake_embedder)
    q = "where can I download the desktop app"
    assert e.predict_one(q).faq_id != "desktop"
    e.upsert_faq(FaqEntry("desktop", [q, "desktop app download"], {"en": "From our website."}))
    d = e.predict_one(q)
    assert d.faq_id == "desktop" and d.route is Route.ANSWER and d.answer == "From our website."
    e.upsert_faq(FaqEntry("fees", ["what are the trading fees"], {"en": "Now 0.05%."}))
    assert e.predict_one("what are the trading fees").answer == "Now 0.05%."
    e.delete_faq("fees")
    d = e.predict_one("what are the trading fees")
    assert d.faq_id != "fees" and all(c.faq_id != "fees" for c in d.candidates)


def test_batch_and_single_agree(tiny_model, fake_embedder):
    e = _engine(tiny_model, fake_embedder)
    texts = ["hello", "reset my password", "tell me a joke", "fee schedule"]
    assert [d.to_json() for d in e.predict(texts)] == [e.predict_one(t).to_json() for t in texts]
    assert e.predict([]) == []
    # Encoded beside the text-only work, or handed over already encoded: the same decisions.
    X = fake_embedder.encode_query(texts)
    assert [d.to_json() for d in e.predict(texts, embeddings=X)] == [d.to_json() for d in e.predict(texts)]



def test_a_large_batch_is_searched_in_two_halves_with_the_same_decisions(tiny_model, fake_embedder, monkeypatch):
    e = _engine(tiny_model, fake_embedder)
    texts = ["hello", "reset my password", "tell me a joke", "fee schedule", "what are the trading fees",
             "交易手续费是多少", "my account was hacked"]
    whole = [d.to_json() for d in e.predict(texts)]
    calls = []
    search = type(e.faq_index).search_near
    monkeypatch.setattr(type(e.faq_index), "search_near", lambda self, X, t, *a, **k: calls.append(len(t)) or
                        search(self, X, t, *a, **k))
    monkeypatch.setattr(TriageEngine, "SPLIT_SEARCH_FROM", 3)
    assert [d.to_json() for d in e.predict(texts)] == whole
    assert sorted(calls) == [3, 4]                                       # searched in two halves


def test_the_models_scored_beside_the_faq_search_decide_the_same(tiny_model, fake_embedder, monkeypatch):
    e = _engine(tiny_model, fake_embedder)
    texts = ["hello", "reset my password", "what are the trading fees", "交易手续费是多少", "my account was hacked"]
    inline = [d.to_json() for d in e.predict(texts)]
    threads = []
    scores = TriageEngine._model_scores
    monkeypatch.setattr(TriageEngine, "_model_scores", lambda self, *a: threads.append(threading.current_thread())
                        or scores(self, *a))
    monkeypatch.setattr(TriageEngine, "OVERLAP_SEARCH_FROM", 0)     # as on a large knowledge base
    assert [d.to_json() for d in e.predict(texts)] == inline
    assert threads and threads[0] is not threading.current_thread()  # scored on a text thread


PRIORITIES = """\
nlu:
- priority: P0
  examples: |
    - all my money is gone from the account
    - someone stole my money
    - my money vanished from my wallet
    - the whole service is down for everyone
    - everything is down nobody can log in
    - money missing and stolen
- priority: P1
  examples: |
    - my withdrawal is late
    - the app crashes on my phone
    - my order keeps failing
    - verification keeps failing
- priority: P2
  examples: |
    - what are the trading fees
    - how do I change my password
    - where do I download the app
    - what are your opening hours
"""


def test_urgency_raises_priority_explains_it_and_p0_is_never_answered(tmp_path, fake_embedder, settings):
    from bot.ml.training import train
    from bot.ml.training_data import load_training_data
    from escalation.urgency import Context
    from tests.conftest import write_data

    d = write_data(tmp_path / "d")
    (d / "priorities.yml").write_text(PRIORITIES)
    model = train(load_training_data(d), fake_embedder, settings)
    assert model.urgency is not None and model.report["urgency"]["n_priority_examples"] == 14
    model.save(tmp_path / "m")
    e = TriageEngine(TriageModel.load(tmp_path / "m"), fake_embedder)
    urgent = e.predict_one("the whole service is down for everyone today")
    assert urgent.intent != "account_hacked"  # not a P0 intent: the raise comes from the message
    assert urgent.priority.value == "P0" and urgent.route is Route.ESCALATE and urgent.answer is None
    assert any(r.startswith("P2 → P0: urgent message") for r in urgent.reasons), urgent.reasons
    calm = e.predict_one("what are the trading fees")
    assert calm.priority.value == "P2" and calm.route is Route.ANSWER
    vip = e.predict_one("what are the trading fees", Context(tier="vip"))
    assert vip.priority.value == "P1" and "P2 → P1: vip customer" in vip.reasons


COMPLEXITY = """\
nlu:
- complexity: complex
  examples: |
    - refund my fee and reverse yesterday's trade and unlock my account
    - reverse the trade and refund everything you charged
    - my deposit is missing and my withdrawal failed and my account is locked
    - change the date of birth on my account and merge my two accounts
    - refund me, reverse it, and explain why you froze me
    - reverse my transfer and refund the fee and unlock me
"""


def test_a_complex_message_goes_to_a_person_even_with_a_simple_intent(tmp_path, fake_embedder, settings):
    from bot.core.vocabulary import Complexity
    from bot.ml.training import train
    from bot.ml.training_data import load_training_data
    from tests.conftest import write_data

    d = write_data(tmp_path / "d")
    (d / "complexity.yml").write_text(COMPLEXITY)
    model = train(load_training_data(d), fake_embedder, settings)
    assert model.complexity is not None and model.report["complexity"]["n"] > 6
    e = TriageEngine(model, fake_embedder)
    hard = e.predict_one("reverse the trade, refund the fee and unlock my account")
    assert hard.complexity is Complexity.COMPLEX and hard.route is Route.ESCALATE
    assert any(r.startswith("complex message") for r in hard.reasons)
    easy = e.predict_one("what are the trading fees")
    assert easy.complexity is Complexity.SIMPLE and easy.route is Route.ANSWER


def test_the_faq_index_is_built_once_even_when_two_threads_ask_at_once(tiny_model, fake_embedder, monkeypatch):
    """Two threads each building one lost the edits applied to the first (found by the
    concurrent-publication test)."""
    import threading
    import time

    from bot.ml.engine import TriageEngine
    from bot.ml.model import TriageModel
    from kb_index.retrieval import FaqIndex

    build = FaqIndex.build

    def slow_build(self, *a, **kw):
        time.sleep(0.2)
        return build(self, *a, **kw)
    monkeypatch.setattr(FaqIndex, "build", slow_build)
    engine = TriageEngine(TriageModel.load(tiny_model), fake_embedder)
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(engine.faq_index)) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(ix) for ix in seen}) == 1


def test_the_model_vectors_are_read_from_the_faq_index_once_it_is_built(tiny_model, fake_embedder):
    import numpy as np

    e = _engine(tiny_model, fake_embedder)
    loaded = {fid: v.copy() for fid, v in e.model.faq_vectors.items()}
    index = e.faq_index
    assert set(e.model.faq_vectors) == set(loaded)
    for fid, v in e.model.faq_vectors.items():                # the same vectors, held once
        assert np.array_equal(v, loaded[fid]) and np.shares_memory(v, index._buf)
