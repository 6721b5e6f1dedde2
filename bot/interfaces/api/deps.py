"""FastAPI dependencies: the service, who is calling, and their rights."""
from __future__ import annotations

import hashlib
import hmac
import time
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request

from bot.interfaces.api import session
from bot.interfaces.api.context import AppContext
from bot.interfaces.api.session import ADMIN, AGENT, EDITOR, Staff
from bot.support import revocations
from bot.support.dialogue import ConvState
from bot.support.service import ChatService


def get_context(request: Request) -> AppContext:
    return request.app.state.context


# Dependencies that neither block nor touch the database are `async def`: FastAPI runs a plain
# `def` dependency on its thread pool, a hand-over and back for each (four per chat message
# before, about a fifth of the event loop's time per turn).
async def get_service(request: Request) -> ChatService:
    return get_context(request).service


ServiceDep = Annotated[ChatService, Depends(get_service)]


def bearer(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": "Bearer"})


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def session_staff(request: Request) -> Staff | None:
    """The signed-in person of a browser session cookie, if valid and unexpired."""
    cookie = request.cookies.get(session.COOKIE)
    if not cookie:
        return None
    found = session.verify(get_context(request).session_secret, cookie, time.time())
    if found is None or revocations.is_revoked(get_context(request).service.db, cookie.partition(".")[2]):
        return None
    return Staff(found[0], found[1])


def _caller(request: Request, acting_as: str) -> Staff:
    """Who calls: an API key (Bearer) or a sign-in cookie; cookie writes need the CSRF header."""
    token = bearer(request)
    if token is None:
        staff = session_staff(request)
        if staff is None:
            raise _unauthorized("missing bearer credentials or sign-in session")
        if request.method not in SAFE_METHODS and session.CSRF_HEADER not in request.headers:
            raise HTTPException(403, f"requests signed in by cookie must send the {session.CSRF_HEADER} header")
        return staff
    staff = get_context(request).credentials.lookup(token)
    if staff is None:
        if get_context(request).service.conversation_of_token(token):
            raise HTTPException(403, f"a conversation token cannot act as {acting_as}")
        raise _unauthorized("invalid credentials")
    return staff


def require(role: str):
    def dep(request: Request) -> Staff:
        staff = _caller(request, role)
        if role not in staff.roles:
            raise HTTPException(403, f"{staff.name} lacks the {role} role")
        get_context(request).seen(staff)
        return staff
    return dep


CurrentAgent = Annotated[Staff, Depends(require(AGENT))]
CurrentEditor = Annotated[Staff, Depends(require(EDITOR))]
CurrentAdmin = Annotated[Staff, Depends(require(ADMIN))]


def require_staff(request: Request) -> Staff:
    """Anyone signed in with a role (agent, editor or admin)."""
    return _caller(request, "staff")


CurrentStaff = Annotated[Staff, Depends(require_staff)]


ConversationPath = Annotated[str, Path(max_length=64)]


def conversation_state(request: Request, conversation_id: str) -> ConvState:
    """The conversation's state, if the caller holds its token: 401 without a valid token, 403
    for another conversation's."""
    token = bearer(request)
    if token is None:
        raise _unauthorized("missing bearer credentials")
    service = get_context(request).service
    state = service.state_for_token(conversation_id, token)
    if state is not None:
        return state
    if service.conversation_of_token(token) or get_context(request).credentials.lookup(token):
        raise HTTPException(403, "this token does not grant access to that conversation")
    raise _unauthorized("invalid credentials")


def conversation_access(request: Request, conversation_id: ConversationPath) -> str:
    """The caller holds this conversation's token (see `conversation_state`)."""
    conversation_state(request, conversation_id)
    return conversation_id


ConversationId = Annotated[str, Depends(conversation_access)]


def client_address(request: Request) -> str:
    """The client's address: the connecting one, or, when that is a trusted proxy
    (TRIAGE_TRUSTED_PROXIES), the last address in X-Forwarded-For that is not a trusted proxy."""
    peer = request.client.host if request.client else "unknown"
    trusted = get_context(request).settings.trusted_proxies
    if peer not in trusted:
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop[:64]
    return peer


def client_id(request: Request) -> str:
    """An opaque, keyed hash of the client's address: enough to tell clients apart, never the
    address itself (it is personal data)."""
    digest = hmac.new(get_context(request).session_secret, client_address(request).encode(), hashlib.sha256)
    return digest.hexdigest()[:32]


async def client_rate_limit(request: Request) -> None:
    if not get_context(request).client_limiter.allow(client_address(request)):
        raise HTTPException(429, "too many requests from this client; slow down", headers={"Retry-After": "10"})


ClientLimited = Depends(client_rate_limit)
