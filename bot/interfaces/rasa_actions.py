"""rasa-sdk custom actions, so an existing Rasa assistant can hand support questions to triage.

* ``action_triage_answer``: triage the user's latest message, answer from the FAQ with the
  confirm step ("Did this solve it?" / "Did you mean…?" as buttons), or escalate.
* ``action_triage_escalate``: hand the conversation to a person now, with priority and a
  handoff packet, and tell the user when to expect a reply.

Each Rasa sender is one triage conversation, so the confirm step and the hand-off behave exactly
as in triage's own API. Rasa wire formats stay inside this module.
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from bot.support.dialogue import State
from bot.support.service import ChatService

TICKET_SLOT = "triage_ticket_id"
STATE_SLOT = "triage_state"


class _TriageAction(Action):
    def __init__(self, service: ChatService):
        self.service = service

    def _conversation(self, tracker: Tracker) -> str:
        return self.service.conversation_for_sender(f"rasa:{tracker.sender_id}")

    def _reply(self, dispatcher: CollectingDispatcher, cid: str, text: str) -> list[dict[str, Any]]:
        return self._utter(dispatcher, self.service.send(cid, text))

    @staticmethod
    def _utter(dispatcher: CollectingDispatcher, turn) -> list[dict[str, Any]]:
        for m in turn.replies:
            buttons = [{"title": b.title, "payload": b.payload} for b in m.buttons]
            dispatcher.utter_message(text=m.text, buttons=buttons or None)
        return [SlotSet(STATE_SLOT, turn.state.value)] + ([SlotSet(TICKET_SLOT, turn.ticket_id)] if turn.ticket_id else [])


class ActionTriageAnswer(_TriageAction):
    def name(self) -> str:
        return "action_triage_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        text = (tracker.latest_message or {}).get("text") or ""
        if not text.strip():
            return []
        return self._reply(dispatcher, self._conversation(tracker), text)


class ActionTriageEscalate(_TriageAction):
    def name(self) -> str:
        return "action_triage_escalate"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> list[dict[str, Any]]:
        cid = self._conversation(tracker)
        # Bring what the Rasa bot saw into the transcript first, so the agent's packet has it.
        text = (tracker.latest_message or {}).get("text") or ""
        if text.strip() and not text.startswith("/"):
            turn = self.service.send(cid, text)
            if turn.state is State.QUEUED:  # the message itself already needed a person
                return self._utter(dispatcher, turn)
        return self._reply(dispatcher, cid, "/human")


def make_executor(service: ChatService) -> ActionExecutor:
    executor = ActionExecutor()
    for action in (ActionTriageAnswer(service), ActionTriageEscalate(service)):
        executor.register_action(action)
    return executor
