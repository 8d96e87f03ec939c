"""Erlang C against the classic worked example: 100 calls in half an hour, 3 minutes to handle
each (10 Erlangs), 80% to be answered within 20 seconds. The published figures (Call Centre
Helper's worked example of the Erlang C formula; the pyworkforce package gives the same): with
11, 12, 13 and 14 agents a call waits with probability 68.2%, 44.9%, 28.5% and 17.4%, and 39.0%,
64.0%, 79.6% and 88.8% are answered in time; 14 agents are needed."""

from __future__ import annotations

import pytest

from metrics.staffing import agents_needed, service_level, waiting_probability

CALLS_PER_HOUR, HANDLING, TARGET = 200, 180, 20
TRAFFIC = CALLS_PER_HOUR * HANDLING / 3600  # 10 Erlangs


@pytest.mark.parametrize("agents, waits, answered_in_time", [
    (11, 0.6821, 0.3896), (12, 0.4494, 0.6402), (13, 0.2853, 0.7956), (14, 0.1741, 0.8884),
])
def test_the_published_worked_example(agents: int, waits: float, answered_in_time: float) -> None:
    assert waiting_probability(agents, TRAFFIC) == pytest.approx(waits, abs=5e-5)
    assert service_level(agents, TRAFFIC, target_seconds=TARGET, handling_seconds=HANDLING) == \
        pytest.approx(answered_in_time, abs=5e-5)


def test_fourteen_agents_answer_eighty_percent_within_twenty_seconds() -> None:
    staffing = agents_needed(CALLS_PER_HOUR, HANDLING, target_seconds=TARGET, goal=0.8, max_occupancy=1.0)
    assert staffing is not None and staffing.agents == 14
    assert staffing.occupancy == pytest.approx(10 / 14)


def test_too_few_agents_for_the_load_means_everyone_waits() -> None:
    assert waiting_probability(10, TRAFFIC) == 1.0
    assert service_level(9, TRAFFIC, target_seconds=TARGET, handling_seconds=HANDLING) == 0.0


def test_a_cap_on_occupancy_can_ask_for_more_agents_than_the_service_level() -> None:
    # 4 Erlangs and a generous target: 5 agents would answer in time, but be 80% busy
    staffing = agents_needed(48, 300, target_seconds=3600, goal=0.8, max_occupancy=0.7)
    assert staffing is not None and staffing.agents == 6


def test_no_tickets_need_no_estimate() -> None:
    assert agents_needed(0, 300, target_seconds=60) is None


def test_a_large_team_stays_in_range() -> None:
    staffing = agents_needed(6000, 600, target_seconds=60)  # 1,000 Erlangs
    assert staffing is not None and 1000 < staffing.agents < 1200
    assert 0.8 <= staffing.service_level <= 1 and 0 < staffing.waiting_probability < 1
