"""The human queue in SQL: tickets, claims as leases, and the queue order.

Order: priority (P0 first), then due time, then arrival. A claim is a lease with a fencing
token: every write by an agent carries the token it got when claiming, and a write whose token is
no longer current (the lease expired and someone else claimed, or the ticket was released) is
refused. Claims are compare-and-set updates, so exactly one of many concurrent claimers wins,
on SQLite and on PostgreSQL alike.
"""
from __future__ import annotations

import json
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    cast,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.core.db import metadata, reading, ts_column
from bot.core.errors import ConflictError, NotFoundError, StaleClaimError
from bot.core.vocabulary import Priority

tickets = Table(
    "tickets",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("conversation_id", String(64), nullable=True),
    # Equal to conversation_id while the ticket is open, NULL once resolved: the unique index
    # makes "escalate the same conversation twice" yield one ticket, even under races.
    Column("open_key", String(64), nullable=True, unique=True),
    Column("status", String(16), nullable=False),
    Column("priority", Integer, nullable=False),
    Column("team", String(64), nullable=False),
    Column("language", String(16), nullable=True),
    Column("domain", String(64), nullable=True),
    ts_column("created_at"),
    ts_column("due_at"),
    Column("agent", String(64), nullable=True),
    ts_column("lease_until", nullable=True),
    Column("claim_token", Integer, nullable=False, server_default="0"),
    Column("breached", Boolean, nullable=False, server_default="0"),
    ts_column("resolved_at", nullable=True),
    Column("packet", Text, nullable=False, server_default="{}"),
    Column("intent", String(200), nullable=True),
    ts_column("first_claimed_at", nullable=True),
    # Set on an incident's ticket (which groups many conversations and has none of its own).
    # The incident this ticket belongs to: the incident's own ticket (no conversation), or a
    # user's ticket linked to it (a P0 problem or a request for a person during the incident).
    Column("incident_id", String(36), nullable=True),
    # When this ticket last paged the on-call person (outside every team's hours).
    ts_column("paged_at", nullable=True),
)
Index("ix_tickets_intent_created", tickets.c.intent, tickets.c.created_at)
Index("ix_tickets_created", tickets.c.created_at)
Index("ix_tickets_queue", tickets.c.status, tickets.c.priority, tickets.c.due_at, tickets.c.seq)


def like_escaped(text: str) -> str:
    """`text` for a LIKE pattern with escape character backslash: its own %, _ and \\ match literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class Status(str, Enum):
    QUEUED = "queued"
    CLAIMED = "claimed"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Ticket:
    id: str
    seq: int
    conversation_id: str | None
    status: Status
    priority: Priority
    team: str
    language: str | None
    domain: str | None
    created_at: float
    due_at: float
    agent: str | None
    lease_until: float | None
    claim_token: int
    breached: bool
    resolved_at: float | None
    packet: dict = field(default_factory=dict)
    intent: str | None = None
    incident_id: str | None = None  # an incident's own ticket (no conversation) or one linked to it
    paged_at: float | None = None

    def claimed_by(self, agent: str, now: float) -> bool:
        return self.status is Status.CLAIMED and self.agent == agent and (self.lease_until or 0) > now


def _row(r) -> Ticket:
    return Ticket(
        id=r.id, seq=r.seq, conversation_id=r.conversation_id, status=Status(r.status),
        priority=Priority(f"P{r.priority}"), team=r.team, language=r.language, domain=r.domain,
        created_at=r.created_at, due_at=r.due_at, agent=r.agent, lease_until=r.lease_until,
        claim_token=r.claim_token, breached=bool(r.breached), resolved_at=r.resolved_at,
        packet=json.loads(getattr(r, "packet", None) or "{}"), intent=r.intent, incident_id=r.incident_id,
        paged_at=getattr(r, "paged_at", None),
    )


_ORDER = (tickets.c.priority, tickets.c.due_at, tickets.c.seq)


def _claimable(now: float):
    """Queued, or claimed with a lease that ran out (the agent disappeared)."""
    return or_(tickets.c.status == Status.QUEUED.value,
               and_(tickets.c.status == Status.CLAIMED.value, tickets.c.lease_until <= now))


def open_fingerprint(conn) -> tuple:
    """A cheap fingerprint of the open tickets (count, newest, claims, priorities, breaches): it
    changes whenever the queue or a claim does. Uses ix_tickets_queue."""
    open_t = tickets.c.status.in_((Status.QUEUED.value, Status.CLAIMED.value))
    return tuple(conn.execute(select(
        func.count(),
        func.coalesce(func.max(tickets.c.seq), 0),
        func.coalesce(func.sum(tickets.c.claim_token), 0),
        func.coalesce(func.sum(tickets.c.priority), 0),
        func.coalesce(func.sum(cast(tickets.c.breached, Integer)), 0),
    ).where(open_t)).one())


class TicketStore:
    def __init__(self, engine: Engine, lease_seconds: float = 300.0):
        self.engine = engine
        self.lease_seconds = lease_seconds

    @contextmanager
    def _tx(self, conn=None):
        """The caller's transaction when it gives one (so a ticket and its conversation change
        together), else a new one."""
        if conn is not None:
            yield conn
        else:
            with self.engine.begin() as own:
                yield own

    # -- creating ------------------------------------------------------------------------------
    def open_ticket(self, *, conversation_id: str | None, priority: Priority, team: str, now: float,
                    due_at: float, language: str | None = None, domain: str | None = None,
                    packet: dict | None = None, intent: str | None = None, incident_id: str | None = None,
                    conn=None) -> tuple[Ticket, bool]:
        """Open a ticket; (ticket, created). An open ticket for the same conversation (or incident)
        is reused, raised to the more urgent priority if needed. With `conn`, in the caller's
        transaction (the caller holds the conversation lock); without, a concurrent escalation of
        the same conversation that inserted first is found and reused."""
        kw = dict(conversation_id=conversation_id, priority=priority, team=team, now=now, due_at=due_at,
                  language=language, domain=domain, packet=packet, intent=intent, incident_id=incident_id)
        if conn is not None:
            return self._open(conn, **kw)
        try:
            with self.engine.begin() as own:
                return self._open(own, **kw)
        except IntegrityError:
            if conversation_id is None and incident_id is None:
                raise
        with self.engine.begin() as own:
            return self._open(own, **kw)

    def _open(self, conn, *, conversation_id: str | None, priority: Priority, team: str, now: float,
              due_at: float, language: str | None, domain: str | None, packet: dict | None, intent: str | None,
              incident_id: str | None) -> tuple[Ticket, bool]:
        # Unique while open: the conversation (or incident) a ticket stands for.
        key = conversation_id if conversation_id is not None else incident_id
        row = None if key is None else conn.execute(select(tickets).where(tickets.c.open_key == key)).one_or_none()
        if row is not None:
            values = {} if packet is None else {"packet": json.dumps(packet, ensure_ascii=False)}
            if priority.rank < row.priority:
                values.update(priority=priority.rank, due_at=min(due_at, row.due_at))
            if values:
                conn.execute(update(tickets).where(tickets.c.seq == row.seq).values(**values))
            return self._get(conn, row.id), False
        tid = str(uuid.uuid4())
        conn.execute(tickets.insert().values(
            id=tid, conversation_id=conversation_id, open_key=key, status=Status.QUEUED.value,
            priority=priority.rank, team=team, language=language, domain=domain, created_at=now, due_at=due_at,
            packet=json.dumps(packet or {}, ensure_ascii=False), intent=intent, incident_id=incident_id))
        return self._get(conn, tid), True

    def recent_conversations(self, conn, intent: str, since: float) -> set[str]:
        """Conversations with a ticket about `intent` opened since `since`."""
        q = select(tickets.c.conversation_id).where(tickets.c.intent == intent, tickets.c.created_at >= since)
        return {r for (r,) in conn.execute(q) if r}

    # -- reading -------------------------------------------------------------------------------
    def _get(self, conn, ticket_id: str) -> Ticket:
        row = conn.execute(select(tickets).where(tickets.c.id == ticket_id)).one_or_none()
        if row is None:
            raise NotFoundError("ticket", ticket_id)
        return _row(row)

    def get(self, ticket_id: str) -> Ticket:
        with reading(self.engine) as conn:
            return self._get(conn, ticket_id)

    def queue(self, now: float, team: str | None = None, limit: int = 500, packets: bool = True) -> list[Ticket]:
        """Claimable tickets in queue order (`packets=False` leaves out the handoff packets, which
        hold whole transcripts, for listings)."""
        cols = [c for c in tickets.c if packets or c.name != "packet"]
        q = select(*cols).where(_claimable(now))
        if team is not None:
            q = q.where(tickets.c.team == team)
        with reading(self.engine) as conn:
            return [_row(r) for r in conn.execute(q.order_by(*_ORDER).limit(limit))]

    def claimed_by(self, agent: str, now: float) -> list[Ticket]:
        """Tickets `agent` holds a live claim on, in queue order."""
        q = select(tickets).where(tickets.c.status == Status.CLAIMED.value, tickets.c.agent == agent,
                                  tickets.c.lease_until > now)
        with reading(self.engine) as conn:
            return [_row(r) for r in conn.execute(q.order_by(*_ORDER))]

    def count_claimable(self, now: float) -> int:
        with reading(self.engine) as conn:
            return conn.execute(select(func.count()).select_from(tickets).where(_claimable(now))).scalar_one()

    def open_tickets(self) -> list[Ticket]:
        q = select(tickets).where(tickets.c.status != Status.RESOLVED.value).order_by(*_ORDER)
        with reading(self.engine) as conn:
            return [_row(r) for r in conn.execute(q)]

    # -- claiming ------------------------------------------------------------------------------
    def _try_claim(self, conn, row, agent: str, now: float) -> bool:
        res = conn.execute(
            update(tickets)
            .where(tickets.c.seq == row.seq, tickets.c.claim_token == row.claim_token, _claimable(now))
            .values(status=Status.CLAIMED.value, agent=agent, lease_until=now + self.lease_seconds,
                    claim_token=row.claim_token + 1,
                    first_claimed_at=func.coalesce(tickets.c.first_claimed_at, now)))
        return res.rowcount == 1

    def claim(self, ticket_id: str, agent: str, now: float, conn=None) -> Ticket:
        """Claim one ticket. Exactly one of several concurrent claimers wins; the others get 409.
        With `conn`, in the caller's transaction (so the conversation can change with it)."""
        with self._tx(conn) as conn:
            row = conn.execute(select(tickets).where(tickets.c.id == ticket_id)).one_or_none()
            if row is None:
                raise NotFoundError("ticket", ticket_id)
            if row.status == Status.RESOLVED.value:
                raise ConflictError(f"ticket {ticket_id} is resolved")
            if not self._try_claim(conn, row, agent, now):
                current = self._get(conn, ticket_id)
                raise ConflictError(f"ticket {ticket_id} is claimed by {current.agent}")
            return self._get(conn, ticket_id)

    def claim_next(self, agent: str, now: float, teams: list[str] | None = None, conn=None) -> Ticket | None:
        """Claim the first ticket in queue order (optionally among `teams`), or None. With `conn`,
        in the caller's transaction (each statement still sees other claimers' commits)."""
        with self._tx(conn) as conn:
            for _ in range(50):  # lost races retry with the next candidates
                q = select(tickets).where(_claimable(now))
                if teams:
                    q = q.where(tickets.c.team.in_(teams))
                rows = conn.execute(q.order_by(*_ORDER).limit(8)).all()
                if not rows:
                    return None
                for row in rows:
                    if self._try_claim(conn, row, agent, now):
                        return self._get(conn, row.id)
            raise ConflictError("could not claim a ticket: too much contention, try again")

    # -- writes by the claiming agent ------------------------------------------------------------
    def _owned(self, conn, ticket_id: str, agent: str, token: int, now: float):
        row = conn.execute(select(tickets).where(tickets.c.id == ticket_id)).one_or_none()
        if row is None:
            raise NotFoundError("ticket", ticket_id)
        if row.status != Status.CLAIMED.value or row.agent != agent or row.claim_token != token \
                or (row.lease_until or 0) <= now:
            raise StaleClaimError(f"claim {token} on ticket {ticket_id} is no longer current; claim it again")
        return row

    def _write(self, ticket_id: str, agent: str, token: int, now: float, values: dict, conn=None) -> Ticket:
        with self._tx(conn) as conn:
            row = self._owned(conn, ticket_id, agent, token, now)
            res = conn.execute(update(tickets).where(tickets.c.seq == row.seq, tickets.c.claim_token == token)
                               .values(**values))
            if res.rowcount != 1:
                raise StaleClaimError(f"claim {token} on ticket {ticket_id} is no longer current")
            return self._get(conn, ticket_id)

    def renew(self, ticket_id: str, agent: str, token: int, now: float) -> Ticket:
        """Extend the lease (agents' consoles call this while the agent is active)."""
        return self._write(ticket_id, agent, token, now, {"lease_until": now + self.lease_seconds})

    def check_claim(self, ticket_id: str, agent: str, token: int, now: float, conn=None) -> Ticket:
        """Raise StaleClaimError unless (agent, token) is the ticket's live claim."""
        with self._tx(conn) as conn:
            return _row(self._owned(conn, ticket_id, agent, token, now))

    def release(self, ticket_id: str, agent: str, token: int, now: float, conn=None) -> Ticket:
        return self._write(ticket_id, agent, token, now, {"status": Status.QUEUED.value, "agent": None,
                                                          "lease_until": None, "claim_token": token + 1}, conn)

    def transfer(self, ticket_id: str, agent: str, token: int, now: float, team: str, conn=None,
                 note: str | None = None) -> Ticket:
        """Back to the queue for `team`; `note` (for the next agent) travels in the packet."""
        values = {"status": Status.QUEUED.value, "agent": None, "lease_until": None, "team": team,
                  "claim_token": token + 1}
        if note:
            current = self.get(ticket_id) if conn is None else self._get(conn, ticket_id)
            packet = dict(current.packet)
            packet["transfer_notes"] = list(packet.get("transfer_notes", [])) + [
                {"by": agent, "to": team, "note": note, "at": now}]
            values["packet"] = json.dumps(packet, ensure_ascii=False)
        return self._write(ticket_id, agent, token, now, values, conn)

    def search(self, conn, query: str, conversation_ids: set[str], limit: int = 20) -> list[Ticket]:
        """Tickets whose id starts with `query`, whose intent contains it, or whose conversation is
        among `conversation_ids` (found by text elsewhere); open ones first, newest first."""
        q = like_escaped(query.strip())
        cond = tickets.c.id.like(q + "%", escape="\\") | tickets.c.intent.ilike("%" + q + "%", escape="\\")
        if conversation_ids:
            cond = cond | tickets.c.conversation_id.in_(sorted(conversation_ids))
        rows = conn.execute(select(tickets).where(cond)
                            .order_by((tickets.c.status == Status.RESOLVED.value), tickets.c.created_at.desc())
                            .limit(limit)).all()
        return [_row(r) for r in rows]

    def resolve(self, ticket_id: str, agent: str, token: int, now: float, conn=None) -> Ticket:
        return self._write(ticket_id, agent, token, now, {"status": Status.RESOLVED.value, "open_key": None,
                                                          "resolved_at": now, "lease_until": None,
                                                          "claim_token": token + 1}, conn)

    # -- service levels ----------------------------------------------------------------------------
    def mark_breaches(self, now: float, on_breach=None) -> list[Ticket]:
        """Flag open tickets past due; returns only the ones flagged by this call (notify once).
        `on_breach(conn, ticket)` runs in the flagging transaction (to enqueue a webhook)."""
        flagged = []
        with reading(self.engine) as conn:
            due = conn.execute(select(tickets.c.seq, tickets.c.id).where(
                tickets.c.status != Status.RESOLVED.value, tickets.c.breached.is_(False),
                tickets.c.due_at < now)).all()
        for seq, tid in due:
            with self.engine.begin() as conn:
                res = conn.execute(update(tickets).where(tickets.c.seq == seq, tickets.c.breached.is_(False))
                                   .values(breached=True))
                if res.rowcount == 1:
                    ticket = self._get(conn, tid)
                    if on_breach is not None:
                        on_breach(conn, ticket)
                    flagged.append(ticket)
        return flagged

    def page_due(self, now: float, priorities: list[Priority], every: float, want, on_page) -> list[Ticket]:
        """Page on-call for queued tickets of `priorities` not paged within `every` seconds and for
        which `want(ticket)` holds (nobody who could take it is working); `on_page(conn, ticket)`
        runs in the transaction that records the page (once per period, across servers)."""
        paged = []
        with reading(self.engine) as conn:
            rows = conn.execute(select(tickets.c.seq, tickets.c.id).where(
                tickets.c.status == Status.QUEUED.value, tickets.c.priority.in_([p.rank for p in priorities]),
                or_(tickets.c.paged_at.is_(None), tickets.c.paged_at <= now - every))).all()
        for seq, tid in rows:
            with self.engine.begin() as conn:
                if not want(self._get(conn, tid)):
                    continue
                res = conn.execute(update(tickets).where(
                    tickets.c.seq == seq, tickets.c.status == Status.QUEUED.value,
                    or_(tickets.c.paged_at.is_(None), tickets.c.paged_at <= now - every)).values(paged_at=now))
                if res.rowcount == 1:
                    ticket = self._get(conn, tid)
                    on_page(conn, ticket)
                    paged.append(ticket)
        return paged

    def is_open(self, conn, ticket_id: str) -> bool:
        return conn.execute(select(tickets.c.status).where(tickets.c.id == ticket_id)).scalar() in (
            Status.QUEUED.value, Status.CLAIMED.value)

    def resolve_quietly(self, conn, ticket_id: str, now: float) -> None:
        """Resolve a ticket no agent worked (a dismissed incident's), whoever holds it."""
        conn.execute(update(tickets).where(tickets.c.id == ticket_id, tickets.c.status != Status.RESOLVED.value)
                     .values(status=Status.RESOLVED.value, open_key=None, resolved_at=now, agent=None,
                             lease_until=None, claim_token=tickets.c.claim_token + 1))

    def mark_paged(self, conn, ticket_id: str, now: float) -> None:
        conn.execute(update(tickets).where(tickets.c.id == ticket_id).values(paged_at=now))

    def paging(self) -> list[Ticket]:
        """Queued tickets that have paged on-call and wait for a claim (the dashboard's alarm)."""
        with reading(self.engine) as conn:
            rows = conn.execute(select(tickets).where(tickets.c.status == Status.QUEUED.value,
                                                      tickets.c.paged_at.is_not(None)).order_by(*_ORDER)).all()
        return [_row(r) for r in rows]
