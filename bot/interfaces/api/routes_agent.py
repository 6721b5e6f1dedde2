"""Human agents: the queue, claims, replies and closing; and the public status."""
from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response

from bot.interfaces.api.deps import CurrentAgent, ServiceDep, get_context
from bot.interfaces.api.schemas import (
    AgentReply,
    CannedPublic,
    ClaimNext,
    ClaimToken,
    IncidentPublic,
    MessagePublic,
    Resolve,
    StatusPublic,
    TicketDetail,
    TicketPublic,
    TicketsPublic,
    Transfer,
)

router = APIRouter(prefix="/agent", tags=["agents"])


@router.get("/queue", response_model=TicketsPublic)
def queue(agent: CurrentAgent, service: ServiceDep, team: str | None = None) -> TicketsPublic:
    """Claimable tickets: priority, then due time, then arrival."""
    tickets = service.tickets.queue(service.clock(), team)
    return TicketsPublic(data=[TicketPublic.of(t) for t in tickets], count=len(tickets))


@router.post("/claim-next", response_model=TicketPublic, responses={204: {"description": "queue is empty"}})
def claim_next(agent: CurrentAgent, service: ServiceDep, body: ClaimNext | None = None):
    ticket = service.claim(agent.name, teams=body.teams if body else None)
    if ticket is None:
        return Response(status_code=204)
    return TicketPublic.of(ticket)


@router.post("/tickets/{ticket_id}/claim", response_model=TicketPublic)
def claim(ticket_id: str, agent: CurrentAgent, service: ServiceDep) -> TicketPublic:
    return TicketPublic.of(service.claim(agent.name, ticket_id))


@router.get("/tickets/{ticket_id}", response_model=TicketDetail)
def ticket_detail(ticket_id: str, agent: CurrentAgent, service: ServiceDep) -> TicketDetail:
    """A ticket with its packet and transcript (also to preview one before claiming it)."""
    t = service.tickets.get(ticket_id)
    state, msgs = service.transcript(t.conversation_id) if t.conversation_id else (None, [])
    named = {t.intent, t.packet.get("intent"), *(c.get("intent") for c in t.packet.get("candidates", []))}
    titles = {i: service.title(i, t.language or "en") for i in named if i}
    return TicketDetail(**TicketPublic.of(t).model_dump(), packet=t.packet,
                        transcript=[MessagePublic.of(m) for m in msgs], titles=titles,
                        contact_email=state.contact if state else None)


@router.get("/search", response_model=TicketsPublic)
def search(agent: CurrentAgent, service: ServiceDep,
           q: Annotated[str, Query(min_length=1, max_length=200, description="Text, ticket id or intent.")]
           ) -> TicketsPublic:
    """Tickets by id prefix, intent, or a text said in their conversation (open ones first)."""
    found = service.search_tickets(q)
    return TicketsPublic(data=[TicketPublic.of(t) for t in found], count=len(found))


@router.get("/canned", response_model=list[CannedPublic])
def canned_replies(agent: CurrentAgent, request: Request) -> list[CannedPublic]:
    """The editors' canned replies, for the console's "/" menu."""
    return [CannedPublic.of(c) for c in get_context(request).editor.canned()]


@router.post("/tickets/{ticket_id}/renew", response_model=TicketPublic)
def renew(ticket_id: str, body: ClaimToken, agent: CurrentAgent, service: ServiceDep) -> TicketPublic:
    return TicketPublic.of(service.tickets.renew(ticket_id, agent.name, body.claim_token, service.clock()))


@router.post("/tickets/{ticket_id}/reply", response_model=MessagePublic)
def reply(ticket_id: str, body: AgentReply, agent: CurrentAgent, service: ServiceDep, request: Request) -> MessagePublic:
    limit = get_context(request).settings.max_reply_chars
    if len(body.text) > limit:
        raise HTTPException(413, f"reply is longer than {limit} characters")
    return MessagePublic.of(service.agent_reply(ticket_id, agent.name, body.claim_token, body.text))


@router.post("/tickets/{ticket_id}/release", response_model=TicketPublic)
def release(ticket_id: str, body: ClaimToken, agent: CurrentAgent, service: ServiceDep) -> TicketPublic:
    return TicketPublic.of(service.release(ticket_id, agent.name, body.claim_token))


@router.post("/tickets/{ticket_id}/transfer", response_model=TicketPublic)
def transfer(ticket_id: str, body: Transfer, agent: CurrentAgent, service: ServiceDep) -> TicketPublic:
    """Back to the queue for another team, with an optional note for its agent."""
    return TicketPublic.of(service.release(ticket_id, agent.name, body.claim_token, to_team=body.team,
                                           note=body.note))


@router.post("/tickets/{ticket_id}/resolve", response_model=TicketPublic)
def resolve(ticket_id: str, body: Resolve, agent: CurrentAgent, service: ServiceDep) -> TicketPublic:
    """Resolve the ticket; `tag` names the intent or FAQ entry that solved it (400 if unknown)."""
    return TicketPublic.of(service.close(ticket_id, agent.name, body.claim_token, hand_back=False, tag=body.tag))


@router.post("/tickets/{ticket_id}/hand-back", response_model=TicketPublic)
def hand_back(ticket_id: str, body: Resolve, agent: CurrentAgent, service: ServiceDep) -> TicketPublic:
    """Resolve the ticket and give the conversation back to the bot."""
    return TicketPublic.of(service.close(ticket_id, agent.name, body.claim_token, hand_back=True, tag=body.tag))


@router.get("/incidents", response_model=list[IncidentPublic])
def incidents(agent: CurrentAgent, service: ServiceDep) -> list[IncidentPublic]:
    """The newest incidents, open ones first."""
    return [IncidentPublic.of(i) for i in service.incidents()]


@router.post("/incidents/{incident_id}/{decision}", response_model=IncidentPublic,
             responses={404: {"description": "no such incident"}, 409: {"description": "already dismissed"}})
def decide_incident(incident_id: str, decision: Literal["confirm", "dismiss"], agent: CurrentAgent,
                    service: ServiceDep) -> IncidentPublic:
    """Confirm an incident, or dismiss it as a false alarm: it ends, its ticket is resolved, and
    every user it answered with its status gets a ticket of their own."""
    return IncidentPublic.of(service.decide_incident(incident_id, {"confirm": "confirmed", "dismiss": "dismissed"}[decision],
                                                     agent.name))


status_router = APIRouter(tags=["status"])


@status_router.get("/status", response_model=StatusPublic)
def status(service: ServiceDep, response: Response) -> StatusPublic:
    """Public: agents online, queue length per priority, current average wait."""
    s = service.status(service.clock())
    response.headers["Cache-Control"] = "max-age=5"
    return StatusPublic(agents_online=s.agents_online, queue=s.queue,
                        average_wait_seconds=round(s.average_wait_seconds, 1), breached=s.breached)
