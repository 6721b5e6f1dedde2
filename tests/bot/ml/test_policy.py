from bot.core.vocabulary import Complexity, IntentMeta, Priority
from bot.ml.policy import (
    Candidate,
    PolicyConfig,
    Route,
    Thresholds,
    decide,
    merge_candidates,
)
from kb_index.retrieval import Hit
from kb_index.store import FaqEntry, FaqStore

TH = Thresholds(answer=0.8, confirm=0.4, retrieval_floor=0.5)
CFG = PolicyConfig(TH)
STORE = FaqStore([FaqEntry("fees", ["what are the fees"], {"en": "0.1%", "zh": "百分之0.1"}, priority=Priority.P2)])
META = {
    "faq/fees": IntentMeta(Complexity.SIMPLE, Priority.P2),
    "account_hacked": IntentMeta(Complexity.COMPLEX, Priority.P0),
    "login_help": IntentMeta(Complexity.MEDIUM, Priority.P1),
    "greet": IntentMeta(),
}


def hit(fid="fees", score=0.7):
    return Hit(fid, score, score, score, "what are the fees")


def test_confident_faq_with_retrieval_support_is_answered_in_the_users_language():
    d = decide("手续费", "zh", [Candidate("faq/fees", 0.9, "fees")], {"fees": hit()}, META, STORE, CFG)
    assert d.route is Route.ANSWER and d.faq_id == "fees" and d.answer == "百分之0.1"
    assert d.priority is Priority.P2


def test_classifier_alone_cannot_answer_an_faq_the_retriever_does_not_back():
    d = decide("x", "en", [Candidate("faq/fees", 0.95, "fees")], {"fees": hit(score=0.2)}, META, STORE, CFG)
    assert d.route is Route.CONFIRM
    assert any("retrieval score" in r for r in d.reasons)
    d = decide("x", "en", [Candidate("faq/fees", 0.95, "fees")], {}, META, STORE, CFG)
    assert d.route is Route.CONFIRM


def test_medium_confidence_confirms():
    d = decide("hi", "en", [Candidate("greet", 0.6)], {}, META, STORE, CFG)
    assert d.route is Route.CONFIRM and d.intent == "greet"


def test_low_confidence_escalates_as_out_of_scope():
    d = decide("??", "en", [Candidate("greet", 0.2)], {}, META, STORE, CFG)
    assert d.route is Route.ESCALATE and d.intent is None and d.faq_id is None
    assert d.priority is Priority.P2 and d.confidence == 0.2
    assert decide("??", "en", [], {}, META, STORE, CFG).route is Route.ESCALATE


def test_complex_always_goes_to_a_person_with_its_priority():
    d = decide("hacked", "en", [Candidate("account_hacked", 0.99)], {}, META, STORE, CFG)
    assert d.route is Route.ESCALATE and d.intent == "account_hacked" and d.priority is Priority.P0


def test_medium_complexity_is_capped_at_confirm():
    d = decide("login", "en", [Candidate("login_help", 0.99)], {}, META, STORE, CFG)
    assert d.route is Route.CONFIRM and d.priority is Priority.P1


def test_exact_faq_phrasing_is_answered():
    d = decide("what are the fees", "en", [Candidate("greet", 0.5)], {"fees": hit(score=0.99)}, META, STORE, CFG)
    assert d.route is Route.ANSWER and d.faq_id == "fees" and d.intent == "faq/fees"


def test_merge_drops_deleted_faqs_and_adds_new_ones():
    store = FaqStore([FaqEntry("new", ["brand new question"], {"en": "new answer"})])
    cands = merge_candidates([("faq/gone", 0.9), ("greet", 0.5)], [(hit("new", 0.8), 0.7)], {"faq/gone", "greet"}, store)
    assert [c.intent for c in cands] == ["faq/new", "greet"]
    assert cands[0].faq_id == "new" and cands[0].confidence == 0.7


def test_decision_json_shape():
    d = decide("hi", "en", [Candidate("greet", 0.9), Candidate("faq/fees", 0.05, "fees")], {}, META, STORE, CFG)
    j = d.to_json()
    assert set(j) == {"text", "intent", "confidence", "route", "priority", "faq_id", "candidates"}
    assert j["route"] == "answer" and j["candidates"][1] == {"intent": "faq/fees", "confidence": 0.05}


SMALL = FaqStore([FaqEntry("thanks", ["thank you"], {"en": "You're welcome!", "zh": "不客气！"}, tags=["smalltalk"])])
SMALL_META = {"faq/thanks": IntentMeta.of_faq(SMALL.get("thanks"))}


def test_small_talk_is_answered_at_once_never_confirmed():
    assert SMALL_META["faq/thanks"].small_talk
    # Between the scope and the answer thresholds, and with weak retrieval support: still answered.
    d = decide("thx!!", "en", [Candidate("faq/thanks", 0.6, "thanks")], {"thanks": hit("thanks", 0.1)},
               SMALL_META, SMALL, CFG)
    assert d.route is Route.ANSWER and d.small_talk and d.answer == "You're welcome!"
    assert any("small talk" in r for r in d.reasons)
    # Below the scope threshold it is not claimed.
    d = decide("zzz", "en", [Candidate("faq/thanks", 0.1, "thanks")], {}, SMALL_META, SMALL, CFG)
    assert d.route is Route.ESCALATE and not d.small_talk


def test_the_scope_decision_reads_the_scope_confidence():
    d = decide("hi", "en", [Candidate("greet", 0.9, None, scope=0.3)], {}, META, STORE, CFG)
    assert d.route is Route.ESCALATE and d.intent is None
    d = decide("hi", "en", [Candidate("greet", 0.6, None, scope=0.9)], {}, META, STORE, CFG)
    assert d.route is Route.CONFIRM


def test_operator_overrides_win_over_per_language_thresholds():
    th = Thresholds(answer=0.9, confirm=0.4, retrieval_floor=0.5, by_language={"zh": (0.99, 0.5)})
    assert th.overridden() is th
    o = th.overridden(answer=0.7)
    assert o.answer == 0.7 and o.for_language("zh").answer == 0.7 and o.for_language("zh").confirm == 0.5
    o = th.overridden(confirm=0.2)
    assert o.for_language("zh").answer == 0.99 and o.for_language("zh").confirm == 0.2 and o.confirm == 0.2
