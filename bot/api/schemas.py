"""Wire schemas: one model per direction."""
from __future__ import annotations

from pydantic import BaseModel, Field

from bot.conversations import Message
from escalation.store import Ticket


class ConversationCreated(BaseModel):
    id: str
    token: str = Field(description="Bearer token for this conversation only. Shown once.")


class MessageCreate(BaseModel):
    text: str = Field(min_length=1, description="The user's message, or a button payload such as /yes.")
    idempotency_key: str | None = Field(None, min_length=1, max_length=128,
                                        description="Retry a send with the same key: stored once, same reply.")


class ButtonPublic(BaseModel):
    title: str
    payload: str


class MessagePublic(BaseModel):
    id: str
    seq: int
    role: str
    text: str
    buttons: list[ButtonPublic] = []
    author: str | None = None
    created_at: float

    @classmethod
    def of(cls, m: Message) -> "MessagePublic":
        return cls(id=m.id, seq=m.seq, role=m.role, text=m.text, author=m.author, created_at=m.created_at,
                   buttons=[ButtonPublic(title=b.title, payload=b.payload) for b in m.buttons])


class TurnPublic(BaseModel):
    conversation_id: str
    state: str
    ticket_id: str | None
    replayed: bool
    user_message: MessagePublic
    replies: list[MessagePublic]


class TranscriptPublic(BaseModel):
    conversation_id: str
    state: str
    language: str
    messages: list[MessagePublic]


class RasaMessage(BaseModel):
    sender: str = Field(min_length=1, max_length=128)
    message: str = Field(min_length=1)


class RasaReply(BaseModel):
    recipient_id: str
    text: str
    buttons: list[ButtonPublic] | None = None


class TicketPublic(BaseModel):
    id: str
    conversation_id: str | None
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

    @classmethod
    def of(cls, t: Ticket) -> "TicketPublic":
        return cls(id=t.id, conversation_id=t.conversation_id, status=t.status.value, priority=t.priority.value,
                   team=t.team, language=t.language, domain=t.domain, created_at=t.created_at, due_at=t.due_at,
                   agent=t.agent, lease_until=t.lease_until, claim_token=t.claim_token, breached=t.breached)


class TicketDetail(TicketPublic):
    packet: dict
    transcript: list[MessagePublic]


class TicketsPublic(BaseModel):
    data: list[TicketPublic]
    count: int


class ClaimNext(BaseModel):
    teams: list[str] | None = None


class ClaimToken(BaseModel):
    claim_token: int = Field(ge=0)


class AgentReply(ClaimToken):
    text: str = Field(min_length=1)


class Transfer(ClaimToken):
    team: str = Field(min_length=1, max_length=64)


class StatusPublic(BaseModel):
    agents_online: int
    queue: dict[str, int]
    average_wait_seconds: float
    breached: int
