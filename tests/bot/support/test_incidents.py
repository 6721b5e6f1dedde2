"""Incidents: a burst of one problem is one outage, but never a place to hide a victim."""
import pytest

from bot.core.errors import ConflictError
from bot.core.vocabulary import Priority
from bot.support.dialogue import State
from escalation import incidents
from escalation.webhooks import Dispatcher
from tests.conftest import TINY_NLU, write_data
from tests.factories import make_service

OUTAGE_NLU = TINY_NLU + """\
- intent: app_down
  metadata: {complexity: complex, priority: P1}
  examples: |
    - the app is down
    - the app does not load
    - your website is not working
    - the site is down again
    - app keeps crashing on start
    - cannot open the app at all
- intent: request_human
  examples: |
    - I want to talk to a human
    - let me speak to a person
    - connect me with an agent
    - real person please
    - can I talk to someone
    - human agent
"""


@pytest.fixture
def outage_model(tmp_path, fake_embedder, settings):
    from bot.ml.training import train
    from bot.ml.training_data import load_training_data

    model = train(load_training_data(write_data(tmp_path / "outage", OUTAGE_NLU)), fake_embedder, settings)
    model.save(tmp_path / "outage_model")
    return tmp_path / "outage_model"


@pytest.fixture
def svc(db_engine, outage_model, fake_embedder):
    return make_service(db_engine, outage_model, fake_embedder, incident_min_conversations=3, incident_min_clients=3,
                        incident_window_seconds=600, status_page_url="https://status.example")


def burst(svc, text, clients=("a", "b", "c")):
    for client in clients:
        cid, _ = svc.create_conversation(client=client)
        svc.clock.now += 30
        svc.send(cid, text)
    return next(t for t in svc.tickets.queue(svc.clock.now) if t.incident_id and t.conversation_id is None)


def test_a_burst_of_one_problem_becomes_one_incident_and_later_users_get_its_status(svc):
    incident = burst(svc, "the app is down")
    assert incident.priority is Priority.P0 and len(incident.packet["conversations"]) == 3
    assert "3 clients" in incident.packet["reason"]
    assert "incident.opened" in [p["event"] for p in Dispatcher(svc.db, None, "k").pending()]
    cid, _ = svc.create_conversation(client="d")
    turn = svc.send(cid, "the app is down")
    assert turn.ticket_id is None and turn.state is State.BOT
    assert "We know" in turn.replies[-1].text and "https://status.example" in turn.replies[-1].text
    claimed = svc.claim("ann", incident.id)
    with pytest.raises(ConflictError, match="no single conversation"):
        svc.agent_reply(incident.id, "ann", claimed.claim_token, "on it")
    svc.close(incident.id, "ann", claimed.claim_token, hand_back=False)
    cid, _ = svc.create_conversation(client="e")
    assert svc.send(cid, "the app is down").ticket_id is not None     # incident over: tickets again


def test_a_victim_of_a_p0_problem_always_gets_a_ticket_of_their_own_linked_to_the_incident(svc):
    incident = burst(svc, "my account was hacked")
    cid, _ = svc.create_conversation(client="victim")
    turn = svc.send(cid, "my account was hacked")
    assert turn.ticket_id is not None and turn.state is State.QUEUED
    ticket = svc.tickets.get(turn.ticket_id)
    assert ticket.priority is Priority.P0 and ticket.conversation_id == cid
    assert ticket.incident_id == incident.incident_id                  # linked, not swallowed
    assert not any("We know" in r.text for r in turn.replies)


def test_the_talk_to_a_person_button_during_an_incident_opens_a_ticket(svc):
    burst(svc, "the app is down")
    cid, _ = svc.create_conversation(client="d")
    assert svc.send(cid, "the app is down").ticket_id is None          # the status answer first
    turn = svc.send(cid, "/human")
    assert turn.ticket_id is not None and turn.state is State.QUEUED
    assert svc.tickets.get(turn.ticket_id).priority.rank <= Priority.P1.rank


def test_asking_for_a_person_in_words_keeps_the_priority_of_the_problem(svc):
    incident = burst(svc, "the app is down")
    cid, _ = svc.create_conversation(client="d")
    svc.send(cid, "the app is down")
    turn = svc.send(cid, "I want to talk to a human")
    ticket = svc.tickets.get(turn.ticket_id)
    assert ticket.priority.rank <= Priority.P1.rank                    # the outage's priority, not P2
    assert ticket.incident_id == incident.incident_id


def test_one_client_opening_many_conversations_does_not_make_an_incident(svc):
    for _ in range(6):
        cid, _ = svc.create_conversation(client="same-client")
        svc.clock.now += 5
        assert svc.send(cid, "the app is down").ticket_id is not None
    assert not any(t.incident_id for t in svc.tickets.queue(svc.clock.now))


def test_staff_dismiss_an_incident_and_the_users_it_answered_get_tickets(svc):
    incident = burst(svc, "the app is down")
    cid, _ = svc.create_conversation(client="d")
    assert svc.send(cid, "the app is down").ticket_id is None
    decided = svc.decide_incident(incident.incident_id, incidents.DISMISSED, "ann")
    assert decided.status == incidents.DISMISSED and decided.decided_by == "ann"
    assert svc.tickets.get(incident.id).status.value == "resolved"
    state, msgs = svc.transcript(cid)
    assert state.state is State.QUEUED and "passed your conversation" in msgs[-1].text
    cid2, _ = svc.create_conversation(client="e")
    assert svc.send(cid2, "the app is down").ticket_id is not None     # no incident any more
    with pytest.raises(ConflictError):
        svc.decide_incident(incident.incident_id, incidents.CONFIRMED, "ann")


def test_staff_confirm_an_incident(svc):
    incident = burst(svc, "the app is down")
    decided = svc.decide_incident(incident.incident_id, incidents.CONFIRMED, "ann")
    assert decided.status == incidents.CONFIRMED
    assert "incident.confirmed" in [p["event"] for p in Dispatcher(svc.db, None, "k").pending()]
    assert [i.id for i in svc.incidents()] == [incident.incident_id]
