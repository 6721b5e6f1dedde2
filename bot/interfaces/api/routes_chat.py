"""End users: conversations and the Rasa-compatible REST channel."""
from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request

from bot.interfaces.api.deps import (
    ClientLimited,
    ConversationId,
    ServiceDep,
    get_context,
)
from bot.interfaces.api.schemas import (
    ButtonPublic,
    ConversationCreated,
    MessageCreate,
    MessagePublic,
    RasaMessage,
    RasaReply,
    TranscriptPublic,
    TurnPublic,
)
from escalation.urgency import Context

router = APIRouter(dependencies=[ClientLimited])


def _check_length(request: Request, text: str) -> None:
    limit = get_context(request).settings.max_message_chars
    if len(text) > limit:
        raise HTTPException(413, f"message is longer than {limit} characters")


def _check_rate(request: Request, cid: str) -> None:
    if not get_context(request).conversation_limiter.allow(cid):
        raise HTTPException(429, "too many messages in this conversation; slow down", headers={"Retry-After": "5"})


@router.post("/conversations", status_code=201, response_model=ConversationCreated, tags=["conversations"])
def create_conversation(service: ServiceDep) -> ConversationCreated:
    """Start a conversation. The token grants access to this conversation only."""
    cid, token = service.create_conversation()
    return ConversationCreated(id=cid, token=token)


@router.post("/conversations/{conversation_id}/messages", response_model=TurnPublic, tags=["conversations"])
def send_message(conversation_id: ConversationId, body: MessageCreate, request: Request,
                 service: ServiceDep) -> TurnPublic:
    """Send a user message (or a button payload) and get the bot's replies."""
    _check_length(request, body.text)
    _check_rate(request, conversation_id)
    ctx = Context(tier=body.context.tier.lower() if body.context.tier else None,
                  returns_24h=body.context.returns_24h) if body.context else None
    turn = service.send(conversation_id, body.text, body.idempotency_key, ctx)
    get_context(request).metrics.turn(turn)
    return TurnPublic(conversation_id=turn.conversation_id, state=turn.state.value, ticket_id=turn.ticket_id,
                      replayed=turn.replayed, user_message=MessagePublic.of(turn.user_message),
                      replies=[MessagePublic.of(m) for m in turn.replies])


@router.get("/conversations/{conversation_id}/messages", response_model=TranscriptPublic, tags=["conversations"])
def read_transcript(conversation_id: ConversationId, service: ServiceDep,
                    after: int = Query(0, ge=0, le=2**31 - 1,
                                      description="Only messages after this sequence number.")
                    ) -> TranscriptPublic:
    state, msgs = service.transcript(conversation_id, after)
    return TranscriptPublic(conversation_id=conversation_id, state=state.state.value, language=state.lang,
                            messages=[MessagePublic.of(m) for m in msgs])


@router.post("/webhooks/rest/webhook", response_model=list[RasaReply], tags=["rasa"])
def rasa_rest_webhook(body: RasaMessage, request: Request, service: ServiceDep) -> list[RasaReply]:
    """Rasa's REST channel: `{"sender", "message"}` in, `[{"recipient_id", "text", "buttons"?}]` out."""
    _check_length(request, body.message)
    cid = service.conversation_for_sender(body.sender)
    _check_rate(request, cid)
    turn = service.send(cid, body.message)
    get_context(request).metrics.turn(turn)
    return [RasaReply(recipient_id=body.sender, text=m.text,
                      buttons=[ButtonPublic(title=b.title, payload=b.payload) for b in m.buttons] or None)
            for m in turn.replies]
