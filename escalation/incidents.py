"""Incidents: a burst of the same problem from many users is one outage, not many tickets.

When tickets about one intent reach `min_conversations` distinct conversations within
`window_seconds`, an incident opens: one P0 ticket groups the conversations, and later users with
the same problem get a "we know, here is the status" answer instead of a ticket each. The
incident ends when its ticket is resolved.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass

from sqlalchemy import Column, Float, String, Table, Text, select, update

from bot.core.db import metadata
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
)


@dataclass(frozen=True)
class Incident:
    id: str
    intent: str
    ticket_id: str
    opened_at: float
    conversations: list[str]


def _row(r) -> Incident:
    return Incident(r.id, r.intent, r.ticket_id, r.opened_at, json.loads(r.conversations))


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
    return Incident(incident.id, incident.intent, incident.ticket_id, incident.opened_at, convs)


def maybe_open(conn, store: TicketStore, *, intent: str, conversation_id: str, now: float, window: float,
               min_conversations: int, team: str, due_at: float) -> Incident | None:
    """Open an incident if `intent` has reached the burst size (this conversation included)."""
    recent = store.recent_conversations(conn, intent, now - window) | {conversation_id}
    if len(recent) < min_conversations:
        return None
    iid = str(uuid.uuid4())
    packet = {"incident": iid, "intent": intent, "conversations": sorted(recent),
              "reason": f"{len(recent)} conversations about {intent} within {int(window // 60)} minutes"}
    ticket, _ = store.open_ticket(conversation_id=None, incident_id=iid, priority=Priority.P0, team=team,
                                  now=now, due_at=due_at, packet=packet, intent=intent, conn=conn)
    conn.execute(incidents.insert().values(id=iid, intent=intent, open_key=intent, ticket_id=ticket.id,
                                           opened_at=now, conversations=json.dumps(sorted(recent))))
    return Incident(iid, intent, ticket.id, now, sorted(recent))
