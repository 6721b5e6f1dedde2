import pytest

from bot.core.errors import ConflictError, NotFoundError, PublishRefused
from bot.support.editor import EditorService
from kb_index.store import FaqEntry
from tests.factories import make_service


def _chat(db_engine, tiny_model, fake_embedder):
    return make_service(db_engine, tiny_model, fake_embedder)


@pytest.fixture
def chat(db_engine, tiny_model, fake_embedder):
    return _chat(db_engine, tiny_model, fake_embedder)


DESKTOP = FaqEntry("desktop", ["where can I download the desktop app", "desktop app download"],
                   {"en": "From our website.", "zh": "请从官网下载。"})


def test_new_entry_is_live_for_the_next_message_without_retraining(chat):
    ed = EditorService(chat)
    cid, _ = chat.create_conversation()
    ed.put(DESKTOP, "ed")
    turn = chat.send(cid, "where can I download the desktop app")
    assert turn.replies[0].text == "From our website."
    assert [a.action for a in ed.audit()] == ["publish"] and ed.audit()[0].actor == "ed"


def test_drafts_are_not_live_until_published(chat):
    ed = EditorService(chat)
    changed = FaqEntry("fees", ["what are the trading fees"], {"en": "Now 0.05%."})
    ed.save_draft(changed, "ed")
    assert chat.engine.predict_one("what are the trading fees").answer == "Trading costs 0.1% per trade."
    assert ed.try_text("what are the trading fees").answer == "Now 0.05%."  # "try it" sees the draft
    assert "fees" in ed.drafts()
    ed.publish_draft("fees", "ed")
    assert chat.engine.predict_one("what are the trading fees").answer == "Now 0.05%."
    assert ed.drafts() == {}
    with pytest.raises(ConflictError):
        ed.publish_draft("fees", "ed")


def test_versions_and_rollback(chat):
    ed = EditorService(chat)
    ed.put(FaqEntry("fees", ["what are the trading fees"], {"en": "v1"}), "ed")
    ed.put(FaqEntry("fees", ["what are the trading fees"], {"en": "v2"}), "ed")
    assert [v.version for v in ed.entry("fees").versions] == [1, 2]
    ed.rollback("fees", 1, "ed")
    assert chat.engine.predict_one("what are the trading fees").answer == "v1"
    ed.rollback("fees", 0, "ed")  # as trained
    assert chat.engine.predict_one("what are the trading fees").answer == "Trading costs 0.1% per trade."
    with pytest.raises(NotFoundError):
        ed.rollback("fees", 42, "ed")
    assert [a.action for a in ed.audit("fees")] == ["rollback", "rollback", "publish", "publish"]


def test_delete(chat):
    ed = EditorService(chat)
    ed.delete("fees", "ed")
    d = chat.engine.predict_one("what are the trading fees")
    assert d.faq_id != "fees"
    with pytest.raises(NotFoundError):
        ed.delete("fees", "ed")


def test_golden_gate_refuses_a_breaking_change_and_lists_what_broke(chat):
    ed = EditorService(chat)
    g = ed.add_golden("what are the trading fees", "faq/fees", "ed")
    with pytest.raises(PublishRefused) as e:
        ed.delete("fees", "ed")
    (b,) = e.value.broken
    assert b["golden_id"] == g.id and b["expected"] == "faq/fees" and b["got"] != "faq/fees"
    assert b["route_before"] == "answer"
    assert chat.engine.predict_one("what are the trading fees").faq_id == "fees"  # nothing changed
    from bot.core.vocabulary import Complexity

    to_person = FaqEntry("fees", ["what are the trading fees"], {"en": "ask a person"}, complexity=Complexity.COMPLEX)
    with pytest.raises(PublishRefused) as e:
        ed.put(to_person, "ed")  # same intent, but it would now escalate instead of answering
    assert e.value.broken[0]["route"] == "escalate" and e.value.broken[0]["got"] == "faq/fees"
    assert "delete_refused" in [a.action for a in ed.audit()]
    ed.put(DESKTOP, "ed")  # an unrelated change passes
    ed.delete_golden(g.id, "ed")
    ed.delete("fees", "ed")


def test_publication_reaches_another_server(db_engine, tiny_model, fake_embedder, chat):
    other = _chat(db_engine, tiny_model, fake_embedder)
    EditorService(chat).put(DESKTOP, "ed")
    cid, _ = other.create_conversation()
    assert other.send(cid, "where can I download the desktop app").replies[0].text == "From our website."


def test_did_you_mean_buttons_show_the_entrys_title_in_the_users_language(db_engine, tiny_model, fake_embedder):
    from bot.support.editor import EditorService
    from kb_index.store import FaqEntry
    from tests.factories import make_service

    svc = make_service(db_engine, tiny_model, fake_embedder)
    fees = svc.engine.faq_index.store.get("fees")
    assert svc.title("faq/fees", "zh") == "交易手续费是多少"                  # no title: a phrasing in Chinese
    EditorService(svc).put(FaqEntry("fees", fees.questions, fees.answers, tags=["fees"],
                                    titles={"en": "Trading fees", "zh": "交易手续费"}), "ed")
    assert svc.title("faq/fees", "en") == "Trading fees" and svc.title("faq/fees", "zh") == "交易手续费"
    assert svc.title("faq/fees", "ja") == "Trading fees"                     # another language: English
    assert FaqEntry.from_json(svc.engine.faq_index.store.get("fees").to_json()).titles["zh"] == "交易手续费"


def test_a_starter_golden_set_seeds_an_empty_database_once(tmp_path, db_engine, tiny_model, fake_embedder):
    from bot.core.errors import DataError
    from kb_index.repository import load_golden_file

    svc = make_service(db_engine, tiny_model, fake_embedder)
    editor = EditorService(svc)
    f = tmp_path / "golden.yml"
    f.write_text("golden:\n- question: what are the trading fees\n  expected: faq/fees\n"
                 "- question: what are the trading fees\n  expected: account_hacked\n", encoding="utf-8")
    added, skipped = editor.seed_golden(load_golden_file(f))
    assert added == 1 and skipped == ["what are the trading fees"]           # a wrong one is not seeded
    assert [g.expected for g in editor.golden()] == ["faq/fees"]
    assert editor.seed_golden(load_golden_file(f)) == (0, [])                   # only into an empty set
    g = editor.golden()[0]
    assert editor.update_golden(g.id, "trading fee please", "faq/fees", "ed").question == "trading fee please"
    with pytest.raises(DataError):
        editor.update_golden(g.id, "x", "no_such_intent", "ed")
    with pytest.raises(NotFoundError):
        editor.update_golden("missing", "x", "faq/fees", "ed")
    bad = tmp_path / "bad.yml"
    bad.write_text("golden: [ {question: x\n", encoding="utf-8")
    with pytest.raises(DataError, match="bad.yml"):
        load_golden_file(bad)


def test_the_default_bots_starter_golden_file_is_valid():
    from pathlib import Path

    from kb_index.repository import load_golden_file

    items = load_golden_file(Path(__file__).resolve().parents[3] / "training_data" / "golden.yml")
    assert len(items) >= 10 and {e for _, e in items} >= {"out_of_scope", "request_human"}
