"""The support service: conversations, turns, hand-off and the agent's side of a ticket.

Transport-free: the FastAPI app, the Rasa channel and the rasa-sdk actions all call this. Each
user turn (message, replies, state, ticket) is one database transaction holding the
conversation's lock, so concurrent sends to one conversation are processed one at a time and a
retried send with the same idempotency key is stored once and answered the same.
"""
from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.core.db import reading
from bot.core.errors import ConflictError, NotFoundError
from bot.core.i18n import detect_language, t
from bot.core.settings import Settings
from bot.core.vocabulary import Priority, faq_id_of
from bot.ml.engine import TriageEngine
from bot.support import conversations as conv_db
from bot.support.conversations import Message
from bot.support.dialogue import (
    HUMAN_INTENTS,
    ConvState,
    Escalation,
    Knowledge,
    Reply,
    State,
    step,
)
from escalation import incidents, presence, webhooks
from escalation.sla import Team, due_at
from escalation.store import Status, Ticket, TicketStore
from escalation.urgency import Context


@dataclass(frozen=True)
class Turn:
    conversation_id: str
    user_message: Message
    replies: list[Message]
    state: State
    ticket_id: str | None
    replayed: bool = False  # a retried send: nothing new was stored
    route: str | None = None  # the triage route, when this turn classified a message
    escalated: str | None = None  # the priority, when this turn escalated


@dataclass(frozen=True)
class DeskStatus:
    agents_online: int
    queue: dict[str, int]  # tickets waiting per priority
    average_wait_seconds: float
    breached: int


def build_teams(settings: Settings) -> list[Team]:
    from datetime import time as dtime

    teams = []
    for d in settings.teams:
        kw = dict(d)
        for k in ("opens", "closes"):
            if isinstance(kw.get(k), str):
                kw[k] = dtime.fromisoformat(kw[k])
        if "days" in kw:
            kw["days"] = frozenset(kw["days"])
        for k in ("languages", "skills"):
            if k in kw:
                kw[k] = tuple(kw[k])
        teams.append(Team(**kw))
    return teams


class ChatService:
    def __init__(self, engine: TriageEngine, db: Engine, settings: Settings,
                 clock: Callable[[], float] = time.time):
        self.engine = engine
        self.db = db
        self.settings = settings
        self.clock = clock
        self.tickets = TicketStore(db, lease_seconds=settings.claim_lease_seconds)
        self.teams = build_teams(settings)
        self._agents_seen: dict[str, float] = {}
        self._faq_seq = 0  # the last FAQ publication applied to this server's engine
        self._faq_lock = threading.Lock()

    def sync_faqs(self) -> None:
        """Apply FAQ publications made (here or on another server) since the last sync."""
        from kb_index.repository import DELETED, published_since

        with self._faq_lock:
            with reading(self.db) as conn:
                changes = published_since(conn, self._faq_seq)
            for v in changes:
                if v.kind == DELETED:
                    if v.faq_id in self.engine.faq_index.store:
                        self.engine.delete_faq(v.faq_id)
                else:
                    self.engine.upsert_faq(v.entry)
                self._faq_seq = v.seq

    #: An agent's activity is written at most this often (per server), not on every request.
    SEEN_WRITE_SECONDS = 30.0

    def mark_agent_seen(self, name: str) -> None:
        now = self.clock()
        last = self._agents_seen.get(name)
        if last is not None and 0 <= now - last < self.SEEN_WRITE_SECONDS:
            return
        self._agents_seen[name] = now
        presence.mark_seen(self.db, name, now)

    def status(self, now: float) -> DeskStatus:
        """The desk right now: agents online, tickets waiting per priority, average wait, breaches."""
        open_tickets = self.tickets.open_tickets()
        waiting = [t for t in open_tickets if t.status is Status.QUEUED]
        return DeskStatus(
            agents_online=self.agents_online(now),
            queue={p.value: sum(1 for t in waiting if t.priority is p) for p in Priority},
            average_wait_seconds=sum(now - t.created_at for t in waiting) / len(waiting) if waiting else 0.0,
            breached=sum(t.breached for t in open_tickets))

    def agents_online(self, now: float, window: float = 300.0) -> int:
        """Agents active in the last five minutes, on any server."""
        with reading(self.db) as conn:
            return presence.count_online(conn, now, window)

    # -- knowledge for the dialogue ----------------------------------------------------------------
    def _entry(self, intent: str):
        """The live FAQ entry behind an `faq/<id>` intent, or None."""
        fid = faq_id_of(intent)
        return self.engine.faq_index.store.get(fid) if fid else None

    def _answer(self, intent: str, lang: str) -> str | None:
        entry = self._entry(intent)
        return entry.answer_for(lang) if entry else None

    def _title(self, intent: str, lang: str) -> str:
        """A button title in the user's language: an FAQ entry's first phrasing in it, an intent's
        title (from its metadata or its first training example in that language)."""
        entry = self._entry(intent)
        if entry is None:
            meta = self.engine.model.meta.get(intent)
            titles = meta.titles if meta is not None else {}
            return (titles.get(lang) or titles.get("*") or titles.get("en")
                    or next(iter(titles.values()), intent.replace("_", " ")))
        same = [q for q in entry.questions if detect_language(q) == lang]
        return (same or entry.questions)[0]

    def knowledge(self) -> Knowledge:
        return Knowledge(classify=self.engine.predict_one, answer=self._answer, title=self._title)

    # -- conversations -----------------------------------------------------------------------------
    def create_conversation(self, channel: str = "api", sender_key: str | None = None) -> tuple[str, str]:
        with self.db.begin() as conn:
            return conv_db.create(conn, self.clock(), channel, sender_key)

    def conversation_for_sender(self, sender: str) -> str:
        """The conversation of a Rasa REST-channel sender, created on first contact."""
        key = f"rest:{sender}"
        with reading(self.db) as conn:
            cid = conv_db.by_sender(conn, key)
        if cid:
            return cid
        try:
            return self.create_conversation("rest", key)[0]
        except IntegrityError:  # a concurrent first message created it: use that one
            with reading(self.db) as conn:
                cid = conv_db.by_sender(conn, key)
            if cid is None:
                raise
            return cid

    def conversation_of_token(self, token: str) -> str | None:
        with reading(self.db) as conn:
            return conv_db.by_token(conn, token)

    def check_token(self, cid: str, token: str) -> bool:
        with reading(self.db) as conn:
            try:
                _, token_hash = conv_db.load(conn, cid)
            except NotFoundError:
                return False
        return conv_db.token_matches(token, token_hash)

    def transcript(self, cid: str, after_seq: int = 0) -> tuple[ConvState, list[Message]]:
        with reading(self.db) as conn:
            conv, _ = conv_db.load(conn, cid)
            return conv.state, conv_db.transcript(conn, cid, after_seq)

    # -- a user turn -------------------------------------------------------------------------------
    def _preclassify(self, cid: str, text: str, context: Context):
        """Classify before taking the conversation lock, so encoding (the slow part) runs in
        parallel across conversations; None when the turn will not need it."""
        msg = text.strip()
        if not msg or msg.startswith("/"):
            return None
        with reading(self.db) as conn:
            conv, _ = conv_db.load(conn, cid)
        if conv.state.state in (State.QUEUED, State.WITH_AGENT):
            return None
        return msg, self.engine.predict_one(msg, replace(context, failed_attempts=conv.state.failed))

    def send(self, cid: str, text: str, idem_key: str | None = None, context: Context | None = None) -> Turn:
        """One user turn. `context` (customer tier, repeat contacts) feeds the priority."""
        self.sync_faqs()
        context = context or Context()
        pre = self._preclassify(cid, text, context)
        knowledge = self.knowledge()
        if pre is not None:
            classify = knowledge.classify
            knowledge = replace(knowledge, classify=lambda m: pre[1] if m == pre[0] else classify(m))
        with self.db.begin() as conn:
            conv, _ = conv_db.load(conn, cid, lock=True)
            if idem_key:
                prior = conv_db.find_by_idem(conn, cid, idem_key)
                if prior is not None:
                    return Turn(cid, prior, conv_db.replies_to(conn, prior.id), conv.state.state, conv.ticket_id, True)
            now = self.clock()
            user_msg = conv_db.add_message(conn, cid, "user", text, now, idem_key=idem_key)
            state = conv.state
            outcome = step(state, text, knowledge)
            if outcome.decision is not None:
                conv_db.tag_message(conn, user_msg.id, outcome.decision.intent, outcome.decision.route.value)
            replies = list(outcome.replies)
            ticket_id = None
            if outcome.escalate is not None:
                known = self._known_incident(conn, cid, state, outcome.escalate)
                if known is not None:
                    replies.append(known)
                else:
                    ticket, _ = self._escalate(conn, cid, state, outcome.escalate, now)
                    ticket_id = ticket.id
                    replies += self._handoff_replies(state.lang, ticket, now)
            stored = [conv_db.add_message(conn, cid, "bot", r.text, now, list(r.buttons), reply_to=user_msg.id)
                      for r in replies]
            conv_db.save_state(conn, cid, state, now, ticket_id)
            return Turn(cid, user_msg, stored, state.state, ticket_id or conv.ticket_id,
                        route=outcome.decision.route.value if outcome.decision else None,
                        escalated=outcome.escalate.priority.value if outcome.escalate else None)

    # -- hand-off ----------------------------------------------------------------------------------
    def _eligible(self, lang: str, domain: str | None) -> list[Team]:
        return [tm for tm in self.teams if tm.can_take(lang, domain)] or list(self.teams)

    def _escalate(self, conn, cid: str, state: ConvState, esc: Escalation, now: float) -> tuple[Ticket, bool]:
        meta = self.engine.model.meta.get(esc.intent or "")
        domain = meta.domain if meta else None
        teams = self._eligible(state.lang, domain)
        due = due_at(esc.priority, datetime.fromtimestamp(now, timezone.utc), teams).timestamp()
        packet = self._packet(conn, cid, state, esc)
        ticket, created = self.tickets.open_ticket(conn=conn, conversation_id=cid, priority=esc.priority,
                                                      team=teams[0].name, now=now, due_at=due, language=state.lang,
                                                      domain=domain, packet=packet, intent=esc.intent)
        if created:
            webhooks.enqueue(conn, "ticket.created", ticket_event(ticket), now)
            if esc.intent and esc.intent not in HUMAN_INTENTS:
                p0_due = due_at(Priority.P0, datetime.fromtimestamp(now, timezone.utc), self.teams).timestamp()
                inc = incidents.maybe_open(conn, self.tickets, intent=esc.intent, conversation_id=cid, now=now,
                                           window=self.settings.incident_window_seconds,
                                           min_conversations=self.settings.incident_min_conversations,
                                           team=teams[0].name, due_at=p0_due)
                if inc is not None:
                    webhooks.enqueue(conn, "incident.opened", {"incident": inc.id, "intent": inc.intent,
                                                               "ticket_id": inc.ticket_id,
                                                               "conversations": inc.conversations}, now)
        return ticket, created

    def _known_incident(self, conn, cid: str, state: ConvState, esc: Escalation) -> Reply | None:
        """During an open incident about this problem, answer with its status instead of a ticket."""
        if not esc.intent or esc.intent in HUMAN_INTENTS:
            return None
        inc = incidents.open_incident(conn, esc.intent)
        if inc is None:
            return None
        incidents.join(conn, inc, cid)
        state.state, state.pending = State.BOT, None
        status = self.settings.status_page_url or "/status"
        return Reply(t(state.lang, "incident", topic=self._title(esc.intent, state.lang), status=status))

    def check_slas(self) -> list[Ticket]:
        """Flag tickets past their due time and announce each breach once."""
        now = self.clock()
        return self.tickets.mark_breaches(
            now, on_breach=lambda conn, t: webhooks.enqueue(conn, "ticket.sla_breached", ticket_event(t), now))

    def _packet(self, conn, cid: str, state: ConvState, esc: Escalation) -> dict:
        """What the agent needs: transcript, what the bot tried, candidates, a suggested reply."""
        d = state.last_decision or {}
        cands = d.get("candidates", [])
        suggestion = next((a for c in cands if (a := self._answer(c["intent"], state.lang))), None)
        return {
            "reason": esc.reason,
            "intent": esc.intent,
            "language": state.lang,
            "predicted_priority": esc.priority.value,
            "priority_reasons": [r for r in d.get("reasons", []) if "→" in r],
            "candidates": cands,
            "tried": state.tried,
            "suggested_reply": suggestion,
            "transcript": [{"role": m.role, "text": m.text, "at": m.created_at}
                           for m in conv_db.transcript(conn, cid)],
        }

    def _handoff_replies(self, lang: str, ticket: Ticket, now: float) -> list[Reply]:
        left = round(ticket.due_at - now)  # whole seconds: float noise must not turn 30 minutes into 31
        if left <= 3 * 3600:
            eta = t(lang, "eta_minutes", minutes=max(1, math.ceil(left / 60)))
        else:
            tz = ZoneInfo(self.settings.display_timezone)
            when = datetime.fromtimestamp(ticket.due_at, tz).strftime("%Y-%m-%d %H:%M")
            eta = t(lang, "eta_at", when=when, tz=self.settings.display_timezone)
        return [Reply(t(lang, "handoff", priority=ticket.priority.value) + " " + eta)]

    # -- the agent's side --------------------------------------------------------------------------
    def claim(self, agent: str, ticket_id: str | None = None, teams: list[str] | None = None) -> Ticket | None:
        """Claim a ticket (or the next) and put its conversation with the agent, in one transaction."""
        now = self.clock()
        with self.db.begin() as conn:
            ticket = (self.tickets.claim(ticket_id, agent, now, conn) if ticket_id
                      else self.tickets.claim_next(agent, now, teams, conn))
            if ticket is not None and ticket.conversation_id:
                self._move(conn, ticket, State.WITH_AGENT, now, agent, note="agent_joined")
            return ticket

    def _move(self, conn, ticket: Ticket, to: State, now: float, agent: str, note: str | None = None) -> None:
        """Put the ticket's conversation in state `to`, with an optional system message."""
        conv, _ = conv_db.load(conn, ticket.conversation_id, lock=True)
        s = conv.state
        s.state = to
        if to in (State.BOT, State.RESOLVED):
            s.pending, s.failed = None, 0
        if note:
            conv_db.add_message(conn, conv.id, "system", t(s.lang, note, agent=agent), now, author=agent)
        conv_db.save_state(conn, conv.id, s, now)

    def agent_reply(self, ticket_id: str, agent: str, token: int, text: str) -> Message:
        now = self.clock()
        with self.db.begin() as conn:
            ticket = self.tickets.check_claim(ticket_id, agent, token, now, conn)
            if not ticket.conversation_id:
                raise ConflictError(f"ticket {ticket_id} has no single conversation to reply to (an incident?)")
            msg = conv_db.add_message(conn, ticket.conversation_id, "agent", text, now, author=agent)
            self._move(conn, ticket, State.WITH_AGENT, now, agent)
            return msg

    def release(self, ticket_id: str, agent: str, token: int, to_team: str | None = None) -> Ticket:
        """Put the ticket back in the queue (optionally another team's); the user waits again."""
        now = self.clock()
        with self.db.begin() as conn:
            ticket = (self.tickets.transfer(ticket_id, agent, token, now, to_team, conn) if to_team
                      else self.tickets.release(ticket_id, agent, token, now, conn))
            if ticket.conversation_id:
                self._move(conn, ticket, State.QUEUED, now, agent)
            return ticket

    def close(self, ticket_id: str, agent: str, token: int, hand_back: bool) -> Ticket:
        """Resolve the ticket; the conversation is resolved, or handed back to the bot."""
        now = self.clock()
        with self.db.begin() as conn:
            ticket = self.tickets.resolve(ticket_id, agent, token, now, conn)
            if ticket.conversation_id:
                self._move(conn, ticket, State.BOT if hand_back else State.RESOLVED, now, agent,
                           note="back_to_bot" if hand_back else "resolved_by_agent")
            return ticket


def ticket_event(t: Ticket) -> dict:
    return {"ticket_id": t.id, "conversation_id": t.conversation_id, "priority": t.priority.value, "team": t.team,
            "language": t.language, "domain": t.domain, "created_at": t.created_at, "due_at": t.due_at,
            "breached": t.breached, "handoff": t.packet}

