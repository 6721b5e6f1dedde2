from pathlib import Path

import pytest

from bot.core.errors import DataError
from bot.core.vocabulary import OUT_OF_SCOPE, Complexity, Priority
from bot.ml.training_data import load_training_data
from tests.conftest import write_data


def test_loads_rasa_nlu_and_faq(tiny_data_dir):
    data = load_training_data(tiny_data_dir)
    assert "greet" in data.labels and "faq/fees" in data.labels and OUT_OF_SCOPE in data.labels
    assert "faq/fees" in data.in_scope_labels and OUT_OF_SCOPE not in data.in_scope_labels
    texts = {e.text for e in data.examples}
    assert "reset my password now" in texts  # entity annotation stripped
    assert data.intent_meta["account_hacked"].complexity is Complexity.COMPLEX
    assert data.intent_meta["account_hacked"].priority is Priority.P0
    (fees,) = data.faqs
    assert fees.answer_for("zh").startswith("每笔") and fees.answer_for("fr").startswith("Trading")


def test_example_lines_are_reported(tiny_data_dir):
    data = load_training_data(tiny_data_dir)
    ex = next(e for e in data.examples if e.text == "hello")
    assert ex.path.name == "nlu.yml" and ex.line == 5


def test_directory_with_only_rasa_nlu(tmp_path):
    d = write_data(tmp_path / "d", faq=None)
    data = load_training_data(d)
    assert not data.faqs and len(data.in_scope_labels) == 3


def test_rasa_extras_are_ignored(tmp_path):
    d = write_data(tmp_path / "d", faq=None)
    (d / "domain.yml").write_text('version: "3.1"\nintents: [greet]\nresponses:\n  utter_greet:\n  - text: hi\n')
    (d / "extra.yml").write_text('nlu:\n- synonym: pwd\n  examples: |\n    - password\n- regex: zip\n  examples: |\n    - \\d{5}\n')
    # `intents:` as a Rasa domain list is not triage metadata: it must be a mapping, and says so.
    with pytest.raises(DataError, match="must be a mapping"):
        load_training_data(d)
    (d / "domain.yml").write_text('version: "3.1"\nresponses:\n  utter_greet:\n  - text: hi\n')
    assert len(load_training_data(d).in_scope_labels) == 3


def test_malformed_yaml_names_file_and_line(tmp_path):
    d = write_data(tmp_path / "d", faq=None)
    (d / "bad.yml").write_text("nlu:\n- intent: x\n  examples: |\n    - a\n  oops: [unclosed\n")
    with pytest.raises(DataError) as e:
        load_training_data(d)
    assert "bad.yml:" in str(e.value) and "malformed YAML" in str(e.value)
    assert e.value.line is not None and e.value.line >= 5


def test_intent_without_examples(tmp_path):
    d = write_data(tmp_path / "d", faq=None)
    (d / "more.yml").write_text("nlu:\n- intent: empty_one\n  examples: |\n")
    with pytest.raises(DataError, match="intent 'empty_one' has no examples") as e:
        load_training_data(d)
    assert e.value.path.name == "more.yml" and e.value.line == 2


def test_phrasing_under_two_intents(tmp_path):
    d = write_data(tmp_path / "d", faq=None)
    (d / "more.yml").write_text("nlu:\n- intent: other\n  examples: |\n    - x\n    - Hello\n")
    with pytest.raises(DataError, match="under two intents") as e:
        load_training_data(d)
    assert "'greet'" in str(e.value) and e.value.line == 5


def test_empty_and_missing_directories(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no .yml or .yaml files"):
        load_training_data(tmp_path / "empty")
    with pytest.raises(DataError, match="does not exist"):
        load_training_data(tmp_path / "nope")
    (tmp_path / "blank").mkdir()
    (tmp_path / "blank" / "nlu.yml").write_text("version: '3.1'\n")
    with pytest.raises(DataError, match="no intent examples"):
        load_training_data(tmp_path / "blank")


@pytest.mark.parametrize("faq, message", [
    ("faq:\n- id: a\n  questions: [q1]\n", "has no answer"),
    ("faq:\n- id: a\n  answer: x\n", "has no questions"),
    ("faq:\n- questions: [q]\n  answer: x\n", "has no 'id'"),
    ("faq:\n- id: a\n  answer: x\n  priority: P9\n  questions: [q]\n", "priority 'P9' is not one of"),
    ("faq:\n- id: a\n  answer: x\n  questions: [q]\n- id: a\n  answer: y\n  questions: [r]\n", "defined twice"),
    ("faq:\n- id: 'a b'\n  answer: x\n  questions: [q]\n", "may use only"),
])
def test_faq_errors(tmp_path, faq, message):
    d = write_data(tmp_path / "d", faq=faq)
    with pytest.raises(DataError, match=message) as e:
        load_training_data(d)
    assert e.value.path.name == "faq.yml" and e.value.line is not None


def test_priority_blocks(tmp_path):
    d = write_data(tmp_path / "d", faq=None)
    (d / "prio.yml").write_text("nlu:\n- priority: P0\n  examples: |\n    - everything is down\n    - money gone\n")
    data = load_training_data(d)
    assert [(e.text, p) for e, p in data.priority_examples] == [("everything is down", Priority.P0),
                                                               ("money gone", Priority.P0)]


def test_default_bot_data_is_valid_and_big_enough():
    from tests.conftest import ROOT

    data = load_training_data(ROOT / "training_data")
    labels = data.in_scope_labels
    assert len(labels) >= 40
    from bot.core.i18n import detect_language

    for lab in labels:
        texts = [e.text for e in data.examples if e.label == lab]
        assert sum(detect_language(t) == "en" for t in texts) >= 12, lab
        assert sum(detect_language(t) == "zh" for t in texts) >= 12, lab
    for f in data.faqs:
        assert {"en", "zh"} <= set(f.answers), f.id


def test_complexity_blocks(tmp_path):
    d = write_data(tmp_path / "d", faq=None)
    (d / "cx.yml").write_text("nlu:\n- complexity: complex\n  examples: |\n    - refund me and fix my account\n"
                              "- complexity: Weird\n  examples: |\n    - x\n")
    with pytest.raises(DataError, match="complexity 'Weird' is not one of") as e:
        load_training_data(d)
    assert e.value.line == 5
    (d / "cx.yml").write_text("nlu:\n- complexity: complex\n  examples: |\n    - refund me and fix my account\n")
    data = load_training_data(d)
    assert [(x.text, c) for x, c in data.complexity_examples] == [("refund me and fix my account", Complexity.COMPLEX)]


def test_held_out_sets_share_no_message_with_the_training_or_calibration_data():
    """The held-out evaluation sets stay held out: no message of theirs is a training example or a
    calibration message, and no calibration message is a training example."""
    from bot.ml.training_data import load_calibration_data, normalise

    root = Path(__file__).resolve().parents[3]
    data = load_training_data(root / "training_data")
    train = {normalise(e.text) for e in data.examples}
    train |= {normalise(e.text) for e, _ in data.priority_examples + data.complexity_examples}
    cal = {normalise(e.text) for e in load_calibration_data(root / "training_data" / "calibration.yml").examples}
    assert len(cal) >= 300 and not cal & train, sorted(cal & train)[:5]
    for name in ("default_bot", "zh_faq", "zh_faq_fresh", "realistic", "realistic_v2"):
        held = {normalise(e.text) for e in load_training_data(root / "eval_data" / name).examples}
        assert not held & train, (name, sorted(held & train)[:5])
        assert not held & cal, (name, sorted(held & cal)[:5])


@pytest.mark.parametrize("name", ["realistic", "realistic_v2"])
def test_the_realistic_held_out_sets_cover_every_kind_of_message(name):
    root = Path(__file__).resolve().parents[3]
    data = load_training_data(root / "training_data")
    held = load_training_data(root / "eval_data" / name)
    from bot.core.i18n import detect_language

    assert len(held.examples) >= 150
    kinds = {(data.intent_meta[e.label].complexity.value if e.label in data.intent_meta else e.label,
              detect_language(e.text)) for e in held.examples}
    assert {(k, lang) for k in ("simple", "medium", "complex", "out_of_scope") for lang in ("en", "zh")} <= kinds


def test_calibration_files_are_found_by_name_and_kept_out_of_training(tmp_path):
    from bot.ml.training_data import calibration_files, load_calibration_data

    d = write_data(tmp_path / "d")
    (d / "sub").mkdir()
    (d / "sub" / "calibration.yaml").write_text("nlu:\n- intent: greet\n  examples: |\n    - hey hey\n")
    assert calibration_files(d) == [d / "sub" / "calibration.yaml"]
    assert "hey hey" not in {e.text for e in load_training_data(d).examples}
    assert [e.text for e in load_calibration_data(calibration_files(d)).examples] == ["hey hey"]
    with pytest.raises(DataError, match="no calibration"):
        load_calibration_data([])


def test_intent_titles_and_small_talk_from_metadata(tmp_path):
    from bot.ml.training import with_titles

    d = write_data(tmp_path / "d", nlu="""\
nlu:
- intent: dispute
  metadata: {complexity: complex, title: {en: "Dispute a payment"}}
  examples: |
    - I want to dispute a payment
    - 我要对一笔付款提出争议
- intent: chat
  metadata: {domain: smalltalk}
  examples: |
    - hello there
    - 你好
""", faq=None)
    data = load_training_data(d)
    meta = with_titles(data)
    assert meta["dispute"].titles == {"en": "Dispute a payment", "zh": "我要对一笔付款提出争议"}
    assert meta["chat"].small_talk and meta["chat"].titles == {"en": "hello there", "zh": "你好"}


def test_an_faq_entry_title_is_read_per_language(tmp_path):
    from bot.ml.training_data import load_training_data

    (tmp_path / "faq.yml").write_text(
        "faq:\n- id: fees\n  title: {en: Trading fees, zh: 交易手续费}\n  answer: Costs 0.1%.\n"
        "  questions:\n    - what are the fees\n", encoding="utf-8")
    (entry,) = load_training_data(tmp_path).faqs
    assert entry.titles == {"en": "Trading fees", "zh": "交易手续费"} and entry.title_for("zh") == "交易手续费"
