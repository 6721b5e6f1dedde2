"""The actions, run through rasa-sdk's own executor with Rasa's action-server payloads."""
import asyncio

import pytest

from bot.interfaces.rasa_actions import make_executor
from tests.factories import make_service


@pytest.fixture
def executor_and_service(tmp_path, tiny_model, fake_embedder):
    from bot.core.db import make_engine, upgrade

    db = make_engine(f"sqlite:///{tmp_path / 'rasa.db'}")
    upgrade(db)
    service = make_service(db, tiny_model, fake_embedder)
    return make_executor(service), service


def call(executor, action, sender, text):
    payload = {
        "next_action": action,
        "sender_id": sender,
        "tracker": {"sender_id": sender, "slots": {}, "latest_message": {"text": text, "intent": {}, "entities": []},
                    "events": [], "paused": False, "followup_action": None, "active_loop": {},
                    "latest_action_name": "action_listen"},
        "domain": {"intents": [], "entities": [], "slots": {}, "responses": {}, "actions": [action]},
        "version": "3.6.0",
    }
    return asyncio.run(executor.run(payload))


def test_actions_are_registered(executor_and_service):
    executor, _ = executor_and_service
    assert {"action_triage_answer", "action_triage_escalate"} <= set(executor.actions)


def test_answer_with_confirm_step(executor_and_service):
    executor, _ = executor_and_service
    result = call(executor, "action_triage_answer", "u1", "what are the trading fees")
    texts = [r["text"] for r in result.responses]
    assert texts == ["Trading costs 0.1% per trade.", "Did this solve it?"]
    assert [b["payload"] for b in result.responses[1]["buttons"]] == ["/yes", "/no", "/human"]
    assert {"event": "slot", "name": "triage_state", "value": "awaiting_confirmation"}.items() <= \
        result.events[0].items()
    result = call(executor, "action_triage_answer", "u1", "/yes")
    assert result.responses[0]["text"].startswith("Great")


def test_escalate_creates_ticket_with_packet(executor_and_service):
    executor, service = executor_and_service
    result = call(executor, "action_triage_escalate", "u2", "my account was hacked")
    ticket_events = [e for e in result.events if e.get("name") == "triage_ticket_id"]
    assert ticket_events and ticket_events[0]["value"]
    ticket = service.tickets.get(ticket_events[0]["value"])
    assert ticket.priority.value == "P0"
    assert ticket.packet["transcript"][0]["text"] == "my account was hacked"
    assert any("minutes" in r["text"] for r in result.responses)
