"""Languages are data: built-in English and Chinese, and a language added by a directory of files."""
import textwrap

import pytest

from bot.core import i18n as locales
from bot.core.errors import DataError
from bot.core.i18n import load_registry
from bot.core.settings import Settings
from bot.ml.engine import TriageEngine
from bot.ml.model import TriageModel
from bot.ml.training import train
from bot.ml.training_data import load_training_data
from bot.support.service import ChatService
from tests.conftest import TINY_NLU, write_data

SPANISH = """\
language: es
name: Español
detect:
  scripts: [latin]
  words: [el, la, los, las, que, de, mi, "no", cómo, cuáles, por, qué, son, puedo, quiero, una]
clause_markers: [además]
strings:
  "solved?": "¿Se ha resuelto?"
  "yes": "Sí"
  "no": "No"
  handoff: "He pasado su conversación a nuestro equipo."
"""

JAPANESE = """\
language: ja
detect:
  scripts: [kana, han]
  words: [です, ます, の, は, を]
strings:
  "solved?": "解決しましたか？"
"""


@pytest.fixture
def extra_locales(tmp_path):
    d = tmp_path / "locales"
    d.mkdir()
    (d / "es.yml").write_text(SPANISH, encoding="utf-8")
    (d / "ja.yml").write_text(JAPANESE, encoding="utf-8")
    reg = load_registry(d)
    locales.use(reg)
    yield reg
    locales.use(None)


@pytest.mark.parametrize("text, lang", [
    ("how do I reset my password", "en"),
    ("交易手续费是多少", "zh"),
    ("API Secret丢了", "zh"),          # half its units are Han characters
    ("my account 账户 is locked since yesterday", "en"),  # a quarter Han: English
    ("", "en"), ("12345", "en"),
])
def test_builtin_detection(text, lang):
    assert load_registry().detect(text) == lang


def test_builtin_strings_cover_every_key_in_both_languages():
    reg = load_registry()
    assert set(reg.by_code) == {"en", "zh"}
    assert set(reg.get("zh").strings) == set(reg.get("en").strings)
    assert reg.text("zh", "eta_minutes", minutes=30) == "客服将在约30分钟内回复。"
    assert reg.text("fr", "solved?") == "Did this solve it?"  # unknown language: the default


def test_a_language_added_by_files_alone_is_detected_and_spoken(extra_locales):
    reg = extra_locales
    assert reg.detect("¿Cómo puedo cambiar mi contraseña?") == "es"
    assert reg.detect("quiero hablar con una persona") == "es"
    assert reg.detect("how do I change my password") == "en"
    assert reg.detect("パスワードを忘れました") == "ja"
    assert reg.detect("我忘记密码了") == "zh"          # Han only: Chinese, not Japanese
    assert reg.text("es", "solved?") == "¿Se ha resuelto?"
    assert reg.text("es", "rephrase").startswith("Sorry")   # left out: falls back to English
    assert reg.text("es", "handoff").endswith("equipo.")


def test_added_clause_markers_split_messages(extra_locales):
    from bot.core.i18n import split_clauses

    assert split_clauses("¿cuáles son las comisiones? además me robaron la cuenta") == [
        "¿cuáles son las comisiones?", "me robaron la cuenta"]


def test_service_answers_an_added_language_in_that_language(tmp_path, extra_locales, db_engine, fake_embedder):
    faq = textwrap.dedent("""\
        faq:
        - id: fees
          answer:
            en: Trading costs 0.1% per trade.
            es: La comisión es del 0,1 % por operación.
          questions:
            - what are the trading fees
            - how much is the fee per trade
            - trading commission
            - cuáles son las comisiones de trading
            - cuánto cuesta cada operación
        """)
    data = write_data(tmp_path / "data", TINY_NLU, faq)
    settings = Settings(encoder="fake:64")
    model = train(load_training_data(data), fake_embedder, settings)
    model.save(tmp_path / "m")
    service = ChatService(TriageEngine(TriageModel.load(tmp_path / "m"), fake_embedder), db_engine, settings)
    cid, _ = service.create_conversation()
    turn = service.send(cid, "cuáles son las comisiones de trading")
    assert [r.text for r in turn.replies] == ["La comisión es del 0,1 % por operación.", "¿Se ha resuelto?"]
    assert [b.title for b in turn.replies[1].buttons][:2] == ["Sí", "No"]


@pytest.mark.parametrize("body, message", [
    ("language: es\nstrings: {nonsense: x}\n", "unknown string 'nonsense'"),
    ("language: es\nstrings: {handoff: 'a {queue}'}\n", "uses ['queue']"),
    ("language: es\nstrings:\n  yes: Sí\n", "quote True"),
    ("language: es\ndetect: {scripts: [klingon]}\n", "unknown scripts"),
    ("language: Spanish\n", "language code"),
    ("language: es\nstrings: [\n", "es.yml:3"),
])
def test_bad_locale_files_are_refused_with_the_file_named(tmp_path, body, message):
    (tmp_path / "es.yml").write_text(body, encoding="utf-8")
    with pytest.raises(DataError) as err:
        load_registry(tmp_path)
    assert message in str(err.value) and "es.yml" in str(err.value)
