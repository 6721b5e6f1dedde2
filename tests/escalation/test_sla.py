from datetime import datetime, time, timedelta, timezone

import pytest

from bot.core.vocabulary import Priority
from escalation.sla import (
    Team,
    add_working_time,
    due_at,
    is_working,
    next_business_day_close,
)

UTC = timezone.utc
BERLIN = Team("berlin", "Europe/Berlin")
SHANGHAI = Team("shanghai", "Asia/Shanghai")
NEW_YORK = Team("newyork", "America/New_York")


def at(y, m, d, h, mi=0):
    return datetime(y, m, d, h, mi, tzinfo=UTC)


def test_p0_inside_hours_is_thirty_minutes():
    # 2026-11-23 10:00 UTC = 11:00 Berlin
    assert due_at(Priority.P0, at(2026, 11, 23, 10), [BERLIN]) == at(2026, 11, 23, 10, 30)


def test_p0_after_hours_waits_for_opening():
    # 21:50 Berlin (20:50 UTC): 10 minutes today, 20 after 08:00 Berlin (07:00 UTC) tomorrow
    assert due_at(Priority.P0, at(2026, 11, 23, 20, 50), [BERLIN]) == at(2026, 11, 24, 7, 20)


def test_p1_two_hours_spans_the_night():
    assert due_at(Priority.P1, at(2026, 11, 23, 20, 30), [BERLIN]) == at(2026, 11, 24, 8, 30)


def test_teams_in_other_timezones_hand_over():
    # Berlin closes 21:00 UTC; Shanghai opens 00:00 UTC; New York 13:00-03:00 UTC covers the gap.
    created = at(2026, 11, 23, 20, 50)
    assert due_at(Priority.P0, created, [BERLIN, NEW_YORK, SHANGHAI]) == created + timedelta(minutes=30)
    assert is_working(at(2026, 11, 24, 2, 0), [BERLIN, NEW_YORK, SHANGHAI])
    assert not is_working(at(2026, 11, 24, 2, 0), [BERLIN])


def test_p2_is_due_at_close_of_next_business_day():
    weekdays = Team("weekdays", "Europe/Berlin", days=frozenset(range(5)))
    # Friday 2026-11-27 15:00 Berlin -> Monday 22:00 Berlin = 21:00 UTC
    assert due_at(Priority.P2, at(2026, 11, 27, 14), [weekdays]) == at(2026, 11, 30, 21)
    assert next_business_day_close(at(2026, 11, 23, 10), BERLIN) == at(2026, 11, 24, 21)


def test_daylight_saving_is_respected():
    # Berlin switches to summer time on 2026-03-29: opening 08:00 local is 06:00 UTC after it.
    assert due_at(Priority.P0, at(2026, 3, 30, 5, 50), [BERLIN]) == at(2026, 3, 30, 6, 30)


def test_invalid_setups():
    with pytest.raises(ValueError):
        Team("x", "Mars/Olympus")
    with pytest.raises(ValueError):
        Team("x", opens=time(22), closes=time(8))
    with pytest.raises(ValueError):
        add_working_time(datetime(2026, 1, 1), timedelta(minutes=1), [BERLIN])
    with pytest.raises(ValueError):
        due_at(Priority.P0, at(2026, 1, 1, 0), [Team("never", days=frozenset())])


def test_team_eligibility():
    t = Team("payments-zh", languages=("zh",), skills=("payments",))
    assert t.can_take("zh", "payments") and t.can_take("zh", None)
    assert not t.can_take("en", "payments") and not t.can_take("zh", "security")
