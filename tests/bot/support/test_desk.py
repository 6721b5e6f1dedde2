"""The desk's numbers on a constructed history whose answers are known."""
from datetime import datetime, timezone

import pytest

from bot.core.settings import Settings
from tests.factories import WORKING_HOUR, Clock, make_service

HOUR = 3600.0
T0 = WORKING_HOUR + 2 * HOUR  # Friday 2027-01-15 10:00 UTC


@pytest.fixture
def history(db_engine, tiny_model, fake_embedder):
    clock = Clock(T0)
    settings = Settings(encoder="fake:64", teams=[{"name": "day", "timezone": "UTC"}])  # 08:00-22:00 UTC
    svc = make_service(db_engine, tiny_model, fake_embedder, settings, clock=clock)
    ids = {}

    def conv(name, client, at, *texts):
        clock.now = at
        cid, _ = svc.create_conversation(client=client)
        ids[name] = cid
        for text in texts:
            svc.send(cid, text)
            clock.now += 30
        return cid

    a = conv("A", "u1", T0, "what are the trading fees", "/yes")
    svc.rate(a, 5)
    conv("C", "u2", T0 + 300, "my account was hacked")        # ticket opened at 10:05:00
    clock.now = T0 + 330
    t = svc.claim("ann")
    clock.now = T0 + 360                                     # first reply 60 s after opening
    svc.agent_reply(t.id, "ann", t.claim_token, "On it.")
    clock.now = T0 + 600
    svc.close(t.id, "ann", t.claim_token, hand_back=False)   # handled in 270 s
    svc.rate(ids["C"], 3)
    conv("F", "u5", T0 + 1200, "what are the trading fees", "/human")  # ticket at 10:20:30
    clock.now = T0 + 1260
    t = svc.claim("bob")
    clock.now = T0 + 1230 + 120                              # first reply 120 s after opening
    svc.agent_reply(t.id, "bob", t.claim_token, "Hello.")
    conv("D", "u3", T0 + 13 * HOUR, "what are the trading fees", "/yes")  # 23:00: nobody works
    conv("E", "u4", T0 + 13.5 * HOUR, "my account was hacked")
    conv("B", "u1", T0 + 48 * HOUR, "what are the trading fees", "/yes")  # u1 asks again 2 days on
    now = T0 + 72 * HOUR
    return svc, ids, T0 - 24 * HOUR, now


def test_figures_on_a_known_history(history):
    svc, ids, since, now = history
    f = {x.key: x for x in svc.desk_figures(since, now)}
    assert f["csat"].value == 4.0 and f["csat"].n == 2
    assert f["csat"].detail["bot"] == {"mean": 5.0, "n": 1} and f["csat"].detail["agents"] == {"mean": 3.0, "n": 1}
    assert f["csat"].detail["distribution"] == {"1": 0, "2": 0, "3": 1, "4": 0, "5": 1}
    assert f["csat"].conversations == [ids["C"]] and f["csat"].on_target is False
    # Resolved: A, B, C (agent), D. A is followed by B from the same user on the same intent.
    assert f["first_contact_resolution"].value == 0.75 and f["first_contact_resolution"].conversations == [ids["A"]]
    assert f["containment"].value == 0.5 and set(f["containment"].conversations) == {ids["C"], ids["E"], ids["F"]}
    # Basic (fees, P2 simple): A, B, D, F; F went to a person.
    assert f["ai_basic_share"].value == 0.75 and f["ai_basic_share"].conversations == [ids["F"]]
    peak = f["peak_response"]
    assert peak.detail["busiest_hour"] == 10 and peak.detail["tickets_opened"] == 2
    assert peak.value == 90.0 and peak.detail["p95"] == pytest.approx(117.0) and peak.n == 2
    assert peak.conversations == [ids["F"], ids["C"]] and peak.on_target is False  # both over 45 s
    assert f["night_resolution"].value == 0.5 and f["night_resolution"].conversations == [ids["E"]]


def test_a_repeat_after_the_window_is_still_a_first_contact_resolution(history):
    svc, ids, since, now = history
    svc.settings = svc.settings.model_copy(update={"fcr_window_days": 1.0})
    f = {x.key: x for x in svc.desk_figures(since, now)}
    assert f["first_contact_resolution"].value == 1.0


def test_staffing_follows_the_demand_and_shows_the_teams_hours(history):
    svc, ids, since, now = history
    (day,) = svc.desk_staffing(since, now)
    friday = datetime.fromtimestamp(T0, timezone.utc).weekday()
    assert day.team == "day" and day.demand["P0"][friday][10] == 1.0 and day.demand["P2"][friday][10] == 1.0
    assert day.demand["P0"][friday][23] == 1.0 and day.demand["P1"][friday][10] == 0.0
    assert day.needed[friday][10] >= 2 and day.needed[friday][3] == 0
    assert day.staffed[friday][10] and not day.staffed[friday][23]
    assert day.handle_seconds["P0"] == 270.0


def test_the_dashboard_api_serves_the_figures(history, settings):
    from tests.bot.interfaces.test_api import KEYS
    from tests.factories import api_client

    svc, ids, since, now = history
    svc.settings = svc.settings.model_copy(update={"agents": {"ann": KEYS["agent"]}})
    with api_client(svc, svc.settings) as client:
        h = {"Authorization": f"Bearer {KEYS['agent']}"}
        body = client.get("/dashboard/stats?days=4", headers=h).json()
        keys = [f["key"] for f in body["figures"]]
        assert keys == ["csat", "first_contact_resolution", "containment", "ai_basic_share", "peak_response",
                        "night_resolution"]
        assert body["staffing"][0]["team"] == "day" and len(body["staffing"][0]["agents_needed"]) == 7
        one = client.get(f"/dashboard/conversations/{ids['A']}", headers=h).json()
        assert [m["role"] for m in one["messages"]][:2] == ["user", "bot"] and one["state"] == "resolved"
        assert client.get(f"/dashboard/conversations/{ids['A']}").status_code == 401


def test_trends_per_day_and_figures_per_team_and_agent(history):
    svc, ids, since, now = history
    days = {d.day: d for d in svc.desk_trends(since, now)}
    friday = days["2027-01-15"]
    assert (friday.conversations, friday.contained, friday.escalations) == (5, 2, 3)
    assert friday.csat_mean == 4.0 and friday.ratings == 2
    assert days["2027-01-17"].conversations == 1 and days["2027-01-16"].conversations == 0
    teams, agents = svc.desk_people(since, now)
    (day,) = teams
    assert (day.name, day.tickets, day.resolved) == ("day", 3, 1)
    assert day.median_first_reply_seconds == 90.0                  # 60 s (C) and 120 s (F)
    (ann,) = agents                                                 # bob has not resolved his
    assert (ann.name, ann.resolved, ann.median_handle_seconds, ann.csat_mean) == ("ann", 1, 270.0, 3.0)
