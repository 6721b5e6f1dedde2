"""Incidents: a burst of the same problem from many users is one outage, not many tickets.

When tickets about one intent reach `min_conversations` distinct conversations from at least
`min_clients` different clients within `window_seconds`, an incident opens: one P0 ticket groups
the conversations, and later users with the same problem get a "we know, here is the status"
answer instead of a ticket each, unless their problem is P0 (money or security at risk) or they
ask for a person: those get a ticket of their own, linked to the incident. Staff confirm an
incident or dismiss it (a false alarm: it ends, and the users it answered get their tickets). It
also ends when its ticket is resolved.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from sqlalchemy import Column, Float, String, Table, Text, func, select, update

from bot.core.db import metadata
from bot.core.errors import ConflictError, NotFoundError
from bot.core.vocabulary import Priority
from escalation.store import Status, TicketStore, tickets

incidents = Table(
    "incidents",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("intent", String(200), nullable=False),
    Column("open_key", String(200), nullable=True, unique=True),
    Column("ticket_id", String(36), nullable=False),
    Column("opened_at", Float, nullable=False),
    Column("conversations", Text, nullable=False, server_default="[]"),
    Column("status", String(16), nullable=False, server_default="open"),  # open, confirmed, dismissed
    Column("decided_by", String(64), nullable=True),
    Column("decided_at", Float, nullable=True),
)

OPEN, CONFIRMED, DISMISSED = "open", "confirmed", "dismissed"


@dataclass(frozen=True)
class Incident:
    id: str
    intent: str
    ticket_id: str
    opened_at: float
    conversations: list[str]
    status: str = OPEN
    decided_by: str | None = None


def _row(r) -> Incident:
    return Incident(r.id, r.intent, r.ticket_id, r.opened_at, json.loads(r.conversations), r.status, r.decided_by)


def get(conn, incident_id: str) -> Incident:
    r = conn.execute(select(incidents).where(incidents.c.id == incident_id)).one_or_none()
    if r is None:
        raise NotFoundError("incident", incident_id)
    return _row(r)


def listing(conn, limit: int = 50) -> list[Incident]:
    """The newest incidents, open ones first."""
    rows = conn.execute(select(incidents).order_by(incidents.c.open_key.is_(None), incidents.c.opened_at.desc())
                        .limit(limit)).all()
    return [_row(r) for r in rows]


def counting_since(conn, intent: str, since: float) -> float:
    """Where the count of a burst starts: `since`, or later when staff dismissed an incident about
    `intent` since then (a false alarm does not reopen itself from the same tickets)."""
    last = conn.execute(select(func.max(incidents.c.decided_at)).where(
        incidents.c.intent == intent, incidents.c.status == DISMISSED)).scalar()
    return max(since, last) if last is not None else since


def decide(conn, incident: Incident, decision: str, by: str, now: float) -> Incident:
    """Staff confirm an open incident or dismiss it (dismissed: it ends at once)."""
    if decision not in (CONFIRMED, DISMISSED):
        raise ValueError(decision)
    if incident.status == DISMISSED:
        raise ConflictError(f"incident {incident.id} was already dismissed")
    values = {"status": decision, "decided_by": by, "decided_at": now}
    if decision == DISMISSED:
        values["open_key"] = None
    conn.execute(update(incidents).where(incidents.c.id == incident.id).values(**values))
    return get(conn, incident.id)


def open_incident(conn, intent: str) -> Incident | None:
    """The open incident for `intent`, if any (an incident is open while its ticket is)."""
    r = conn.execute(select(incidents).where(incidents.c.open_key == intent)).one_or_none()
    if r is None:
        return None
    status = conn.execute(select(tickets.c.status).where(tickets.c.id == r.ticket_id)).scalar()
    if status == Status.RESOLVED.value:
        conn.execute(update(incidents).where(incidents.c.id == r.id).values(open_key=None))
        return None
    return _row(r)


def join(conn, incident: Incident, conversation_id: str) -> Incident:
    convs = incident.conversations + ([conversation_id] if conversation_id not in incident.conversations else [])
    conn.execute(update(incidents).where(incidents.c.id == incident.id).values(conversations=json.dumps(convs)))
    return get(conn, incident.id)


def maybe_open(conn, store: TicketStore, *, intent: str, recent: set[str], clients: int, now: float,
               window: float, min_conversations: int, min_clients: int, team: str, due_at: float) -> Incident | None:
    """Open an incident if `intent` has reached the burst size: `recent` conversations (this one
    included) from `clients` different clients."""
    if len(recent) < min_conversations or clients < min_clients:
        return None
    iid = str(uuid.uuid4())
    packet = {"incident": iid, "intent": intent, "conversations": sorted(recent),
              "reason": f"{len(recent)} conversations from {clients} clients about {intent} "
                        f"within {int(window // 60)} minutes"}
    ticket, _ = store.open_ticket(conversation_id=None, incident_id=iid, priority=Priority.P0, team=team,
                                  now=now, due_at=due_at, packet=packet, intent=intent, conn=conn)
    conn.execute(incidents.insert().values(id=iid, intent=intent, open_key=intent, ticket_id=ticket.id,
                                           opened_at=now, conversations=json.dumps(sorted(recent))))
    return Incident(iid, intent, ticket.id, now, sorted(recent))
