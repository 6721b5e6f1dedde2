"""Large knowledge bases: FAQ entries answered through retrieval (one classifier class for them all)."""
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
