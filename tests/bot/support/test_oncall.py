"""P0 runs on a round-the-clock clock: outside every team's hours it pages on-call, and says so."""
import json
from datetime import datetime, timezone

import pytest

from bot.core.settings import Settings
from bot.core.vocabulary import Priority
from bot.support.service import build_teams
from escalation.sla import is_working
from escalation.webhooks import Dispatcher
from tests.factories import Clock, make_service

SIX_AM = datetime(2027, 1, 15, 6, 0, tzinfo=timezone.utc).timestamp()   # a Friday, 06:00 UTC
DAY_TEAM = [{"name": "day", "timezone": "UTC", "opens": "08:00", "closes": "16:00"}]


@pytest.fixture
def svc(db_engine, tiny_model, fake_embedder):
    return make_service(db_engine, tiny_model, fake_embedder, Settings(encoder="fake:64", teams=DAY_TEAM),
                        clock=Clock(SIX_AM))


def pages(svc):
    return [p for p in Dispatcher(svc.db, None, "k").pending() if p["event"] == "oncall.page"]


def test_a_p0_outside_office_hours_is_due_in_30_minutes_and_pages_on_call(svc):
    cid, _ = svc.create_conversation()
    turn = svc.send(cid, "my account was hacked")
    ticket = svc.tickets.get(turn.ticket_id)
    assert ticket.priority is Priority.P0
    assert ticket.due_at - SIX_AM == 30 * 60                             # not "about 147 minutes"
    assert "on call" in turn.replies[-1].text and "30 minutes" in turn.replies[-1].text
    (page,) = pages(svc)
    assert json.loads(page["payload"])["ticket_id"] == ticket.id
    assert [t.id for t in svc.tickets.paging()] == [ticket.id]          # the dashboard's alarm


def test_on_call_is_paged_again_until_the_ticket_is_claimed(svc):
    cid, _ = svc.create_conversation()
    tid = svc.send(cid, "my account was hacked").ticket_id
    svc.clock.now += 5 * 60
    svc.check_slas()
    assert len(pages(svc)) == 1                                          # not yet: every 10 minutes
    svc.clock.now += 5 * 60
    svc.check_slas()
    assert len(pages(svc)) == 2
    svc.claim("ann", tid)
    svc.clock.now += 30 * 60
    svc.check_slas()
    assert len(pages(svc)) == 2 and svc.tickets.paging() == []          # claimed: quiet


def test_p1_still_waits_for_the_teams_hours_and_pages_nobody(svc):
    cid, _ = svc.create_conversation()
    tid = svc.send(cid, "/human").ticket_id
    ticket = svc.tickets.get(tid)
    assert ticket.priority is not Priority.P0 and ticket.due_at > SIX_AM + 2 * 3600
    assert pages(svc) == []


def test_inside_office_hours_a_p0_pages_nobody(db_engine, tiny_model, fake_embedder):
    svc = make_service(db_engine, tiny_model, fake_embedder, Settings(encoder="fake:64", teams=DAY_TEAM),
                       clock=Clock(SIX_AM + 3 * 3600))
    cid, _ = svc.create_conversation()
    turn = svc.send(cid, "my account was hacked")
    assert "30 minutes" in turn.replies[-1].text and "on call" not in turn.replies[-1].text
    assert pages(svc) == []


def test_the_default_desk_follows_the_sun_and_covers_every_hour():
    teams = build_teams(Settings(encoder="fake:64"))
    assert len(teams) >= 3
    for day in range(7):
        for hour in range(24):
            for minute in (0, 59):
                now = datetime(2027, 1, 11 + day, hour, minute, tzinfo=timezone.utc)
                assert is_working(now, teams), now


def test_the_default_desk_queues_for_the_team_at_work(db_engine, tiny_model, fake_embedder):
    svc = make_service(db_engine, tiny_model, fake_embedder, clock=Clock(SIX_AM))
    cid, _ = svc.create_conversation()
    ticket = svc.tickets.get(svc.send(cid, "my account was hacked").ticket_id)
    assert ticket.team == "apac" and ticket.due_at - SIX_AM == 30 * 60 and pages(svc) == []
