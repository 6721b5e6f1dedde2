"""Erlang C against textbook values, and the demand heatmap."""
import math
from datetime import datetime, timezone

import pytest

from escalation.staffing import (
    agents_needed,
    erlang_c,
    heatmap,
    service_level,
    weekday_counts,
)


def erlang_c_direct(n: int, a: float) -> float:
    """The textbook formula, term by term (independent of the recursion under test)."""
    top = a ** n / math.factorial(n) * n / (n - a)
    return top / (sum(a ** k / math.factorial(k) for k in range(n)) + top)


@pytest.mark.parametrize("n,a", [(11, 10.0), (12, 10.0), (2, 1.0), (5, 4.5), (30, 25.0)])
def test_erlang_c_matches_the_direct_formula(n, a):
    assert erlang_c(n, a) == pytest.approx(erlang_c_direct(n, a), rel=1e-12)


def test_textbook_call_centre():
    # 10 Erlangs (e.g. 200 calls an hour of 3 minutes), target 80% answered within 20 s: the
    # classic worked example needs 14 agents (13 reach only 79.6%); P_wait(11) = 0.682.
    assert erlang_c(11, 10.0) == pytest.approx(0.6821, abs=1e-4)
    assert service_level(13, 10.0, 180, 20) == pytest.approx(0.796, abs=1e-3)
    assert service_level(14, 10.0, 180, 20) == pytest.approx(0.888, abs=2e-3)
    assert agents_needed(200, 180, 20, 0.8) == 14


def test_no_demand_needs_nobody_and_more_demand_never_needs_fewer():
    assert agents_needed(0, 600, 1800) == 0
    needs = [agents_needed(rate, 600, 1800) for rate in (1, 5, 10, 20, 40, 80)]
    assert needs == sorted(needs) and needs[0] >= 1
    assert agents_needed(40, 600, 1800) < agents_needed(40, 600, 60)  # a tighter target needs more


def test_at_or_beyond_capacity_nobody_is_answered_in_time():
    assert erlang_c(10, 10.0) == 1.0 and service_level(10, 10.0, 180, 20) == 0.0


def test_heatmap_averages_per_weekday():
    since = datetime(2026, 11, 2, tzinfo=timezone.utc).timestamp()  # a Monday
    until = datetime(2026, 11, 16, tzinfo=timezone.utc).timestamp()  # two weeks later
    mon_9 = datetime(2026, 11, 2, 9, 30, tzinfo=timezone.utc).timestamp()
    sat_15 = datetime(2026, 11, 14, 15, 1, tzinfo=timezone.utc).timestamp()
    h = heatmap([mon_9, mon_9 + 7 * 86400, sat_15], since, until)
    assert h.weeks == [2] * 7
    assert h.rate(0, 9) == 1.0 and h.rate(5, 15) == 0.5 and h.rate(0, 10) == 0.0
    assert weekday_counts(datetime(2026, 11, 2, 12, tzinfo=timezone.utc),
                          datetime(2026, 11, 3, 1, tzinfo=timezone.utc)) == [1, 1, 0, 0, 0, 0, 0]
