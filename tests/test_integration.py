"""End to end with the real bundled encoder: the default bot and a plain Rasa file."""
import json
import os
import subprocess
import sys

import pytest

from bot.core.settings import Settings
from bot.ml.engine import TriageEngine
from bot.ml.policy import Route
from bot.ml.training import calibration_set, train
from bot.ml.training_data import load_training_data
from tests.conftest import ROOT, write_data

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def default_bot(real_embedder):
    # As `triage train --data training_data` does it: calibrated on training_data/calibration.yml;
    # with about 34 examples per intent, the encoder is not fine-tuned (auto).
    data = ROOT / "training_data"
    model = train(load_training_data(data), real_embedder, Settings(), calibration=calibration_set(data))
    assert model.tuned is None and model.report["calibration"]["source"].startswith("calibration set")
    return TriageEngine(model, real_embedder)


@pytest.mark.parametrize("text, faq_id", [
    ("How do I reset my password", "reset_password"),
    ("how do I turn on two-factor authentication", "enable_2fa"),
    ("what are your trading fees", "trading_fees"),
    ("怎么重置密码", "reset_password"),
    ("交易手续费是多少", "trading_fees"),
    ("在哪里下载App", "app_download"),
])
def test_known_questions_are_answered_in_both_languages(default_bot, text, faq_id):
    d = default_bot.predict_one(text)
    assert d.route is Route.ANSWER, d
    assert d.faq_id == faq_id
    assert d.answer == next(f for f in default_bot.model.faqs if f.id == faq_id).answer_for(d.lang)


@pytest.mark.parametrize("text, faq_id", [
    ("I can't remember the password for my account", "reset_password"),
    ("what is the fee for trading", "trading_fees"),
    ("my withdrawal has been pending since yesterday", "withdrawal_delayed"),
])
def test_paraphrases_find_the_right_entry(default_bot, text, faq_id):
    d = default_bot.predict_one(text)
    assert d.faq_id == faq_id and d.route in (Route.ANSWER, Route.CONFIRM)


@pytest.mark.parametrize("text", ["purple elephants dance on the moon tonight", "what's the best lasagne recipe",
                                  "asdkjh qwe zzxq", "今天晚上吃什么好呢"])
def test_nonsense_and_unrelated_questions_escalate(default_bot, text):
    d = default_bot.predict_one(text)
    assert d.route is Route.ESCALATE and d.intent is None and d.faq_id is None


@pytest.mark.parametrize("text, intent", [("someone hacked my account and changed my email", "account_hacked"),
                                          ("我的账户被盗了", "account_hacked"),
                                          ("I want to speak to a human", "request_human")])
def test_human_intents_escalate_with_priority(default_bot, text, intent):
    d = default_bot.predict_one(text)
    assert d.route is Route.ESCALATE and d.intent == intent
    assert d.priority.value == ("P0" if intent == "account_hacked" else "P2")


def test_a_plain_rasa_file_trains_and_predicts_through_the_cli(tmp_path):
    d = write_data(tmp_path / "rasa", faq=None)
    env = {**os.environ, "TRIAGE_ENCODER": "default"}
    r = subprocess.run([sys.executable, "-m", "bot.interfaces.cli", "train", "--data", str(d), "--out", str(tmp_path / "m")],
                       capture_output=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    r = subprocess.run([sys.executable, "-m", "bot.interfaces.cli", "predict", "--model", str(tmp_path / "m")],
                       input=b'{"text": "I forgot my password"}\n{"text": "hello"}\n', capture_output=True, env=env,
                       timeout=600)
    assert r.returncode == 0, r.stderr.decode()[-2000:]
    out = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert [o["intent"] for o in out] == ["reset_password", "greet"]


def test_held_out_p0_messages_always_go_to_a_person(default_bot):
    """Behaviour, not a benchmark: none of the held-out P0 messages is answered or merely confirmed."""
    ev = load_training_data(ROOT / "eval_data" / "default_bot")
    p0 = [e.text for e, p in ev.priority_examples if p.value == "P0"]
    decisions = default_bot.predict(p0)
    assert all(d.route is Route.ESCALATE for d in decisions if d.priority.value == "P0")
    assert sum(d.route is not Route.ESCALATE for d in decisions) == 0, [d.text for d in decisions
                                                                        if d.route is not Route.ESCALATE]


@pytest.mark.parametrize("text", ["hello there", "thanks, that helped a lot", "bye for now", "你好啊", "谢谢你的帮助"])
def test_small_talk_is_answered_at_once(default_bot, text):
    d = default_bot.predict_one(text)
    assert d.route is Route.ANSWER and d.small_talk, (d.route, d.intent, d.reasons)


def test_every_intent_has_a_title_in_both_languages(default_bot):
    from bot.core.i18n import detect_language

    for label, meta in default_bot.model.meta.items():
        if label.startswith("faq/"):
            continue
        assert detect_language(meta.titles["zh"]) == "zh" and detect_language(meta.titles["en"]) == "en", label
