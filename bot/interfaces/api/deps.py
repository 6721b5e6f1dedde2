"""FastAPI dependencies: the service, who is calling, and their rights."""
from __future__ import annotations

import hmac
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request

from bot.interfaces.api import session
from bot.support.service import ChatService

AGENT, EDITOR, ADMIN = "agent", "editor", "admin"


@dataclass(frozen=True)
class Staff:
    name: str
    roles: frozenset[str]


class Credentials:
    """API keys of agents, editors and admins (admins hold every role)."""

    def __init__(self, agents: dict[str, str], editors: dict[str, str], admins: dict[str, str]):
        self._keys: list[tuple[str, Staff]] = []
        roles: dict[tuple[str, str], set[str]] = {}
        for table, role in ((agents, {AGENT}), (editors, {EDITOR}), (admins, {AGENT, EDITOR, ADMIN})):
            for name, key in table.items():
                roles.setdefault((name, key), set()).update(role)
        self._keys = [(key, Staff(name, frozenset(r))) for (name, key), r in roles.items()]

    def lookup(self, key: str) -> Staff | None:
        found = None
        for k, staff in self._keys:  # compare against all keys: no early exit on a match
            if hmac.compare_digest(k.encode(), key.encode()):
                found = staff
        return found


def get_service(request: Request) -> ChatService:
    return request.app.state.service


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
    found = session.verify(request.app.state.session_secret, cookie, time.time())
    return Staff(found[0], found[1]) if found else None


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
    staff = request.app.state.credentials.lookup(token)
    if staff is None:
        if request.app.state.service.conversation_of_token(token):
            raise HTTPException(403, f"a conversation token cannot act as {acting_as}")
        raise _unauthorized("invalid credentials")
    return staff


def require(role: str):
    def dep(request: Request) -> Staff:
        staff = _caller(request, role)
        if role not in staff.roles:
            raise HTTPException(403, f"{staff.name} lacks the {role} role")
        request.app.state.seen_staff(staff)
        return staff
    return dep


CurrentAgent = Annotated[Staff, Depends(require(AGENT))]
CurrentEditor = Annotated[Staff, Depends(require(EDITOR))]
CurrentAdmin = Annotated[Staff, Depends(require(ADMIN))]


def require_staff(request: Request) -> Staff:
    """Anyone signed in with a role (agent, editor or admin)."""
    return _caller(request, "staff")


CurrentStaff = Annotated[Staff, Depends(require_staff)]


def conversation_access(request: Request, conversation_id: Annotated[str, Path(max_length=64)]) -> str:
    """The caller holds this conversation's token: 401 without a valid token, 403 for another's."""
    token = bearer(request)
    if token is None:
        raise _unauthorized("missing bearer credentials")
    service: ChatService = request.app.state.service
    if service.check_token(conversation_id, token):
        return conversation_id
    if service.conversation_of_token(token) or request.app.state.credentials.lookup(token):
        raise HTTPException(403, "this token does not grant access to that conversation")
    raise _unauthorized("invalid credentials")


ConversationId = Annotated[str, Depends(conversation_access)]


def client_key(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def client_rate_limit(request: Request) -> None:
    if not request.app.state.client_limiter.allow(client_key(request)):
        raise HTTPException(429, "too many requests from this client; slow down", headers={"Retry-After": "10"})


ClientLimited = Depends(client_rate_limit)
