"""The support service: conversations, turns, hand-off and the agent's side of a ticket.

Transport-free: the FastAPI app, the Rasa channel and the rasa-sdk actions all call this. Each
user turn (message, replies, state, ticket) is one database transaction holding the
conversation's lock, so concurrent sends to one conversation are processed one at a time and a
retried send with the same idempotency key is stored once and answered the same.
"""
from __future__ import annotations

import contextvars
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text as sql
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from bot.core.cursor import GapCursor
from bot.core.db import reading
from bot.core.errors import ConflictError, DataError, NotFoundError
from bot.core.group_commit import GroupCommit
from bot.core.i18n import t
from bot.core.settings import Settings
from bot.core.vocabulary import OUT_OF_SCOPE, Complexity, Priority, faq_id_of, faq_label
from bot.ml.engine import TriageEngine
from bot.ml.policy import Decision
from bot.support import conversations as conv_db
from bot.support import desk, feedback, promotions, satisfaction, signals
from bot.support.conversations import Message
from bot.support.dialogue import (
    HUMAN_INTENTS,
    ConvState,
    Escalation,
    Knowledge,
    Learned,
    Reply,
    State,
    clauses,
    last_problem,
    step,
)
from escalation import incidents, presence, webhooks
from escalation.sla import Team, due_at, is_working, pick_team
from escalation.store import Status, Ticket, TicketStore
from escalation.urgency import Context

log = logging.getLogger("triage.service")

#: The engine a turn in progress decides with: captured when the turn starts, so a model switch
#: in the middle of it does not change models half-way through.
_TURN_ENGINE: contextvars.ContextVar = contextvars.ContextVar("triage_turn_engine", default=None)


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
        self._engine = engine
        self.db = db
        #: A turn's write transaction, shared with concurrent turns on SQLite (`GroupCommit`).
        self.writes = GroupCommit(db)
        self.settings = settings
        self.clock = clock
        self.tickets = TicketStore(db, lease_seconds=settings.claim_lease_seconds)
        self.teams = build_teams(settings)
        self._agents_seen: dict[str, float] = {}
        # FAQ publications applied to this server's engine: a cursor that cannot skip one that
        # commits late, and the version applied per entry (an older one is never applied over it).
        self._faq_cursor = GapCursor()
        self._faq_applied: dict[str, int] = {}
        self._faq_lock = threading.Lock()
        # Syncs in flight: turns arriving while one runs share the next one (see `sync_faqs`).
        self._sync_cond = threading.Condition()
        self._syncs_started = self._syncs_done = 0
        self._syncing = False
        self.sync_waiting = 0  # turns waiting for the next sync (for tests and metrics)
        self._started = False
        #: Loads a promoted model: (model directory, name) -> engine. Set by the server; without
        #: it the service keeps the engine it was given.
        self.model_loader: Callable[[Path, str], TriageEngine] | None = None
        self.model_seq: int | None = None  # the promotion being served
        self._model_checked = -math.inf
        self._model_loading = threading.Lock()
        self._model_failed: int | None = None

    @property
    def engine(self) -> TriageEngine:
        """The engine deciding now: the one a turn in progress started with, else the current."""
        held = _TURN_ENGINE.get()
        return held[1] if held is not None and held[0] is self else self._engine

    @engine.setter
    def engine(self, engine: TriageEngine) -> None:
        self._engine = engine

    # -- model updates ---------------------------------------------------------------------------
    def sync_model(self, wait: bool = False, poll_seconds: float = 1.0) -> None:
        """Follow the newest model promotion (looked up at most every `poll_seconds`): the model
        loads in a background thread while turns go on with the current one, then takes over for
        new turns; turns in progress finish on the model they started with. `wait` looks now and
        waits for the switch."""
        if self.model_loader is None:
            return
        now = time.monotonic()
        if not wait and now - self._model_checked < poll_seconds:
            return
        self._model_checked = now
        with reading(self.db, single=True) as conn:
            p = promotions.current(conn)
        if p is None or p.seq in (self.model_seq, self._model_failed):
            return
        if not self._model_loading.acquire(blocking=wait):
            return  # already switching
        thread = threading.Thread(target=self._switch_to, args=(p,), name="triage-model-switch", daemon=True)
        thread.start()
        if wait:
            thread.join()

    def _switch_to(self, p: promotions.Promotion) -> None:
        from kb_index.repository import published_state, published_unread

        try:
            engine = self.model_loader(Path(p.path), p.name)
            if engine.model.fingerprint != p.fingerprint:
                raise ValueError(f"{p.path} is not the model that was promoted (fingerprint "
                                 f"{engine.model.fingerprint}, promoted {p.fingerprint})")
            applied: dict[str, int] = {}
            cursor = GapCursor()
            with reading(self.db, snapshot=True) as conn:  # one snapshot: a publication committing
                live, top, seen = published_state(conn)      # between its statements is read later
            self._apply_versions(live, engine, applied)  # the editors' changes, before taking over
            cursor.start_at(top, seen)
            with self._faq_lock:
                with reading(self.db) as conn:
                    late = published_unread(conn, cursor)
                self._apply_versions(late, engine, applied)
                cursor.saw(v.seq for v in late)
                self._engine, self._faq_applied, self._faq_cursor = engine, applied, cursor
                self.model_seq = p.seq
            log.warning("now serving model %s (promotion %d by %s)", engine.model_id, p.seq, p.actor)
        except Exception:
            self._model_failed = p.seq
            log.exception("could not switch to model %s at %s; still serving %s", p.name, p.path,
                          self._engine.model_id)
        finally:
            self._model_loading.release()

    def start(self) -> None:
        """Load the live FAQ state (every entry's newest publication) in one batch. Servers call
        this before taking traffic; `/ready` says not ready until it is done."""
        from kb_index.repository import published_state

        with self._faq_lock:
            if self._started:
                return
            with reading(self.db, snapshot=True) as conn:  # one snapshot: a publication committing
                live, top, seen = published_state(conn)      # between its statements is read later
            self._apply_versions(live)
            self._faq_cursor.start_at(top, seen)
            self._started = True

    def _apply_versions(self, versions, engine: TriageEngine | None = None,
                        applied: dict[str, int] | None = None) -> None:
        """Apply publications and deletions (oldest first) to `engine` (the current one), skipping
        any older than what it already has for that entry, as one batch."""
        (engine or self._engine).apply_published(versions, self._faq_applied if applied is None else applied)

    def sync_faqs(self) -> None:
        """Apply FAQ publications made (here or on another server) since the last sync."""
        from kb_index.repository import published_unread

        if not self._started:
            self.start()
            return
        # Every publication committed before this call must be applied when it returns; a sync
        # that *starts* after this call began reads them all. So concurrent turns share syncs: one
        # runs, the turns arriving meanwhile wait for the next one, which serves them all (one
        # database read instead of one per turn, each under the lock: 16 clients queued on it).
        with self._sync_cond:
            needed = self._syncs_started + 1
            while self._syncs_done < needed:
                if not self._syncing:
                    self._syncing = True
                    self._syncs_started += 1
                    mine = self._syncs_started
                    break
                self.sync_waiting += 1
                try:
                    self._sync_cond.wait()
                finally:
                    self.sync_waiting -= 1
            else:
                return
        done = False
        try:
            with self._faq_lock:
                with reading(self.db, single=True) as conn:
                    changes = published_unread(conn, self._faq_cursor)
                self._apply_versions(changes)
                self._faq_cursor.saw(v.seq for v in changes)
            done = True
        finally:
            with self._sync_cond:
                self._syncing = False
                if done:
                    self._syncs_done = mine
                self._sync_cond.notify_all()

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

    def readiness(self) -> list[str]:
        """What keeps this server from serving: empty when the database answers and the model is
        loaded."""
        problems = []
        try:
            with reading(self.db) as conn:
                conn.execute(sql("SELECT 1"))
        except SQLAlchemyError as e:
            problems.append(f"database: {type(e).__name__}")
        if self.engine.model is None:
            problems.append("model: not loaded")
        if not self._started:
            problems.append("faq: live edits not loaded yet")
        return problems

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

    def title(self, intent: str, lang: str) -> str:
        """A button title in the user's language: an FAQ entry's title (else its first phrasing in
        that language), an intent's title from its metadata."""
        entry = self._entry(intent)
        if entry is None:
            meta = self.engine.model.meta.get(intent)
            titles = meta.titles if meta is not None else {}
            return (titles.get(lang) or titles.get("*") or titles.get("en")
                    or next(iter(titles.values()), intent.replace("_", " ")))
        return entry.title_for(lang)

    def knowledge(self) -> Knowledge:
        return Knowledge(classify=self.engine.predict_one, answer=self._answer, title=self.title,
                         max_clauses=self.settings.max_clauses)

    # -- conversations -----------------------------------------------------------------------------
    def create_conversation(self, channel: str = "api", sender_key: str | None = None,
                            client: str | None = None, timezone: str | None = None) -> tuple[str, str]:
        """A new conversation; `client` is an opaque key of who started it (a hash of the
        address), used to tell many users from one client opening many conversations;
        `timezone` the user's (an IANA name), for the reply times they are told."""
        return self.writes.run(lambda conn: conv_db.create(conn, self.clock(), channel, sender_key, client, timezone))

    def conversation_for_sender(self, sender: str, client: str | None = None) -> str:
        """The conversation of a Rasa REST-channel sender, created on first contact."""
        key = f"rest:{sender}"
        with reading(self.db) as conn:
            cid = conv_db.by_sender(conn, key)
        if cid:
            return cid
        try:
            return self.create_conversation("rest", key, client)[0]
        except IntegrityError:  # a concurrent first message created it: use that one
            with reading(self.db) as conn:
                cid = conv_db.by_sender(conn, key)
            if cid is None:
                raise
            return cid

    def conversation_of_token(self, token: str) -> str | None:
        with reading(self.db, single=True) as conn:
            return conv_db.by_token(conn, token)

    def check_token(self, cid: str, token: str) -> bool:
        return self.state_for_token(cid, token) is not None

    def state_for_token(self, cid: str, token: str) -> ConvState | None:
        """The conversation's state if `token` is its token (None for a wrong token or an
        unknown conversation): one read serves the check and the turn that follows (`send`'s
        `known`)."""
        with reading(self.db, single=True) as conn:
            try:
                conv, token_hash = conv_db.load(conn, cid)
            except NotFoundError:
                return None
        return conv.state if conv_db.token_matches(token, token_hash) else None

    def transcript(self, cid: str, after_seq: int = 0) -> tuple[ConvState, list[Message]]:
        with reading(self.db) as conn:
            conv, _ = conv_db.load(conn, cid)
            return conv.state, conv_db.transcript(conn, cid, after_seq)

    #: A wait longer than this offers the user to leave an e-mail address for the reply.
    LONG_WAIT_SECONDS = 3 * 3600

    def conversation_ticket(self, cid: str) -> str | None:
        with reading(self.db) as conn:
            conv, _ = conv_db.load(conn, cid)
        return conv.ticket_id

    def long_wait(self, ticket_id: str | None) -> bool:
        """Whether the user of this open ticket waits long enough to be offered the e-mail field."""
        if not ticket_id:
            return False
        ticket = self.tickets.get(ticket_id)
        return ticket.status is not Status.RESOLVED and ticket.due_at - self.clock() > self.LONG_WAIT_SECONDS

    def leave_contact(self, cid: str, email: str) -> None:
        """Keep the e-mail address a waiting user left (the agent sees it with the ticket)."""
        with self.db.begin() as conn:
            conv, _ = conv_db.load(conn, cid, lock=True)
            conv.state.contact = email
            conv_db.save_state(conn, cid, conv.state, self.clock())

    def rate(self, cid: str, score: int, comment: str | None = None) -> satisfaction.Rating:
        """Rate a resolved conversation (1–5); a second rating replaces the first."""
        with self.db.begin() as conn:
            conv, _ = conv_db.load(conn, cid, lock=True)
            return satisfaction.rate(conn, conv, score, comment, self.clock())

    # -- the desk's numbers -----------------------------------------------------------------------
    def basic_intent(self, intent: str) -> bool:
        """A basic query: an intent or FAQ entry of simple complexity and normal priority (P2),
        small talk and requests for a person excepted."""
        meta = self.engine.model.meta.get(intent)
        return (meta is not None and intent not in HUMAN_INTENTS and not meta.small_talk
                and meta.complexity is Complexity.SIMPLE and meta.priority is Priority.P2)

    def desk_period(self, since: float, now: float) -> desk.Period:
        """The period's data, read once for the figures and the trends."""
        return desk.load_period(self.db, since, now)

    def desk_figures(self, since: float, now: float, period: desk.Period | None = None) -> list[desk.Figure]:
        s = self.settings
        targets = desk.Targets(s.target_csat, s.target_first_contact_resolution, s.target_ai_basic_share,
                               s.target_night_resolution, s.target_peak_response_seconds)
        return desk.figures(period or self.desk_period(since, now), self.teams, self.basic_intent, targets,
                            s.fcr_window_days, s.display_timezone)

    def desk_trends(self, since: float, now: float, period: desk.Period | None = None) -> list[desk.Day]:
        return desk.trends(period or self.desk_period(since, now), self.settings.display_timezone)

    def desk_people(self, since: float, now: float) -> tuple[list[desk.Performer], list[desk.Performer]]:
        return desk.people(self.db, since, now)

    def unanswered(self, top: int = 10) -> list[signals.Signal]:
        """The questions nothing answered yet (open suggestions without a label), most asked first."""
        with reading(self.db) as conn:
            found = [s for s in signals.listing(conn) if not s.label]
        return sorted(found, key=lambda s: -s.count)[:top]

    def desk_staffing(self, since: float, now: float) -> list[desk.TeamStaffing]:
        s = self.settings
        return desk.staffing(self.db, since, now, self.teams, s.staffing_service_level, s.staffing_p2_target_hours,
                             s.display_timezone)

    # -- a user turn -------------------------------------------------------------------------------
    def _preclassify(self, cid: str, text: str, context: Context, known: ConvState | None = None
                     ) -> dict[str, Decision]:
        """Classify the message and its clauses (at most `max_clauses`) in one batched encoder
        call, before any write transaction: encoding (the slow part) then runs in parallel across
        conversations and never holds the database's write lock. Empty when the turn will not
        need it. `known`: the state as the caller just read it (else it is read here); the turn
        itself decides on the state it reads under the row lock."""
        msg = text.strip()
        if not msg or msg.startswith("/"):
            return {}
        if known is None:
            with reading(self.db, single=True) as conn:
                known = conv_db.load(conn, cid)[0].state
        if known.state in (State.QUEUED, State.WITH_AGENT):
            return {}
        texts = list(dict.fromkeys([msg] + clauses(msg, self.settings.max_clauses)))
        ctx = replace(context, failed_attempts=known.failed)
        return dict(zip(texts, self.engine.predict(texts, contexts=[ctx] * len(texts))))

    def send(self, cid: str, text: str, idem_key: str | None = None, context: Context | None = None,
             known: ConvState | None = None) -> Turn:
        """One user turn. `context` (customer tier, repeat contacts) feeds the priority; `known`,
        the conversation's state as the caller read it a moment ago (`state_for_token`), spares
        a read. The whole turn decides with the model current when it starts."""
        self.sync_model()
        with self._faq_lock:
            held = _TURN_ENGINE.set((self, self._engine))
        try:
            self.sync_faqs()
            return self._send(cid, text, idem_key, context, known)
        finally:
            _TURN_ENGINE.reset(held)

    def _send(self, cid: str, text: str, idem_key: str | None, context: Context | None,
              known: ConvState | None = None) -> Turn:
        context = context or Context()
        pre = self._preclassify(cid, text, context, known)
        knowledge = self.knowledge()
        if pre:
            classify = knowledge.classify
            knowledge = replace(knowledge, classify=lambda m: pre[m] if m in pre else classify(m))

        def write(conn) -> Turn:  # may run twice (`GroupCommit`): no effects outside the database
            conv, _ = conv_db.load(conn, cid, lock=True)
            if idem_key:
                prior = conv_db.find_by_idem(conn, cid, idem_key)
                if prior is not None:
                    if prior.text != text:
                        raise ConflictError("this idempotency key was already used for a different message")
                    return Turn(cid, prior, conv_db.replies_to(conn, prior.id), conv.state.state, conv.ticket_id, True)
            now = self.clock()
            state = conv.state
            outcome = step(state, text, knowledge)  # pure: the message is stored with its decision
            decided = outcome.decision
            user_row = conv_db.message_row(cid, "user", text, now, idem_key=idem_key,
                                           about=decided.intent if decided else None,
                                           route=decided.route.value if decided else None)
            # Stored with the replies in one statement, unless a hand-off's packet is to read it.
            unstored = [] if outcome.escalate is not None else [user_row]
            if not unstored:
                user_msg = conv_db.add_messages(conn, [user_row])[0]
            for learned in outcome.learned:
                signals.record(conn, learned, cid, state.lang, now)
            if outcome.helped is not None and faq_id_of(outcome.helped[0]):
                feedback.record_feedback(conn, faq_id_of(outcome.helped[0]), outcome.helped[1], "chat", state.lang, now)
            replies = list(outcome.replies)
            ticket_id = None
            if outcome.escalate is not None:
                esc = outcome.escalate
                incident = self._open_incident_about(conn, esc)
                if incident is not None and not self._needs_own_ticket(esc):
                    replies.append(self._incident_status(conn, incident, cid, state))
                else:
                    ticket, _ = self._escalate(conn, cid, state, esc, now, incident)
                    ticket_id = ticket.id
                    replies += self._handoff_replies(state, ticket, now)
                    if incident is not None:
                        replies.append(Reply(t(state.lang, "incident_linked",
                                               topic=self.title(incident.intent, state.lang))))
            model = self.engine.model_id
            stored = conv_db.add_messages(conn, unstored + [
                conv_db.message_row(cid, "bot", r.text, now, list(r.buttons), reply_to=user_row["id"], model=model,
                                    about=r.about) for r in replies])
            if unstored:
                user_msg, stored = stored[0], stored[1:]
            conv_db.save_state(conn, cid, state, now, ticket_id)
            return Turn(cid, user_msg, stored, state.state, ticket_id or conv.ticket_id,
                        route=outcome.decision.route.value if outcome.decision else None,
                        escalated=outcome.escalate.priority.value if outcome.escalate else None)

        return self.writes.run(write)

    # -- hand-off ----------------------------------------------------------------------------------
    def _eligible(self, lang: str, domain: str | None) -> list[Team]:
        return [tm for tm in self.teams if tm.can_take(lang, domain)] or list(self.teams)

    def _round_the_clock(self, priority: Priority) -> bool:
        return priority in self.settings.round_the_clock

    def _due(self, priority: Priority, now: float, teams: list[Team]) -> float:
        created = datetime.fromtimestamp(now, timezone.utc)
        return due_at(priority, created, teams, self._round_the_clock(priority)).timestamp()

    def _off_hours(self, ticket: Ticket, now: float) -> bool:
        """Nobody who could take this ticket is working now."""
        return not is_working(datetime.fromtimestamp(now, timezone.utc), self._eligible(ticket.language, ticket.domain))

    def _escalate(self, conn, cid: str, state: ConvState, esc: Escalation, now: float,
                  incident: incidents.Incident | None = None) -> tuple[Ticket, bool]:
        meta = self.engine.model.meta.get(esc.intent or "")
        domain = meta.domain if meta else None
        teams = self._eligible(state.lang, domain)
        team = pick_team(teams, datetime.fromtimestamp(now, timezone.utc))
        packet = self._packet(conn, cid, state, esc)
        if incident is not None:
            packet["incident"] = incident.id
            incidents.join(conn, incident, cid)
        ticket, created = self.tickets.open_ticket(conn=conn, conversation_id=cid, priority=esc.priority,
                                                      team=team.name, now=now, due_at=self._due(esc.priority, now, teams),
                                                      language=state.lang, domain=domain, packet=packet,
                                                      intent=esc.intent,
                                                      incident_id=incident.id if incident else None)
        if (self._round_the_clock(ticket.priority) and ticket.paged_at is None
                and not is_working(datetime.fromtimestamp(now, timezone.utc), teams)):
            self.tickets.mark_paged(conn, ticket.id, now)
            webhooks.enqueue(conn, "oncall.page", oncall_event(ticket, now), now)
            ticket = replace(ticket, paged_at=now)
        if created:
            webhooks.enqueue(conn, "ticket.created", ticket_event(ticket), now)
            if incident is None and esc.intent and esc.intent not in HUMAN_INTENTS:
                self._maybe_open_incident(conn, cid, esc.intent, team, now)
        return ticket, created

    def _maybe_open_incident(self, conn, cid: str, intent: str, team: Team, now: float) -> None:
        since = incidents.counting_since(conn, intent, now - self.settings.incident_window_seconds)
        recent = self.tickets.recent_conversations(conn, intent, since) | {cid}
        inc = incidents.maybe_open(conn, self.tickets, intent=intent, recent=recent,
                                   clients=conv_db.distinct_clients(conn, recent), now=now,
                                   window=self.settings.incident_window_seconds,
                                   min_conversations=self.settings.incident_min_conversations,
                                   min_clients=self.settings.incident_min_clients, team=team.name,
                                   due_at=self._due(Priority.P0, now, self.teams))
        if inc is not None:
            webhooks.enqueue(conn, "incident.opened", {"incident": inc.id, "intent": inc.intent,
                                                       "ticket_id": inc.ticket_id,
                                                       "conversations": inc.conversations}, now)

    def _open_incident_about(self, conn, esc: Escalation) -> incidents.Incident | None:
        if not esc.intent or esc.intent in HUMAN_INTENTS:
            return None
        return incidents.open_incident(conn, esc.intent)

    def _needs_own_ticket(self, esc: Escalation) -> bool:
        """Money or security at risk (a P0 message or intent) and asking for a person always get
        a ticket of their own, never an incident's status answer."""
        meta = self.engine.model.meta.get(esc.intent or "")
        return esc.asked_for_person or esc.priority is Priority.P0 or (meta is not None and meta.priority is Priority.P0)

    def _incident_status(self, conn, incident: incidents.Incident, cid: str, state: ConvState) -> Reply:
        """During an open incident about this problem: its status instead of a ticket."""
        incidents.join(conn, incident, cid)
        state.state, state.pending = State.BOT, None
        status = self.settings.status_page_url or "/status"
        return Reply(t(state.lang, "incident", topic=self.title(incident.intent, state.lang), status=status))

    def decide_incident(self, incident_id: str, decision: str, by: str) -> incidents.Incident:
        """Staff confirm an incident, or dismiss it as a false alarm: it ends, its ticket is
        resolved, and every user it answered with its status gets a ticket of their own."""
        now = self.clock()
        with self.db.begin() as conn:
            inc = incidents.decide(conn, incidents.get(conn, incident_id), decision, by, now)
            webhooks.enqueue(conn, f"incident.{decision}", {"incident": inc.id, "intent": inc.intent, "by": by}, now)
            if decision != incidents.DISMISSED:
                return inc
            self.tickets.resolve_quietly(conn, inc.ticket_id, now)
            for cid in inc.conversations:
                conv, _ = conv_db.load(conn, cid, lock=True)
                if conv.ticket_id is not None and self.tickets.is_open(conn, conv.ticket_id):
                    continue
                state = conv.state
                prio, intent = last_problem(state)
                esc = Escalation(prio, f"incident {inc.id} about {inc.intent} was dismissed by {by}",
                                 intent or inc.intent)
                state.state, state.pending = State.QUEUED, None
                ticket, _ = self._escalate(conn, cid, state, esc, now)
                for r in self._handoff_replies(state, ticket, now):
                    conv_db.add_message(conn, cid, "bot", r.text, now)
                conv_db.save_state(conn, cid, state, now, ticket.id)
            return inc

    def incidents(self) -> list[incidents.Incident]:
        with reading(self.db) as conn:
            return incidents.listing(conn)

    def check_slas(self) -> list[Ticket]:
        """Flag tickets past their due time and announce each breach once; page on-call again for
        round-the-clock tickets still waiting outside every team's hours."""
        now = self.clock()
        self.page_oncall(now)
        return self.tickets.mark_breaches(
            now, on_breach=lambda conn, t: webhooks.enqueue(conn, "ticket.sla_breached", ticket_event(t), now))

    def page_oncall(self, now: float) -> list[Ticket]:
        """Page (a signed `oncall.page` webhook event) for every queued round-the-clock ticket that
        nobody working could take, again every `oncall_repage_minutes` until it is claimed."""
        return self.tickets.page_due(
            now, list(self.settings.round_the_clock), self.settings.oncall_repage_minutes * 60,
            want=lambda t: self._off_hours(t, now),
            on_page=lambda conn, t: webhooks.enqueue(conn, "oncall.page", oncall_event(t, now), now))

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

    def _handoff_replies(self, state: ConvState, ticket: Ticket, now: float) -> list[Reply]:
        """What the user is told: no internal codes, the reply time relative ("within about 25
        minutes", "tomorrow by 16:00") in the user's timezone when the widget gave it."""
        return [Reply(self._handoff_text(state.lang, ticket.due_at, now, state.tz, ticket.paged_at is not None))]

    def _handoff_text(self, lang: str, due: float, now: float, tz: str | None, paged: bool) -> str:
        left = round(due - now)  # whole seconds: float noise must not turn 30 minutes into 31
        if paged:
            eta = t(lang, "eta_oncall", minutes=max(1, math.ceil(left / 60)))
        elif left <= 3 * 3600:
            eta = t(lang, "eta_minutes", minutes=max(1, math.ceil(left / 60)))
        else:
            eta = reply_time(lang, now, due, tz, self.settings.display_timezone)
        return t(lang, "handoff") + " " + eta

    def handoff_preview(self, lang: str, priority: Priority, intent: str | None) -> str:
        """What a user handed over now with this priority would be told (for the editor's preview)."""
        meta = self.engine.model.meta.get(intent or "")
        teams = self._eligible(lang, meta.domain if meta else None)
        now = self.clock()
        return self._handoff_text(lang, self._due(priority, now, teams), now, None, False)

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
            conv, _ = conv_db.load(conn, ticket.conversation_id, lock=True)  # messages commit in seq order
            msg = conv_db.add_message(conn, ticket.conversation_id, "agent", text, now, author=agent)
            self._move(conn, ticket, State.WITH_AGENT, now, agent)
            if conv.state.contact:  # an e-mail conversation, or a user who left an address: by mail too
                self._mail_reply(conn, conv, text, agent, now)
            return msg

    def _mail_reply(self, conn, conv, text: str, agent: str, now: float) -> None:
        from bot.support import mail

        address, domain = mail.own_address(self.settings.mail_address)
        refs = mail.thread_ids(conn, conv.id)
        msg = mail.compose(sender=self.settings.mail_address, to=conv.state.contact,
                           subject=t(conv.state.lang, "mail_agent_subject"), body=text, in_reply_to=refs[-1] if refs else None,
                           references=refs, domain=domain, reply_to=mail.reply_address(address, conv.id),
                           lang=conv.state.lang, automatic=False)
        mail.enqueue(conn, msg, conv.id, now)

    def search_tickets(self, query: str, limit: int = 20) -> list[Ticket]:
        """Tickets by id prefix, intent, or a text in their conversation."""
        with reading(self.db) as conn:
            return self.tickets.search(conn, query, conv_db.with_text(conn, query), limit)

    def release(self, ticket_id: str, agent: str, token: int, to_team: str | None = None,
                note: str | None = None) -> Ticket:
        """Put the ticket back in the queue (optionally another team's, with a note for it); the
        user waits again."""
        now = self.clock()
        names = [team.name for team in self.teams]
        if to_team is not None and to_team not in names:
            raise DataError(f"unknown team {to_team!r}; teams: {', '.join(names)}")
        with self.db.begin() as conn:
            ticket = (self.tickets.transfer(ticket_id, agent, token, now, to_team, conn, note=note) if to_team
                      else self.tickets.release(ticket_id, agent, token, now, conn))
            if ticket.conversation_id:
                self._move(conn, ticket, State.QUEUED, now, agent, note="transferred" if to_team else None)
            return ticket

    def known_label(self, tag: str) -> str:
        """The label an agent's tag names: an intent of the model, or a live FAQ entry (`faq/<id>`
        or the bare id). DataError otherwise."""
        if tag in self.engine.model.meta and not faq_id_of(tag):
            return tag
        fid = faq_id_of(tag) or tag
        if fid in self.engine.faq_index.store:
            return faq_label(fid)
        raise DataError(f"unknown intent or FAQ entry {tag!r}: tag the conversation with an intent or a live entry")

    def close(self, ticket_id: str, agent: str, token: int, hand_back: bool, tag: str | None = None) -> Ticket:
        """Resolve the ticket; the conversation is resolved, or handed back to the bot. `tag` names
        the intent or FAQ entry that solved it: the user's question becomes a suggested phrasing
        for the editors. A ticket the bot could not place and the agent did not tag adds the
        question to the unanswered ones."""
        label = self.known_label(tag) if tag else None
        now = self.clock()
        with self.db.begin() as conn:
            ticket = self.tickets.resolve(ticket_id, agent, token, now, conn)
            if ticket.conversation_id:
                self._learn_from_ticket(conn, ticket, label, now)
                self._move(conn, ticket, State.BOT if hand_back else State.RESOLVED, now, agent,
                           note="back_to_bot" if hand_back else "resolved_by_agent")
            return ticket


    def _learn_from_ticket(self, conn, ticket: Ticket, label: str | None, now: float) -> None:
        question = conv_db.last_question(conn, ticket.conversation_id, ticket.created_at)
        if question is None:
            return
        if label is not None:
            signals.record(conn, Learned("agent_tagged", question.text, label), ticket.conversation_id,
                           ticket.language, now)
        elif ticket.intent in (None, OUT_OF_SCOPE):
            signals.record(conn, Learned("unanswered", question.text), ticket.conversation_id, ticket.language, now)


WEEKDAYS = {"en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
            "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日")}


def reply_time(lang: str, now: float, due: float, user_tz: str | None, fallback_tz: str) -> str:
    """ "today by 16:00", "tomorrow by 08:00", "by Monday 18 January, 16:00" in the user's
    timezone; in `fallback_tz`, named, when the user's is not known."""
    zone = ZoneInfo(user_tz or fallback_tz)
    at, today = datetime.fromtimestamp(due, zone), datetime.fromtimestamp(now, zone).date()
    time_ = at.strftime("%H:%M") + ("" if user_tz else f" ({fallback_tz})")
    days = (at.date() - today).days
    if days == 0:
        return t(lang, "eta_today", time=time_)
    if days == 1:
        return t(lang, "eta_tomorrow", time=time_)
    names = WEEKDAYS.get(lang, WEEKDAYS["en"])
    when = (f"{at.month}月{at.day}日{names[at.weekday()]} {time_}" if lang == "zh"
            else f"{names[at.weekday()]} {at.day} {at.strftime('%B')}, {time_}")
    return t(lang, "eta_at", when=when)


def oncall_event(t: Ticket, now: float) -> dict:
    return {"ticket_id": t.id, "priority": t.priority.value, "team": t.team, "language": t.language,
            "intent": t.intent, "created_at": t.created_at, "due_at": t.due_at, "paged_at": now,
            "waiting_seconds": round(now - t.created_at)}


def ticket_event(t: Ticket) -> dict:
    return {"ticket_id": t.id, "conversation_id": t.conversation_id, "priority": t.priority.value, "team": t.team,
            "language": t.language, "domain": t.domain, "created_at": t.created_at, "due_at": t.due_at,
            "breached": t.breached, "handoff": t.packet}

