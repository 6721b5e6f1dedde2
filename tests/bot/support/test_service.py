import threading

import pytest

from bot.core.errors import StaleClaimError
from bot.core.settings import Settings
from bot.support.dialogue import State
from bot.support.service import ChatService
from tests.factories import Clock, make_service, triage_engine


@pytest.fixture
def service(db_engine, tiny_model, fake_embedder):
    return make_service(db_engine, tiny_model, fake_embedder)


def test_exact_faq_question_is_answered_then_resolved(service):
    cid, token = service.create_conversation()
    assert service.check_token(cid, token) and not service.check_token(cid, "wrong")
    turn = service.send(cid, "what are the trading fees")
    assert [m.text for m in turn.replies] == ["Trading costs 0.1% per trade.", "Did this solve it?"]
    assert turn.state is State.AWAITING
    turn = service.send(cid, "/yes")
    assert turn.state is State.RESOLVED


def test_a_turn_can_use_the_state_its_token_check_read(service):
    from sqlalchemy import event

    cid, token = service.create_conversation()
    other, _ = service.create_conversation()
    assert service.state_for_token(cid, "wrong") is None and service.state_for_token(other, token) is None
    assert service.state_for_token("no-such-conversation", token) is None
    reads = []

    def count(conn, cursor, statement, *_):
        if statement.lstrip().upper().startswith("SELECT") and "FROM conversations" in statement:
            reads.append(statement)
    event.listen(service.db, "before_cursor_execute", count)
    try:
        service.send(cid, "what are the trading fees")
        without = len(reads)
        known = service.state_for_token(cid, token)
        reads.clear()
        turn = service.send(cid, "what are the trading fees", known=known)
    finally:
        event.remove(service.db, "before_cursor_execute", count)
    assert len(reads) == without - 1                                   # the read before classifying is spared
    assert turn.replies and turn.replies[0].text == "Trading costs 0.1% per trade."


def test_chinese_question_gets_chinese_replies(service):
    cid, _ = service.create_conversation()
    turn = service.send(cid, "交易手续费是多少")
    assert turn.replies[0].text.startswith("每笔") and turn.replies[1].text == "问题解决了吗？"


def test_idempotent_send_is_stored_once_and_replayed(service):
    cid, _ = service.create_conversation()
    first = service.send(cid, "what are the trading fees", idem_key="k1")
    again = service.send(cid, "what are the trading fees", idem_key="k1")
    assert again.replayed and [m.id for m in again.replies] == [m.id for m in first.replies]
    _, msgs = service.transcript(cid)
    assert sum(m.role == "user" for m in msgs) == 1


def test_escalation_creates_one_ticket_with_a_handoff_packet_and_an_honest_eta(service):
    cid, _ = service.create_conversation()
    turn = service.send(cid, "my account was hacked")
    assert turn.state is State.QUEUED and turn.ticket_id
    assert "30 minutes" in turn.replies[-1].text and "P0" not in turn.replies[-1].text  # no internal codes
    ticket = service.tickets.get(turn.ticket_id)
    assert ticket.priority.value == "P0"
    p = ticket.packet
    assert p["intent"] == "account_hacked" and p["transcript"][0]["text"] == "my account was hacked"
    assert p["candidates"] and p["tried"] and p["language"] == "en"
    # the bot stays silent while queued; asking again gives the same ticket
    turn2 = service.send(cid, "/human")
    assert turn2.replies == [] and turn2.ticket_id == turn.ticket_id


def test_agent_flow_claim_reply_hand_back(service):
    cid, _ = service.create_conversation()
    tid = service.send(cid, "/human").ticket_id
    ticket = service.claim("ann")
    assert ticket.id == tid
    state, msgs = service.transcript(cid)
    assert state.state is State.WITH_AGENT and "ann" in msgs[-1].text
    service.agent_reply(tid, "ann", ticket.claim_token, "Hi, I'm Ann. How can I help?")
    assert service.send(cid, "thanks Ann").replies == []  # the bot is silent with an agent
    service.close(tid, "ann", ticket.claim_token, hand_back=True)
    state, msgs = service.transcript(cid)
    assert state.state is State.BOT
    assert [m.role for m in msgs] == ["user", "bot", "system", "agent", "user", "system"]
    turn = service.send(cid, "what are the trading fees")
    assert turn.replies  # the bot speaks again


def test_stale_claim_cannot_reply(service):
    cid, _ = service.create_conversation()
    tid = service.send(cid, "/human").ticket_id
    ann = service.claim("ann")
    service.clock.now += service.settings.claim_lease_seconds + 1
    bob = service.claim("bob", tid)
    with pytest.raises(StaleClaimError):
        service.agent_reply(tid, "ann", ann.claim_token, "late")
    service.agent_reply(tid, "bob", bob.claim_token, "Bob here")


def test_concurrent_sends_to_one_conversation_are_processed_in_order(service):
    cid, _ = service.create_conversation()
    texts = [f"hello number {i}" for i in range(12)]
    threads = [threading.Thread(target=service.send, args=(cid, tx), kwargs={"idem_key": f"k{i}"})
               for i, tx in enumerate(texts)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    _, msgs = service.transcript(cid)
    users = [m for m in msgs if m.role == "user"]
    assert len(users) == 12 and len({m.text for m in users}) == 12
    # each user message is directly followed by its own replies: turns never interleave
    current = None
    for m in msgs:
        if m.role == "user":
            current = m.id
        elif m.role == "bot":
            assert m.reply_to == current


def test_rasa_sender_maps_to_one_conversation(service):
    a = service.conversation_for_sender("alice")
    assert service.conversation_for_sender("alice") == a != service.conversation_for_sender("bob")


def test_new_tickets_and_breaches_are_announced_once(service):
    from escalation.webhooks import Dispatcher

    cid, _ = service.create_conversation()
    tid = service.send(cid, "my account was hacked").ticket_id
    service.send(cid, "/human")  # same ticket: no second announcement
    pending = Dispatcher(service.db, None, "k").pending()
    assert [p["event"] for p in pending] == ["ticket.created"]
    assert service.check_slas() == []
    service.clock.now += 31 * 60
    (breached,) = service.check_slas()
    assert breached.id == tid and breached.breached
    assert service.check_slas() == []
    assert [p["event"] for p in Dispatcher(service.db, None, "k").pending()] == ["ticket.created",
                                                                                "ticket.sla_breached"]


def test_different_problems_do_not_make_an_incident(db_engine, tiny_model, fake_embedder):
    svc = make_service(db_engine, tiny_model, fake_embedder, incident_min_conversations=2)
    for text in ("my account was hacked", "/human"):
        cid, _ = svc.create_conversation()
        svc.send(cid, text)
    assert not any(t.incident_id for t in svc.tickets.queue(svc.clock.now))


def test_mixed_message_gets_the_answer_and_the_handoff_in_one_reply(service):
    cid, _ = service.create_conversation()
    turn = service.send(cid, "what are the trading fees? Also my account was hacked")
    texts = [m.text for m in turn.replies]
    assert turn.ticket_id and turn.state is State.QUEUED
    assert texts[0].startswith("About “what are the trading fees?”: Trading costs 0.1% per trade.")
    assert "passed your conversation" in texts[-1] and "30 minutes" in texts[-1]


def test_claim_and_release_change_ticket_and_conversation_together(service, monkeypatch):
    """A failure while moving the conversation undoes the claim (one transaction, not two)."""
    cid, _ = service.create_conversation()
    tid = service.send(cid, "my account was hacked").ticket_id

    def boom(*a, **k):
        raise RuntimeError("crash between the ticket and the conversation")

    with monkeypatch.context() as m:
        m.setattr(ChatService, "_move", boom)
        with pytest.raises(RuntimeError):
            service.claim("ann")
    assert service.tickets.get(tid).status.value == "queued"        # the claim rolled back
    assert service.transcript(cid)[0].state is State.QUEUED
    t = service.claim("ann")
    assert t.id == tid and service.transcript(cid)[0].state is State.WITH_AGENT
    with monkeypatch.context() as m:
        m.setattr(ChatService, "_move", boom)
        with pytest.raises(RuntimeError):
            service.release(tid, "ann", t.claim_token)
    assert service.tickets.get(tid).status.value == "claimed"       # the release rolled back
    assert service.transcript(cid)[0].state is State.WITH_AGENT


def test_agents_online_is_shared_by_every_server(db_engine, tiny_model, fake_embedder):
    clock = Clock(1_800_000_000.0)
    engine = triage_engine(tiny_model, fake_embedder)
    one, two = (ChatService(engine, db_engine, Settings(encoder="fake:64"), clock=clock) for _ in range(2))
    one.mark_agent_seen("ann")
    two.mark_agent_seen("bob")
    two.mark_agent_seen("ann")  # the same person on another server
    assert one.agents_online(clock.now) == two.agents_online(clock.now) == 2
    clock.now += 200
    one.mark_agent_seen("ann")
    clock.now += 200  # bob last seen 400 s ago, ann 200 s ago
    assert two.agents_online(clock.now) == 1


def test_button_titles_are_in_the_users_language(service):
    from bot.core.vocabulary import IntentMeta

    meta = service.engine.model.meta
    meta["account_hacked"] = IntentMeta(meta["account_hacked"].complexity, meta["account_hacked"].priority,
                                        titles={"en": "My account was hacked", "zh": "账户被盗"})
    assert service.title("account_hacked", "zh") == "账户被盗"
    assert service.title("account_hacked", "es") == "My account was hacked"  # no Spanish title: English
    assert service.title("faq/fees", "zh") == "交易手续费是多少" and service.title("faq/fees", "en") == "what are the trading fees"
    # Trained intents carry the first example in each language as their title.
    assert service.engine.model.meta["reset_password"].titles["en"] == "I forgot my password"


def test_a_message_of_many_sentences_is_capped_and_classified_in_one_batch_outside_writes(service, monkeypatch):
    """121 sentences used to be 121 classifications inside the write transaction and 121 replies."""
    calls, in_write = [], {"now": False}
    predict = service.engine.predict

    def counting(texts, *a, **kw):
        assert not in_write["now"], "classification inside a write transaction"
        calls.append(list(texts))
        return predict(texts, *a, **kw)
    monkeypatch.setattr(service.engine, "predict", counting)
    begin = service.db.begin

    class Tracked:
        def __enter__(self):
            in_write["now"] = True
            self.cm = begin()
            return self.cm.__enter__()

        def __exit__(self, *exc):
            in_write["now"] = False
            return self.cm.__exit__(*exc)
    monkeypatch.setattr(service.db, "begin", lambda: Tracked())

    cid, _ = service.create_conversation()
    text = " ".join(["What are the trading fees?", "My account was hacked."] * 60 + ["Thanks."])
    turn = service.send(cid, text)
    assert len(calls) == 1 and len(calls[0]) <= service.settings.max_clauses + 1
    assert len(turn.replies) <= service.settings.max_clauses + 1
    assert turn.escalated == "P0"                                       # the urgent part is not lost


def test_reply_times_are_relative_and_in_the_users_timezone():
    from datetime import datetime, timezone

    from bot.support.service import reply_time

    now = datetime(2027, 1, 15, 10, 0, tzinfo=timezone.utc).timestamp()   # Friday
    at = lambda d, h: datetime(2027, 1, d, h, 0, tzinfo=timezone.utc).timestamp()  # noqa: E731
    assert reply_time("en", now, at(15, 16), "Europe/Berlin", "UTC") == "A person will reply today by 17:00."
    assert reply_time("en", now, at(16, 8), "Europe/Berlin", "UTC") == "A person will reply tomorrow by 09:00."
    assert reply_time("en", now, at(18, 16), None, "UTC") == "A person will reply by Monday 18 January, 16:00 (UTC)."
    assert reply_time("zh", now, at(16, 8), "Asia/Shanghai", "UTC") == "客服将在明天16:00前回复。"
    assert reply_time("en", now, at(15, 23), "Asia/Shanghai", "UTC") == "A person will reply tomorrow by 07:00."


def test_the_widget_timezone_is_checked(db_engine, tiny_model, fake_embedder):
    from bot.core.settings import Settings
    from tests.factories import api_client, make_service

    s = Settings(encoder="fake:64", client_rate_per_minute=10_000)
    with api_client(make_service(db_engine, tiny_model, fake_embedder, s), s) as client:
        assert client.post("/conversations", json={"timezone": "Europe/Berlin"}).status_code == 201
        r = client.post("/conversations", json={"timezone": "Mars/Olympus"})
        assert r.status_code == 422 and "unknown timezone" in r.text
        assert client.post("/conversations").status_code == 201                  # the body is optional


def test_the_user_is_told_when_the_conversation_is_transferred(db_engine, tiny_model, fake_embedder):
    from bot.core.settings import Settings

    svc = make_service(db_engine, tiny_model, fake_embedder,
                       Settings(encoder="fake:64", teams=[{"name": "a", "timezone": "UTC"},
                                                          {"name": "b", "timezone": "UTC"}]))
    cid, _ = svc.create_conversation()
    svc.send(cid, "/human")
    t = svc.claim("ann")
    svc.release(t.id, "ann", t.claim_token, to_team="b")
    _, msgs = svc.transcript(cid)
    assert msgs[-1].role == "system" and "another team" in msgs[-1].text
