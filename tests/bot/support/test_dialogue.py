from bot.core.vocabulary import Priority
from bot.ml.policy import Candidate, Decision, Route
from bot.support.dialogue import ConvState, Knowledge, State, step

ANSWERS = {"faq/a": {"en": "Answer A", "zh": "答案A"}, "faq/b": {"en": "Answer B"}, "faq/c": {"en": "Answer C"}}


def decision(route, intent="faq/a", cands=("faq/a", "faq/b", "faq/c"), lang="en", prio=Priority.P2):
    return Decision("q", lang, intent, 0.9, route, prio, None, [Candidate(c, 0.5) for c in cands])


def kb(d):
    return Knowledge(classify=lambda text: d, answer=lambda i, lang: ANSWERS.get(i, {}).get(lang) or
                     ANSWERS.get(i, {}).get("en"), title=lambda i, lang: i.upper())


def test_answer_then_solved():
    s = ConvState()
    out = step(s, "question", kb(decision(Route.ANSWER)))
    assert [r.text for r in out.replies] == ["Answer A", "Did this solve it?"]
    assert [b.payload for b in out.replies[1].buttons] == ["/yes", "/no", "/human"]
    assert s.state is State.AWAITING
    out = step(s, "/yes", kb(None))
    assert s.state is State.RESOLVED and out.replies[0].text.startswith("Great")


def test_not_solved_tries_next_candidate_then_escalates_after_two_failures():
    s = ConvState()
    step(s, "question", kb(decision(Route.ANSWER, prio=Priority.P1)))
    out = step(s, "no", kb(None))
    assert [r.text for r in out.replies][:2] == ["Sorry about that. Maybe this helps:", "Answer B"]
    out = step(s, "/no", kb(None))
    assert out.escalate is not None and s.state is State.QUEUED
    assert out.escalate.priority is Priority.P1 and "2 failed attempts" in out.escalate.reason


def test_confirm_offers_candidates_with_none_and_person():
    s = ConvState()
    out = step(s, "question", kb(decision(Route.CONFIRM)))
    (r,) = out.replies
    assert r.text == "Did you mean one of these?"
    assert [b.payload for b in r.buttons] == ["/choose faq/a", "/choose faq/b", "/choose faq/c", "/none", "/human"]
    assert [b.title for b in r.buttons][:3] == ["FAQ/A", "FAQ/B", "FAQ/C"]
    out = step(s, "/choose faq/b", kb(None))
    assert out.replies[0].text == "Answer B" and s.pending.kind == "solved"


def test_none_of_these_twice_escalates():
    s = ConvState()
    step(s, "q1", kb(decision(Route.CONFIRM)))
    out = step(s, "/none", kb(None))
    assert out.escalate is None and s.state is State.BOT and "own words" in out.replies[0].text
    assert [b.payload for b in out.replies[0].buttons] == ["/human"]          # a next step, not "didn't get that"
    step(s, "q2", kb(decision(Route.CONFIRM)))
    out = step(s, "/none", kb(None))
    assert out.escalate is not None


def test_asking_for_a_person_always_escalates():
    s = ConvState()
    step(s, "q", kb(decision(Route.ANSWER)))
    out = step(s, "/human", kb(None))
    assert out.escalate is not None and s.state is State.QUEUED
    s2 = ConvState()
    out = step(s2, "human please", kb(decision(Route.CONFIRM, intent="request_human", cands=("request_human",))))
    assert out.escalate is not None and out.escalate.reason == "the user asked for a person"


def test_escalate_route_and_silence_while_queued():
    s = ConvState()
    out = step(s, "my money is gone", kb(decision(Route.ESCALATE, intent="missing_funds", prio=Priority.P0)))
    assert out.escalate.priority is Priority.P0 and out.replies == []
    assert step(s, "hello??", kb(None)).replies == []
    s.state = State.WITH_AGENT
    assert step(s, "still there?", kb(None)).replies == []


def test_language_is_kept():
    s = ConvState()
    out = step(s, "问题", kb(decision(Route.ANSWER, lang="zh")))
    assert [r.text for r in out.replies] == ["答案A", "问题解决了吗？"]
    assert [b.title for b in out.replies[1].buttons] == ["解决了", "没有", "转人工"]


def test_answer_route_without_answer_text_escalates():
    s = ConvState()
    out = step(s, "q", kb(decision(Route.ANSWER, intent="greet", cands=("greet",))))
    assert out.escalate is not None


def test_state_json_round_trip():
    s = ConvState()
    step(s, "q", kb(decision(Route.CONFIRM)))
    again = ConvState.from_json(s.to_json())
    assert again == s


def test_state_json_carries_every_field_as_asdict_would():
    import json
    from dataclasses import asdict, fields

    s = ConvState(tz="Asia/Shanghai", contact="a@example.com")
    step(s, "q", kb(decision(Route.CONFIRM)))
    assert s.pending is not None and s.tried and s.last_decision            # nested values present
    expected = asdict(s) | {"state": s.state.value}
    assert list(s.to_json()) == [f.name for f in fields(ConvState)]          # a new field is not forgotten
    assert json.dumps(s.to_json()) == json.dumps(expected)


def test_mixed_message_answers_the_simple_part_and_escalates_the_rest():
    whole = decision(Route.ESCALATE, intent="account_hacked", cands=("account_hacked",), prio=Priority.P0)
    parts = {"what are the fees?": decision(Route.ANSWER, intent="faq/a"),
             "my account was hacked": whole}
    k = Knowledge(classify=lambda text: parts.get(text, whole),
                  answer=lambda i, lang: ANSWERS.get(i, {}).get("en"), title=lambda i, lang: i)
    s = ConvState()
    out = step(s, "what are the fees? Also my account was hacked", k)
    assert out.escalate is not None and out.escalate.priority is Priority.P0
    assert [r.text for r in out.replies] == ["About “what are the fees?”: Answer A"]
    assert s.state is State.QUEUED


def test_split_clauses():
    from bot.core.i18n import split_clauses

    assert split_clauses("what are the fees? Also my account was hacked") == ["what are the fees?",
                                                                              "my account was hacked"]
    assert split_clauses("交易手续费是多少？另外我的账户被盗了") == ["交易手续费是多少？", "我的账户被盗了"]
    assert split_clauses("how do I reset my password") == ["how do I reset my password"]
    assert split_clauses("hi. my money is gone") == ["hi. my money is gone"]


def small_talk(intent="faq/a"):
    d = decision(Route.ANSWER, intent=intent)
    d.small_talk = True
    return d


def test_small_talk_gets_its_reply_and_no_follow_up():
    s = ConvState()
    out = step(s, "hello", kb(small_talk()))
    assert [r.text for r in out.replies] == ["Answer A"] and not out.replies[0].buttons
    assert s.state is State.BOT and s.pending is None and out.escalate is None


def test_thanks_after_an_answer_closes_the_question_as_solved():
    s = ConvState()
    step(s, "question", kb(decision(Route.ANSWER)))
    assert s.state is State.AWAITING
    out = step(s, "thanks, that helped a lot", kb(small_talk("faq/c")))
    assert [r.text for r in out.replies] == ["Answer C"]
    assert s.state is State.RESOLVED and {"user": "solved"} in s.tried


def test_what_users_teach_about_their_questions():
    from bot.support.dialogue import Learned

    s = ConvState()
    step(s, "where is my card", kb(decision(Route.CONFIRM)))
    out = step(s, "/choose faq/b", kb(None))
    assert out.learned == [Learned("chose", "where is my card", "faq/b")]   # a label from the user
    assert step(s, "/yes", kb(None)).learned == [Learned("chose", "where is my card", "faq/b")]  # the same label

    s = ConvState()
    step(s, "fee question", kb(decision(Route.ANSWER)))
    out = step(s, "/no", kb(None))                                           # the bot's first guess missed
    assert out.learned == [Learned("not_helped", "fee question")]
    assert step(s, "/yes", kb(None)).learned == [Learned("chose", "fee question", "faq/b")]  # the second helped

    s = ConvState()
    step(s, "fee question", kb(decision(Route.ANSWER)))
    assert step(s, "/yes", kb(None)).learned == []                           # the bot was right: nothing to learn

    s = ConvState()
    step(s, "odd question", kb(decision(Route.CONFIRM)))
    assert step(s, "/none", kb(None)).learned == [Learned("not_helped", "odd question")]
