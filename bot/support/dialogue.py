"""The conversation as explicit states, and one pure step per user message.

States: bot (the bot handles the next message), awaiting_confirmation (the bot asked "Did this
solve it?" or "Did you mean…?"), queued (a ticket waits for a person), with_agent (a person owns
the conversation; the bot is silent), resolved. Buttons carry payloads: /yes, /no,
/choose <intent>, /none, /human.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from bot.core.i18n import split_clauses, t
from bot.core.vocabulary import Priority, most_urgent
from bot.ml.policy import Decision, Route

HUMAN_INTENTS = frozenset({"request_human", "human_handoff", "talk_to_human"})
_YES = {"yes", "y", "yeah", "yep", "it did", "solved", "是", "是的", "解决了", "好了", "对"}
_NO = {"no", "n", "nope", "not really", "didn't", "否", "不是", "没有", "没解决", "不对"}


class State(str, Enum):
    BOT = "bot"
    AWAITING = "awaiting_confirmation"
    QUEUED = "queued"
    WITH_AGENT = "with_agent"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Button:
    title: str
    payload: str


@dataclass(frozen=True)
class Reply:
    text: str
    buttons: tuple[Button, ...] = ()
    about: str | None = None  # the intent an answer comes from (an FAQ answer links to its article)


@dataclass
class Pending:
    kind: str  # "solved" (answer given) or "choose" (candidates offered)
    options: list[str]  # intents still to offer, best first
    question: str  # the user's message that started it


@dataclass
class ConvState:
    state: State = State.BOT
    lang: str = "en"
    failed: int = 0  # failed attempts in a row
    pending: Pending | None = None
    tried: list[dict] = field(default_factory=list)  # what the bot offered and what the user said
    last_decision: dict | None = None
    tz: str | None = None  # the user's timezone (from the widget), for reply times
    contact: str | None = None  # an e-mail address the user left for the reply, when the wait is long

    def to_json(self) -> dict:
        """For `json.dumps` on every turn: nested values are shared, not deep-copied as `asdict`
        would (a tenth of a turn's time for a long conversation's `tried`)."""
        p = self.pending
        return {"state": self.state.value, "lang": self.lang, "failed": self.failed,
                "pending": {"kind": p.kind, "options": list(p.options), "question": p.question} if p else None,
                "tried": list(self.tried), "last_decision": self.last_decision, "tz": self.tz,
                "contact": self.contact}

    @classmethod
    def from_json(cls, d: dict) -> "ConvState":
        p = d.get("pending")
        return cls(State(d["state"]), d.get("lang", "en"), d.get("failed", 0), Pending(**p) if p else None,
                   list(d.get("tried", [])), d.get("last_decision"), d.get("tz"), d.get("contact"))


@dataclass(frozen=True)
class Escalation:
    priority: Priority
    reason: str
    intent: str | None
    asked_for_person: bool = False  # the user asked for a person (never answered with an incident's status)


@dataclass(frozen=True)
class Learned:
    """What a user's answer taught about one of their questions: `label` (an intent or
    `faq/<id>`) is what answered it ("chose": the user picked it, or said it solved the question
    after the bot's first guess missed); no label: nothing the bot offered helped ("not_helped")."""
    kind: str
    question: str
    label: str | None = None


@dataclass
class Outcome:
    state: ConvState
    replies: list[Reply]
    escalate: Escalation | None = None
    decision: Decision | None = None  # set when this step classified a new question
    learned: list[Learned] = field(default_factory=list)
    #: The user's answer to "Did this solve it?": (the intent answered, whether it helped).
    helped: tuple[str, bool] | None = None


@dataclass(frozen=True)
class Knowledge:
    """What the dialogue may ask of the engine, kept behind callables so this module stays pure."""

    classify: Callable[[str], Decision]
    answer: Callable[[str, str], str | None]  # (intent, lang) -> answer text or None
    title: Callable[[str, str], str]  # (intent, lang) -> button title
    max_failed: int = 2
    max_clauses: int = 4


def clauses(msg: str, cap: int) -> list[str]:
    """The clauses of a message handled one by one: at most `cap`, the rest kept as one text (a
    message of a hundred sentences is not a hundred questions)."""
    parts = split_clauses(msg)
    if len(parts) > cap:
        parts = parts[:cap - 1] + [" ".join(parts[cap - 1:])]
    return parts


def _solved_buttons(lang: str) -> tuple[Button, ...]:
    return (Button(t(lang, "yes"), "/yes"), Button(t(lang, "no"), "/no"), Button(t(lang, "human"), "/human"))


def _offer_answer(s: ConvState, intent: str, text: str, rest: list[str], question: str, k: Knowledge,
                  lead: str | None = None) -> Outcome:
    s.state, s.pending = State.AWAITING, Pending("solved", rest, question)
    s.tried.append({"offered": intent, "as": "answer"})
    replies = ([Reply(lead)] if lead else []) + [Reply(text, about=intent),
                                                 Reply(t(s.lang, "solved?"), _solved_buttons(s.lang))]
    return Outcome(s, replies)


def _offer_choices(s: ConvState, options: list[str], question: str, k: Knowledge) -> Outcome:
    s.state, s.pending = State.AWAITING, Pending("choose", options, question)
    s.tried.append({"offered": options, "as": "did_you_mean"})
    buttons = tuple(Button(k.title(o, s.lang), f"/choose {o}") for o in options) + (
        Button(t(s.lang, "none"), "/none"), Button(t(s.lang, "human"), "/human"))
    return Outcome(s, [Reply(t(s.lang, "did_you_mean"), buttons)])


def _last_answer(s: ConvState) -> str | None:
    """The intent of the last answer offered."""
    return next((x["offered"] for x in reversed(s.tried) if x.get("as") == "answer"), None)


def last_problem(s: ConvState) -> tuple[Priority, str | None]:
    """The priority and intent of the last question the user asked (P2, None before any)."""
    d = s.last_decision or {}
    return Priority(d.get("priority", "P2")), d.get("intent")


def _escalate(s: ConvState, priority: Priority, reason: str, intent: str | None, asked: bool = False) -> Outcome:
    s.state, s.pending = State.QUEUED, None
    return Outcome(s, [], Escalation(priority, reason, intent, asked))


def _after_failure(s: ConvState, k: Knowledge, reason: str, retry: Pending | None = None) -> Outcome:
    """Count a failed attempt: escalate at the limit, else offer the next answer or ask again."""
    s.failed += 1
    if s.failed >= k.max_failed:
        prio, intent = last_problem(s)
        return _escalate(s, prio, f"{reason}; {s.failed} failed attempts in a row", intent)
    if retry is not None:
        nxt = _answer_next(s, retry.options, retry.question, k, t(s.lang, "next_try"))
        if nxt is not None:
            return nxt
    s.state, s.pending = State.BOT, None
    # A helpful next step, never "I didn't get that": the user understood the bot; it missed.
    return Outcome(s, [Reply(t(s.lang, "not_helped_next"), (Button(t(s.lang, "human"), "/human"),))])


def _answer_next(s: ConvState, options: list[str], question: str, k: Knowledge, lead: str | None) -> Outcome | None:
    for i, intent in enumerate(options):
        text = k.answer(intent, s.lang)
        if text:
            return _offer_answer(s, intent, text, options[i + 1:], question, k, lead)
    return None


def _mixed(s: ConvState, msg: str, whole: Decision, k: Knowledge) -> Outcome | None:
    """A message holding a simple question beside a problem for a person: answer the simple parts
    and hand the rest over, in the same reply. None when the message is not like that."""
    found = clauses(msg, k.max_clauses)
    if len(found) < 2:
        return None
    parts = [(c, k.classify(c)) for c in found]
    for_person = [(c, d) for c, d in parts if d.route is Route.ESCALATE and d.intent is not None]
    if not for_person:
        return None
    replies = []
    for part, d in parts:
        if d.route is Route.ESCALATE or d.intent in HUMAN_INTENTS:
            continue
        text = k.answer(d.intent, s.lang) if d.intent else None
        if text:
            s.tried.append({"offered": d.intent, "as": "answer to part of the message", "part": part})
            replies.append(Reply(f"{t(s.lang, 'about')} “{part}”: {text}"))
    part, urgent = min(for_person, key=lambda cd: cd[1].priority.rank)
    priority = min(urgent.priority, whole.priority, key=lambda p: p.rank) if whole.route is Route.ESCALATE \
        else urgent.priority
    why = urgent.reasons[-1] if urgent.reasons else "it needs a person"
    out = _escalate(s, priority, f"part of the message needs a person (“{part}”: {why})", urgent.intent)
    out.replies = replies
    return out


def step(s: ConvState, text: str, k: Knowledge) -> Outcome:
    """Handle one user message; `s` is updated in place and returned in the outcome."""
    msg = text.strip()
    low = msg.lower().rstrip("!.。！ ")
    if s.state in (State.QUEUED, State.WITH_AGENT):
        return Outcome(s, [])  # a person owns it: the message reaches the agent, the bot stays silent

    if msg == "/human":
        s.tried.append({"user": "asked for a person"})
        return _escalate(s, last_problem(s)[0], "the user asked for a person", last_problem(s)[1], asked=True)

    p = s.pending if s.state is State.AWAITING else None
    if p is not None and p.kind == "solved":
        if msg == "/yes" or low in _YES:
            offered = _last_answer(s)
            s.tried.append({"user": "solved"})
            s.state, s.pending, s.failed = State.RESOLVED, None, 0
            out = Outcome(s, [Reply(t(s.lang, "glad"))], helped=(offered, True) if offered else None)
            if offered and offered != (s.last_decision or {}).get("intent"):
                out.learned.append(Learned("chose", p.question, offered))  # not the bot's first guess
            return out
        if msg == "/no" or low in _NO:
            offered = _last_answer(s)
            s.tried.append({"user": "not solved"})
            out = _after_failure(s, k, "the answers offered did not solve it", retry=p)
            out.learned.append(Learned("not_helped", p.question))
            out.helped = (offered, False) if offered else None
            return out
    if p is not None and p.kind == "choose":
        if msg.startswith("/choose "):
            intent = msg[len("/choose "):].strip()
            if intent not in p.options:  # only what was offered: no forged intents
                return Outcome(s, [Reply(t(s.lang, "choose_offered"))])
            s.tried.append({"user": f"chose {intent}"})
            s.failed = 0
            out = (_answer_next(s, [intent], p.question, k, None)
                   or _escalate(s, last_problem(s)[0], f"the user chose {intent}, which needs a person", intent))
            out.learned.append(Learned("chose", p.question, intent))
            return out
        if msg == "/none":
            s.tried.append({"user": "none of these"})
            out = _after_failure(s, k, "none of the suggestions fitted")
            out.learned.append(Learned("not_helped", p.question))
            return out

    # A new question.
    if msg.startswith("/"):
        return Outcome(s, [Reply(t(s.lang, "rephrase"))])
    d = k.classify(msg)
    out = _new_question(s, msg, d, k)
    out.decision = d
    return out


def _small_talk(s: ConvState, d: Decision, text: str) -> Outcome:
    """A greeting, thanks or goodbye gets its reply and no follow-up. Said right after an answer
    ("thanks, that helped"), it closes the question as solved."""
    s.tried.append({"offered": d.intent, "as": "small talk"})
    if s.pending is not None and s.pending.kind == "solved":
        s.tried.append({"user": "solved"})
        s.state, s.pending, s.failed = State.RESOLVED, None, 0
    else:
        s.state, s.pending = State.BOT, None
    return Outcome(s, [Reply(text)])


def _new_question(s: ConvState, msg: str, d: Decision, k: Knowledge) -> Outcome:
    before, about = last_problem(s) if s.last_decision else (d.priority, None)
    s.lang = d.lang
    s.last_decision = d.state_json()
    s.tried.append({"user_said": msg, "route": d.route.value, "intent": d.intent,
                    "confidence": round(d.confidence, 3)})
    if d.intent in HUMAN_INTENTS:
        # The request is about the problem the user already described: it keeps that priority.
        return _escalate(s, most_urgent(d.priority, before), "the user asked for a person", about or d.intent,
                         asked=True)
    mixed = _mixed(s, msg, d, k)
    if mixed is not None:
        return mixed
    if d.route is Route.ESCALATE:
        why = d.reasons[-1] if d.reasons else "the bot cannot handle this"
        return _escalate(s, d.priority, why, d.intent)
    options = [c.intent for c in d.candidates if c.intent not in HUMAN_INTENTS]
    if d.route is Route.ANSWER and d.small_talk:
        text = k.answer(d.intent, s.lang) if d.intent else None
        if text:
            return _small_talk(s, d, text)
    if d.route is Route.ANSWER:
        out = _answer_next(s, [d.intent] + [o for o in options if o != d.intent], msg, k, None)
        if out is not None:
            return out
        return _escalate(s, d.priority, f"{d.intent} has no answer the bot can give", d.intent)
    return _offer_choices(s, options, msg, k)
