"""End users: conversations and the Rasa-compatible REST channel."""
from __future__ import annotations

import hashlib
import hmac

import jwt
from fastapi import APIRouter, HTTPException, Query, Request, Response

from bot.interfaces.api.deps import (
    ClientLimited,
    ConversationId,
    ConversationPath,
    ServiceDep,
    bearer,
    client_id,
    conversation_state,
    get_context,
)
from bot.interfaces.api.schemas import (
    ButtonPublic,
    ContactIn,
    ContextIn,
    ConversationCreate,
    ConversationCreated,
    CsatIn,
    CsatPublic,
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


def context_signature(secret: str, conversation_id: str, tier: str | None, returns_24h: int) -> str:
    """What the operator's backend sends as `context.signature` (hex HMAC-SHA256)."""
    msg = f"{conversation_id}|{tier or ''}|{returns_24h}".encode()
    return hmac.new(secret.encode(), msg, hashlib.sha256).hexdigest()


def _trusted_context(request: Request, conversation_id: str, given: ContextIn | None) -> Context | None:
    """Context raises priority, so an end user cannot set it: it must be signed by the operator's
    backend (TRIAGE_CONTEXT_SECRET) for this conversation."""
    if given is None:
        return None
    secret = get_context(request).settings.context_secret
    if not secret:
        raise HTTPException(403, "message context is not accepted here: the operator has not configured "
                                 "TRIAGE_CONTEXT_SECRET to sign it")
    good = context_signature(secret, conversation_id, given.tier, given.returns_24h)
    if not given.signature or not hmac.compare_digest(given.signature.encode(), good.encode()):
        raise HTTPException(403, "message context needs a valid signature from the operator's backend")
    return Context(tier=given.tier.lower() if given.tier else None, returns_24h=given.returns_24h)


@router.post("/conversations", status_code=201, response_model=ConversationCreated, tags=["conversations"])
def create_conversation(request: Request, service: ServiceDep, body: ConversationCreate | None = None
                        ) -> ConversationCreated:
    """Start a conversation (optionally with the user's timezone, for the reply times they are
    told). The token grants access to this conversation only."""
    cid, token = service.create_conversation(client=client_id(request), timezone=body.timezone if body else None)
    return ConversationCreated(id=cid, token=token)


@router.post("/conversations/{conversation_id}/messages", response_model=TurnPublic, tags=["conversations"])
def send_message(conversation_id: ConversationPath, body: MessageCreate, request: Request,
                 service: ServiceDep) -> Response:
    """Send a user message (or a button payload) and get the bot's replies."""
    # The token is checked here rather than as a dependency: a plain-def dependency runs on its
    # own thread-pool hand-over, and this is every turn's path. Its read serves the turn too.
    known = conversation_state(request, conversation_id)
    _check_length(request, body.text)
    _check_rate(request, conversation_id)
    ctx = _trusted_context(request, conversation_id, body.context)
    turn = service.send(conversation_id, body.text, body.idempotency_key, ctx, known=known)
    get_context(request).metrics.turn(turn)
    out = TurnPublic(conversation_id=turn.conversation_id, state=turn.state.value, ticket_id=turn.ticket_id,
                     replayed=turn.replayed, long_wait=service.long_wait(turn.ticket_id),
                     user_message=MessagePublic.of(turn.user_message),
                     replies=[MessagePublic.of(m) for m in turn.replies])
    # Serialized here: a model returned from a plain-def route is validated again on another
    # thread-pool hand-over. The same JSON; `response_model` still documents it.
    return Response(out.model_dump_json(), media_type="application/json")


@router.get("/conversations/{conversation_id}/messages", response_model=TranscriptPublic, tags=["conversations"])
def read_transcript(conversation_id: ConversationId, service: ServiceDep,
                    after: int = Query(0, ge=0, le=2**31 - 1,
                                      description="Only messages after this sequence number.")
                    ) -> TranscriptPublic:
    state, msgs = service.transcript(conversation_id, after)
    ticket_id = service.conversation_ticket(conversation_id) if state.state.value == "queued" else None
    return TranscriptPublic(conversation_id=conversation_id, state=state.state.value, language=state.lang,
                            long_wait=service.long_wait(ticket_id), contact_left=state.contact is not None,
                            messages=[MessagePublic.of(m) for m in msgs])


@router.post("/conversations/{conversation_id}/contact", status_code=204, tags=["conversations"])
def leave_contact(conversation_id: ConversationId, body: ContactIn, service: ServiceDep) -> None:
    """Leave an e-mail address for the reply while waiting for a person (shown to the agent)."""
    service.leave_contact(conversation_id, body.email)


@router.post("/conversations/{conversation_id}/csat", response_model=CsatPublic, tags=["conversations"],
             responses={409: {"description": "the conversation has not been resolved yet"}})
def rate_conversation(conversation_id: ConversationId, body: CsatIn, service: ServiceDep) -> CsatPublic:
    """Rate the help (1–5, optional comment) once the conversation is resolved: an answer solved it
    or an agent resolved it. One rating per conversation; a second replaces the first."""
    return CsatPublic.of(service.rate(conversation_id, body.score, body.comment))


def _rasa_sender(request: Request, sender: str, token: str | None) -> str:
    """The conversation key of a Rasa REST-channel sender. With TRIAGE_RASA_TOKEN (`?token=`, as
    Rasa's --auth-token) or TRIAGE_RASA_JWT_SECRET (a HS256 `Authorization: Bearer` JWT, as
    Rasa's --jwt-secret) the caller is the operator's trusted front end and `sender` is taken as
    given. Without either, the channel is open: a sender id is then scoped to the calling client,
    so nobody can guess their way into another client's conversation."""
    s = get_context(request).settings
    if s.rasa_token or s.rasa_jwt_secret:
        if s.rasa_token and token and hmac.compare_digest(token.encode(), s.rasa_token.encode()):
            return sender
        jwt_token = bearer(request)
        if s.rasa_jwt_secret and jwt_token:
            try:
                jwt.decode(jwt_token, s.rasa_jwt_secret, algorithms=["HS256"])
                return sender
            except jwt.PyJWTError as e:
                raise HTTPException(401, f"invalid JWT: {e}", headers={"WWW-Authenticate": "Bearer"}) from None
        raise HTTPException(401, "the Rasa channel needs its token (?token=) or a JWT (Authorization: Bearer)",
                            headers={"WWW-Authenticate": "Bearer"})
    return f"{client_id(request)}:{sender}"


@router.post("/webhooks/rest/webhook", response_model=list[RasaReply], tags=["rasa"],
             responses={401: {"description": "the channel's token or JWT is missing or wrong"}})
def rasa_rest_webhook(body: RasaMessage, request: Request, service: ServiceDep,
                      token: str | None = Query(None, max_length=512, description="TRIAGE_RASA_TOKEN, when set.")
                      ) -> list[RasaReply]:
    """Rasa's REST channel: `{"sender", "message"}` in, `[{"recipient_id", "text", "buttons"?}]` out."""
    _check_length(request, body.message)
    cid = service.conversation_for_sender(_rasa_sender(request, body.sender, token), client=client_id(request))
    _check_rate(request, cid)
    turn = service.send(cid, body.message)
    get_context(request).metrics.turn(turn)
    return [RasaReply(recipient_id=body.sender, text=m.text,
                      buttons=[ButtonPublic(title=b.title, payload=b.payload) for b in m.buttons] or None)
            for m in turn.replies]
