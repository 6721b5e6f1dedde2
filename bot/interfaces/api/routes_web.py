"""Pages for people (chat widget, agent console, FAQ editor, dashboard), browser sign-in, and the
live streams and figures those pages read. The pages are static HTML + JS over the JSON API."""
from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import BaseModel, Field

from bot.core.i18n import registry
from bot.interfaces.api import events, session
from bot.interfaces.api.context import AppContext
from bot.interfaces.api.deps import (
    AGENT,
    EDITOR,
    ConversationId,
    CurrentAgent,
    CurrentStaff,
    ServiceDep,
    client_address,
    get_context,
    session_staff,
)
from bot.interfaces.api.schemas import MessagePublic
from bot.support import dashboard, revocations
from escalation.staffing import WEEKDAYS

WEB = Path(__file__).resolve().parent.parent / "web"
PAGES = {"chat": None, "login": None, "agent": AGENT, "editor": EDITOR, "dashboard": "staff"}

pages = APIRouter(include_in_schema=False)
router = APIRouter(tags=["web"])


# -- pages ------------------------------------------------------------------------------------------
#: Pages other sites may frame: the chat widget (that is how it is embedded) and the home page.
FRAMEABLE = frozenset({"chat", "index"})


def _page(name: str, status: int = 200) -> FileResponse:
    headers = {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
    if name not in FRAMEABLE:  # staff pages: no clickjacking from other sites
        headers |= {"X-Frame-Options": "DENY", "Content-Security-Policy": "frame-ancestors 'none'"}
    return FileResponse(WEB / f"{name}.html", status_code=status, media_type="text/html; charset=utf-8",
                        headers=headers)


@pages.get("/")
def home() -> FileResponse:
    return _page("index")


def _guarded(name: str, role: str | None):
    def view(request: Request):
        if role is not None:
            staff = session_staff(request)
            if staff is None:
                return RedirectResponse(f"/login?next=/{name}", status_code=303)
            if role != "staff" and role not in staff.roles:
                return _page("forbidden", 403)
        return _page(name)
    view.__name__ = f"page_{name}"
    return view


for _name, _role in PAGES.items():
    pages.add_api_route(f"/{_name}", _guarded(_name, _role), methods=["GET"])


# -- sign-in ----------------------------------------------------------------------------------------
class LoginIn(BaseModel):
    key: str = Field(min_length=1, max_length=512, description="An agent's, editor's or admin's API key.")


class Me(BaseModel):
    name: str
    roles: list[str]


@router.post("/auth/login", response_model=Me, responses={401: {"description": "unknown key"}})
def login(body: LoginIn, request: Request, response: Response) -> Me:
    """Exchange an API key for a signed session cookie (HttpOnly, SameSite=Strict)."""
    ctx = get_context(request)
    address = client_address(request)
    if ctx.login_failures.exhausted(address):
        raise HTTPException(429, "too many failed sign-ins from this address; wait a minute",
                            headers={"Retry-After": "60"})
    staff = ctx.credentials.lookup(body.key)
    if staff is None:
        ctx.login_failures.allow(address)  # only failures count against the address
        raise HTTPException(401, "unknown key")
    hours = get_context(request).settings.session_hours
    cookie = session.sign(get_context(request).session_secret, staff.name, staff.roles, time.time() + hours * 3600)
    response.set_cookie(session.COOKIE, cookie, max_age=int(hours * 3600), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return Me(name=staff.name, roles=sorted(staff.roles))


@router.post("/auth/logout", status_code=204)
def logout(request: Request) -> Response:
    """Sign out: the cookie is refused from now on (on every server), not just deleted. Needs the
    CSRF header, so another site cannot sign staff out."""
    if session.CSRF_HEADER not in request.headers:
        raise HTTPException(403, f"sign-out must send the {session.CSRF_HEADER} header")
    cookie = request.cookies.get(session.COOKIE)
    found = session.parts(cookie) if cookie and cookie.isascii() else None
    if found is not None:
        revocations.revoke(get_context(request).service.db, found[0], found[1], time.time())
    response = Response(status_code=204)
    response.delete_cookie(session.COOKIE, path="/")
    return response


@router.get("/auth/me", response_model=Me)
def me(staff: CurrentStaff) -> Me:
    return Me(name=staff.name, roles=sorted(staff.roles))


# -- the widget's words -----------------------------------------------------------------------------
@router.get("/locales", response_model=dict[str, dict[str, str]])
def locales() -> dict[str, dict[str, str]]:
    """Every language's strings (the bot's and the widget's), with English filling the gaps."""
    return registry().tables


# -- live streams -----------------------------------------------------------------------------------
Seconds = Annotated[float, Query(ge=1, le=60, description="Stream for this long, then end (clients reconnect).")]


@router.get("/conversations/{conversation_id}/events", tags=["conversations"],
            responses={200: {"content": {"text/event-stream": {}}}})
def conversation_events(conversation_id: ConversationId, request: Request, service: ServiceDep,
                        after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0, seconds: Seconds = 25.0):
    """Server-sent events: `message` for each new message (agents' replies included), `state`
    when the conversation's state changes."""
    last = {"seq": after, "state": None}
    feed = get_context(request).feed

    def poll():
        state, msgs = service.transcript(conversation_id, last["seq"])
        out: list[events.Event] = [("message", MessagePublic.of(m).model_dump()) for m in msgs]
        if msgs:
            last["seq"] = msgs[-1].seq
        if state.state.value != last["state"]:
            last["state"] = state.state.value
            out.append(("state", {"state": state.state.value, "language": state.lang}))
        return out

    return events.stream(request, feed, poll, lambda seen: feed.conversation_changed(conversation_id, seen), seconds,
                         slots=get_context(request).streams, caller=f"conversation:{conversation_id}")


def _board(ctx: AppContext, agent: str, fresh: bool = False) -> dict:
    from bot.interfaces.api import ticket_card

    """The head of the queue (shared by every console of this process; `fresh` reads it anew)
    and the agent's own tickets."""
    now = ctx.service.clock()
    head = ctx.board.head(now, ctx.feed.tickets_tick, fresh)
    mine = ctx.service.tickets.claimed_by(agent, now)
    return {"now": now, "queue": head.rendered, "queue_total": head.total,
            "mine": [ticket_card(ctx.service, t) for t in mine]}


@router.get("/agent/board", tags=["agents"])
def board(agent: CurrentAgent, request: Request, service: ServiceDep) -> dict:
    """The head of the queue in order (`queue_total` counts it all) and the caller's own
    claimed tickets, with the server's clock."""
    return _board(get_context(request), agent.name, fresh=True)


@router.get("/agent/teams", tags=["agents"], response_model=list[str])
def teams(agent: CurrentAgent, service: ServiceDep) -> list[str]:
    return [t.name for t in service.teams]


@router.get("/agent/events", tags=["agents"], responses={200: {"content": {"text/event-stream": {}}}})
def agent_events(agent: CurrentAgent, request: Request, service: ServiceDep,
                 ticket: Annotated[str | None, Query(max_length=64)] = None,
                 after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0, seconds: Seconds = 25.0):
    """Server-sent events for the console: `board` whenever the queue or the caller's tickets
    change; with `ticket` (404 if unknown), `message` for each new message of its conversation."""
    last = {"board": None, "seq": after}
    feed = get_context(request).feed
    followed = service.tickets.get(ticket).conversation_id if ticket else None

    def poll():
        out: list[events.Event] = []
        b = _board(get_context(request), agent.name, fresh=last["board"] is None)
        key = [(t["id"], t["status"], t["agent"], t["priority"], t["breached"], t["claim_token"])
               for t in b["queue"] + b["mine"]] + [b["queue_total"]]
        if key != last["board"]:
            last["board"] = key
            out.append(("board", b))
        if followed:
            _, msgs = service.transcript(followed, last["seq"])
            out += [("message", MessagePublic.of(m).model_dump()) for m in msgs]
            if msgs:
                last["seq"] = msgs[-1].seq
        return out

    def relevant(seen: int) -> bool:
        return feed.tickets_tick > seen or (followed is not None and feed.conversation_changed(followed, seen))

    # Lapsed leases return tickets to the queue without a write: look again every 10 s.
    return events.stream(request, feed, poll, relevant, seconds, fallback=10.0,
                         slots=get_context(request).streams, caller=f"staff:{agent.name}")


# -- dashboard --------------------------------------------------------------------------------------
@router.get("/dashboard/stats", tags=["dashboard"])
def stats(staff: CurrentStaff, service: ServiceDep, request: Request,
          days: Annotated[float, Query(gt=0, le=366, description="Period: the last N days.")] = 7.0) -> dict:
    """Containment, escalations and SLA breaches per priority, median wait, busiest intents; the
    desk's numbers against their targets (CSAT, first-contact resolution, AI share of basic
    queries, first human reply at the busiest hour, night-time resolution); demand per weekday ×
    hour per team and priority with the agents each hour needs (Erlang C) beside the team's hours."""
    now = service.clock()
    s = dashboard.collect(service.db, now - days * 86400, now)
    return {"days": days, "conversations": s.conversations, "contained": s.contained,
            "containment_rate": s.containment_rate, "messages": s.messages, "routes": s.routes,
            "escalations": s.escalations, "breaches": s.breaches, "waiting": s.waiting,
            "median_wait_seconds": s.median_wait_seconds,
            "busiest": [{"intent": b.intent, "title": service.title(b.intent, "en"), "messages": b.messages,
                         "escalated": b.escalated} for b in s.busiest],
            # The alarm: round-the-clock tickets that paged on-call and still wait for a claim.
            "oncall_paging": [{"ticket_id": t.id, "priority": t.priority.value, "team": t.team,
                               "waiting_seconds": round(now - t.created_at), "paged_at": t.paged_at}
                              for t in service.tickets.paging()],
            **_desk_numbers(get_context(request), days, now)}


#: The desk's numbers read every conversation of the period (about a second for a month of
#: 20,000 conversations on SQLite, docs/benchmarks.md): each process computes them at most this
#: often per period, however many dashboards are open.
DESK_CACHE_SECONDS = 30.0


def _desk_numbers(ctx: AppContext, days: float, now: float) -> dict:
    cached = ctx.desk_cache.get(days)
    if cached is not None and 0 <= now - cached[0] < DESK_CACHE_SECONDS:
        return cached[1]
    service = ctx.service
    since = now - days * 86400
    period = service.desk_period(since, now)  # read once for the figures and the trends
    out = {
        # The desk's numbers against their targets; each lists the conversations behind it.
        "figures": [{"key": f.key, "label": f.label, "value": f.value, "target": f.target,
                     "higher_is_better": f.higher_is_better, "on_target": f.on_target, "n": f.n,
                     "conversations": f.conversations, "detail": f.detail}
                    for f in service.desk_figures(since, now, period)],
        "staffing": [{"team": st.team, "demand": st.demand, "agents_needed": st.needed, "staffed": st.staffed,
                      "handle_seconds": st.handle_seconds}
                     for st in service.desk_staffing(since, now)],
        "weekdays": list(WEEKDAYS), "timezone": service.settings.display_timezone,
        "trends": [asdict(d) for d in service.desk_trends(since, now, period)],
        "unanswered": [{"text": s.text, "count": s.count, "kind": s.kind} for s in service.unanswered()],
        "computed_at": now}
    teams, agents = service.desk_people(since, now)
    out |= {"teams": [asdict(p) for p in teams], "agents": [asdict(p) for p in agents]}
    ctx.desk_cache[days] = (now, out)
    return out


@router.get("/dashboard/conversations/{conversation_id}", tags=["dashboard"])
def dashboard_conversation(conversation_id: Annotated[str, PathParam(max_length=64)], staff: CurrentStaff,
                           service: ServiceDep) -> dict:
    """One conversation behind a figure: its state and transcript, for staff."""
    state, msgs = service.transcript(conversation_id)
    return {"conversation_id": conversation_id, "state": state.state.value, "language": state.lang,
            "tried": state.tried, "messages": [MessagePublic.of(m).model_dump() for m in msgs]}


def _report(request: Request):
    return dashboard.latest_report(get_context(request).settings.reports_dir)


@router.get("/dashboard/report", tags=["dashboard"])
def report(staff: CurrentStaff, request: Request) -> dict:
    """The newest evaluation report's headline figures and its plots (404 when there is none)."""
    r = _report(request)
    if r is None:
        raise HTTPException(404, "no evaluation report yet: run triage evaluate --report "
                                 f"{get_context(request).settings.reports_dir}/<name>")
    keys = ("n", "in_scope_accuracy", "out_of_scope_recall", "answer_coverage", "answer_precision",
            "out_of_scope_answered", "p0_recall", "p0_precision", "p0_not_to_person")
    return {"name": r.directory.name, "summary": {k: r.summary.get(k) for k in keys if k in r.summary},
            "plots": [f"/dashboard/report/{p}" for p in r.plots]}


@router.get("/dashboard/report/{name}", tags=["dashboard"], response_class=FileResponse)
def report_plot(name: Annotated[str, PathParam(max_length=128)], staff: CurrentStaff, request: Request):
    r = _report(request)
    if r is None or name not in r.plots:
        raise HTTPException(404, f"no plot {name!r} in the latest report")
    return FileResponse(r.directory / name, media_type="image/png")
