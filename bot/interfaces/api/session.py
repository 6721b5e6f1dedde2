"""Browser sign-in: a signed, expiring session cookie standing for an API key's holder and roles.

The cookie carries no key, only `name|roles|expiry` and an HMAC over them. The signing secret is
TRIAGE_SESSION_SECRET, or else derived from the configured credentials, so every server with the
same configuration accepts the same cookies (and changing a key signs everyone out).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass

AGENT, EDITOR, ADMIN = "agent", "editor", "admin"
COOKIE = "triage_session"
#: Header the pages send with every request; a cross-site form cannot set it.
CSRF_HEADER = "x-triage-csrf"


def derive_secret(explicit: str | None, credentials: list[dict[str, str]]) -> bytes:
    if explicit:
        return explicit.encode()
    blob = json.dumps([sorted(c.items()) for c in credentials], sort_keys=True).encode()
    return hashlib.sha256(b"triage-session\0" + blob).digest()


def sign(secret: bytes, name: str, roles: frozenset[str], expires: float) -> str:
    # A nonce makes every sign-in's cookie distinct, so signing one out never revokes another.
    payload = [name, sorted(roles), int(expires), secrets.token_hex(8)]
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()
    mac = hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def parts(cookie: str) -> tuple[str, int] | None:
    """(MAC, expiry) of a cookie this server could have signed (not verified), or None."""
    body, _, mac = cookie.partition(".")
    try:
        return mac, int(json.loads(base64.urlsafe_b64decode(body.encode()))[2])
    except (ValueError, TypeError, IndexError):
        return None


def verify(secret: bytes, cookie: str, now: float) -> tuple[str, frozenset[str]] | None:
    if not cookie.isascii():  # a cookie this server signed is ASCII; anything else is forged or garbled
        return None
    body, _, mac = cookie.partition(".")
    good = hmac.new(secret, body.encode(), hashlib.sha256).hexdigest()
    if not mac or not hmac.compare_digest(mac, good):
        return None
    try:
        name, roles, expires = json.loads(base64.urlsafe_b64decode(body.encode()))[:3]
    except (ValueError, TypeError):
        return None
    if not isinstance(name, str) or not isinstance(roles, list) or not isinstance(expires, int) or expires <= now:
        return None
    return name, frozenset(str(r) for r in roles)


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
