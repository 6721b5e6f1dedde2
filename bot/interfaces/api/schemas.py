"""Wire schemas: one model per direction. Public models read domain objects by their attributes
(`Model.of(obj)`), so a domain field is written once, in its dataclass."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator


class FromDomain(BaseModel):
    """A public model filled from a domain dataclass's attributes."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, obj):
        return cls.model_validate(obj)


class ConversationCreate(BaseModel):
    timezone: str | None = Field(None, max_length=64, description="The user's IANA timezone (e.g. Europe/Berlin), "
                                                                  "for the reply times they are told.")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str | None) -> str | None:
        if v is None:
            return v
        from zoneinfo import ZoneInfo

        try:
            ZoneInfo(v)
        except (ValueError, KeyError, OSError):
            raise ValueError(f"unknown timezone {v!r}: use an IANA name such as Europe/Berlin") from None
        return v


class ConversationCreated(BaseModel):
    id: str
    token: str = Field(description="Bearer token for this conversation only. Shown once.")


class ContextIn(BaseModel):
    """What the operator's backend knows of the user. It raises priority, so it is believed only
    with `signature`: hex HMAC-SHA256 under TRIAGE_CONTEXT_SECRET of
    `"{conversation_id}|{tier or ''}|{returns_24h}"` (see the README's threat model)."""

    tier: str | None = Field(None, max_length=32, description="Customer tier; vip/premium raise routine requests.")
    returns_24h: StrictInt = Field(0, ge=0, le=10_000, description="Times this user came back in the last 24 hours.")
    signature: str | None = Field(None, max_length=128, description="The operator backend's signature of this context.")


class MessageCreate(BaseModel):
    text: str = Field(min_length=1, description="The user's message, or a button payload such as /yes.")
    idempotency_key: str | None = Field(None, min_length=1, max_length=128,
                                        description="Retry a send with the same key: stored once, same reply.")
    context: ContextIn | None = None


class CsatIn(BaseModel):
    score: int = Field(ge=1, le=5, description="1 (very unhappy) to 5 (very happy).")
    comment: str | None = Field(None, max_length=2000, description="Optional; personal data is redacted.")


class CsatPublic(FromDomain):
    conversation_id: str
    score: int
    comment: str | None
    answered_by: str = Field(description="bot, or agent when an agent resolved the conversation.")
    agent: str | None
    intent: str | None
    replaced: bool = Field(description="An earlier rating of this conversation was replaced.")


class ButtonPublic(FromDomain):
    title: str
    payload: str


class MessagePublic(FromDomain):
    id: str
    seq: int
    role: str
    text: str
    buttons: list[ButtonPublic] = []
    author: str | None = None
    created_at: float
    article: str | None = Field(None, description="For an answer from the FAQ: its help center article.")


class ContactIn(BaseModel):
    email: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
                       description="Where the user also wants the reply.")


class TurnPublic(BaseModel):
    conversation_id: str
    state: str
    ticket_id: str | None
    replayed: bool
    long_wait: bool = Field(False, description="A person will take longer than 3 hours: the widget offers to leave "
                                               "an e-mail address (POST /conversations/{id}/contact).")
    user_message: MessagePublic
    replies: list[MessagePublic]


class TranscriptPublic(BaseModel):
    conversation_id: str
    state: str
    language: str
    long_wait: bool = False
    contact_left: bool = False
    messages: list[MessagePublic]


class RasaMessage(BaseModel):
    sender: str = Field(min_length=1, max_length=128)
    message: str = Field(min_length=1)


class RasaReply(BaseModel):
    recipient_id: str
    text: str
    buttons: list[ButtonPublic] | None = None


class TicketPublic(FromDomain):
    id: str
    conversation_id: str | None = Field(description="None for an incident's ticket, which groups many")
    status: str
    priority: str
    team: str
    language: str | None
    domain: str | None
    created_at: float
    due_at: float
    agent: str | None
    lease_until: float | None
    claim_token: int
    breached: bool
    intent: str | None = None
    incident_id: str | None = Field(None, description="Set on an incident's ticket")


class TicketDetail(TicketPublic):
    packet: dict
    transcript: list[MessagePublic]
    titles: dict[str, str] = Field({}, description="Titles of the intents and entries the packet names, in the "
                                                   "ticket's language.")
    contact_email: str | None = Field(None, description="An e-mail address the user left for the reply.")


class TicketsPublic(BaseModel):
    data: list[TicketPublic]
    count: int


class ClaimNext(BaseModel):
    teams: list[str] | None = None


class IncidentPublic(FromDomain):
    id: str
    intent: str
    ticket_id: str
    opened_at: float
    conversations: list[str]
    status: Literal["open", "confirmed", "dismissed"]
    decided_by: str | None = None


class ClaimToken(BaseModel):
    claim_token: StrictInt = Field(ge=0, le=2**31 - 1, description="The token from the claim (an integer).")


class Resolve(ClaimToken):
    tag: str | None = Field(None, min_length=1, max_length=200,
                            description="The intent or FAQ entry that solved it (`faq/<id>` or the id): the "
                                        "user's question becomes a suggested phrasing for the editors.")


class SuggestionDecision(BaseModel):
    signal_ids: list[str] = Field(min_length=1, max_length=500)


class SuggestionApproval(SuggestionDecision):
    faq_id: str = Field(pattern=r"^[A-Za-z0-9_.\-]{1,128}$", description="The entry that gains the phrasings.")


class AgentReply(ClaimToken):
    text: str = Field(min_length=1)


class Transfer(ClaimToken):
    team: str = Field(min_length=1, max_length=64)
    note: str | None = Field(None, max_length=2000, description="For the next team's agent; travels in the packet.")


class CannedIn(BaseModel):
    title: str = Field(min_length=1, max_length=120)
    text: str = Field(min_length=1, max_length=8000)
    lang: str | None = Field(None, max_length=16)


class CannedPublic(CannedIn, FromDomain):
    id: str
    updated_by: str
    updated_at: float


class StatusPublic(BaseModel):
    agents_online: int
    queue: dict[str, int]
    average_wait_seconds: float
    breached: int


class FaqIn(BaseModel):
    questions: list[str] = Field(min_length=1, description="Phrasings, any language.")
    answers: dict[str, str] = Field(min_length=1, description="Answer per language code, e.g. {'en': …, 'zh': …}.")
    lang: str | None = Field(None, max_length=16)
    tags: list[str] = []
    complexity: Literal["simple", "medium", "complex"] = "simple"
    priority: Literal["P0", "P1", "P2"] = "P2"
    titles: dict[str, str] = Field({}, description="What a 'Did you mean…?' button says, per language.")

    @field_validator("titles")
    @classmethod
    def _titles(cls, v: dict[str, str]) -> dict[str, str]:
        v = {k: t.strip() for k, t in v.items() if t.strip()}
        if any(len(t) > 120 for t in v.values()):
            raise ValueError("a title is at most 120 characters")
        return v

    @field_validator("questions")
    @classmethod
    def _questions(cls, v: list[str]) -> list[str]:
        v = [q.strip() for q in v]
        if any(not q for q in v):
            raise ValueError("questions must not be empty")
        return v

    @field_validator("answers")
    @classmethod
    def _answers(cls, v: dict[str, str]) -> dict[str, str]:
        if any(not a.strip() for a in v.values()):
            raise ValueError("answers must not be empty")
        return v

    def entry(self, faq_id: str):
        from bot.core.vocabulary import Complexity, Priority
        from kb_index.store import FaqEntry

        return FaqEntry(faq_id, self.questions, self.answers, self.lang, self.tags,
                        Complexity(self.complexity), Priority(self.priority), dict(self.titles))


class FaqPublic(FaqIn, FromDomain):
    id: str


class FaqsPublic(BaseModel):
    data: list[FaqPublic]
    drafts: list[str]
    count: int


class VersionPublic(FromDomain):
    version: int
    kind: str
    author: str
    created_at: float
    entry: FaqPublic | None


class FaqDetail(BaseModel):
    id: str
    live: FaqPublic | None
    draft: VersionPublic | None
    versions: list[VersionPublic]
    trained: FaqPublic | None = Field(None, description="The entry as the model was trained (version 0).")


class Rollback(BaseModel):
    version: int = Field(ge=0, le=2**31 - 1, description="0 restores the entry as trained.")


class TryIn(BaseModel):
    text: str = Field(min_length=1, max_length=4096)
    with_drafts: bool = True


class CandidatePublic(BaseModel):
    intent: str
    confidence: float


class DecisionPublic(BaseModel):
    text: str
    intent: str | None
    confidence: float
    route: str
    priority: str
    faq_id: str | None
    answer: str | None
    candidates: list[CandidatePublic]
    reasons: list[str]
    customer_view: list[dict] = Field([], description="The replies (text and button titles) the customer would see.")


class GoldenIn(BaseModel):
    question: str = Field(min_length=1, max_length=4096)
    expected: str = Field(min_length=1, max_length=200,
                          description="Intent the question must reach: `faq/<id>`, an intent, or `out_of_scope`.")


class GoldenPublic(GoldenIn):
    id: str
    created_by: str
    created_at: float
    stale: bool = Field(False, description="Its expected intent or entry no longer exists: it is skipped "
                                           "by the publish gate until fixed or deleted.")


class AuditPublic(BaseModel):
    seq: int
    at: float
    actor: str
    action: str
    target: str | None
    detail: dict
