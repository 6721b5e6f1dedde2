"""Suggestions for editors from conversations: each source, approval through the golden gate,
dismissal that lasts, redaction."""
import pytest

from bot.core.errors import DataError, PublishRefused
from bot.support import signals
from bot.support.dialogue import Learned
from bot.support.editor import EditorService
from bot.support.learning import LearningService
from tests.factories import make_service


@pytest.fixture
def svc(db_engine, tiny_model, fake_embedder):
    return make_service(db_engine, tiny_model, fake_embedder)


def escalate(svc, text):
    cid, _ = svc.create_conversation()
    svc.send(cid, text)
    turn = svc.send(cid, "/human")
    assert turn.ticket_id
    return cid


def resolve_next(svc, tag=None):
    t = svc.claim("ann")
    return svc.close(t.id, "ann", t.claim_token, hand_back=False, tag=tag)


def test_an_agents_tag_becomes_a_phrasing_and_approving_it_makes_it_live(svc):
    escalate(svc, "what do you charge for each trade, call me on +44 7700 900123")
    resolve_next(svc, tag="fees")
    learning = LearningService(EditorService(svc))
    (group,) = learning.suggestions().phrasings
    assert group.label == "faq/fees" and group.approvable
    (sig,) = group.signals
    assert sig.kind == "agent_tagged" and "7700" not in sig.text and "[phone]" in sig.text
    version, added = learning.approve("fees", [sig.id], "ed")
    assert added == [sig.text] and version.version >= 1
    assert sig.text in svc.engine.faq_index.store.get("fees").questions        # live, no retraining
    assert svc.engine.predict_one(sig.text).intent == "faq/fees"
    assert learning.suggestions().phrasings == []                              # decided


def test_a_tag_must_name_a_known_intent_or_entry(svc):
    escalate(svc, "something odd")
    t = svc.claim("ann")
    with pytest.raises(DataError):
        svc.close(t.id, "ann", t.claim_token, hand_back=False, tag="no_such_thing")
    assert svc.known_label("faq/fees") == svc.known_label("fees") == "faq/fees"
    assert svc.known_label("reset_password") == "reset_password"


def test_intent_labels_wait_for_retraining(svc):
    with svc.db.begin() as conn:
        signals.record(conn, Learned("chose", "lost my pass word", "reset_password"), None, "en", 1.0)
    (group,) = LearningService(EditorService(svc)).suggestions().phrasings
    assert group.faq_id is None and not group.approvable


def test_unanswered_questions_are_clustered_into_draft_entries(svc):
    texts = ["when are staking rewards paid", "staking rewards paid when", "when are my staking rewards paid out",
             "close my account forever please"]
    with svc.db.begin() as conn:
        for t in texts:
            signals.record(conn, Learned("not_helped", t), None, "en", 1.0)
        signals.record(conn, Learned("not_helped", texts[0]), None, "en", 2.0)     # seen twice: counts up
    found = LearningService(EditorService(svc)).suggestions().new_entries
    staking = found[0]
    assert {s.text for s in staking.signals} == set(texts[:3]) and staking.size == 4
    assert staking.draft["questions"][0] in texts[:3] and staking.draft["id"].startswith(("when", "staking"))
    assert [s.text for c in found[1:] for s in c.signals] == [texts[3]]


def test_dismissed_suggestions_stay_dismissed(svc):
    with svc.db.begin() as conn:
        signals.record(conn, Learned("chose", "fee for trades?", "faq/fees"), None, "en", 1.0)
    learning = LearningService(EditorService(svc))
    (sig,) = learning.suggestions().phrasings[0].signals
    assert learning.dismiss([sig.id], "ed") == 1
    with svc.db.begin() as conn:                                            # asked again
        signals.record(conn, Learned("chose", "Fee for  trades?", "faq/fees"), None, "en", 2.0)
    assert learning.suggestions().phrasings == []


def test_a_phrasing_the_golden_gate_refuses_stays_open(svc):
    editor = EditorService(svc)
    editor.add_golden("I forgot my password", "reset_password", "ed")
    with svc.db.begin() as conn:
        signals.record(conn, Learned("agent_tagged", "I forgot my password", "faq/fees"), None, "en", 1.0)
    learning = LearningService(editor)
    (sig,) = learning.suggestions().phrasings[0].signals
    with pytest.raises(PublishRefused):
        learning.approve("fees", [sig.id], "ed")
    assert [s.id for s in learning.suggestions().phrasings[0].signals] == [sig.id]


def test_an_untagged_resolution_of_an_unplaced_question_is_unanswered(svc):
    cid, _ = svc.create_conversation()
    turn = svc.send(cid, "qwv zzk pplt")                          # nothing the bot knows: a ticket
    assert turn.ticket_id and svc.tickets.get(turn.ticket_id).intent is None
    resolve_next(svc)
    found = LearningService(EditorService(svc)).suggestions()
    assert [s.text for c in found.new_entries for s in c.signals] == ["qwv zzk pplt"]
    assert found.phrasings == []


def test_a_no_after_an_answer_is_recorded_in_the_turn(svc):
    cid, _ = svc.create_conversation()
    svc.send(cid, "what are the trading fees")
    svc.send(cid, "/no")
    found = LearningService(EditorService(svc)).suggestions()
    assert [s.text for c in found.new_entries for s in c.signals] == []      # a phrasing of a live entry already
    cid, _ = svc.create_conversation()
    turn = svc.send(cid, "what fees for trading crypto")
    if turn.state.value == "awaiting_confirmation" and turn.replies[-1].buttons[0].payload == "/yes":
        svc.send(cid, "/no")
        found = LearningService(EditorService(svc)).suggestions()
        assert [s.kind for c in found.new_entries for s in c.signals] == ["not_helped"]
