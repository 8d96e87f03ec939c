"""Hourly series for the detector: each ticket counted in the hour its definition attributes it to."""

from __future__ import annotations

from datetime import timedelta

from metrics.series import hourly_series
from tests.support.tickets import ticket, when


def test_each_measure_lands_in_its_own_hour() -> None:
    tickets = [ticket("Mon 09:10").wrote("+0m").replied("+55m").rated("+2h", 5).build(),  # reply 10:05
               ticket("Mon 09:20").wrote("+0m").replied("+5m").rated("+3m", 1).build(),  # reply 09:25
               ticket("Mon 09:30").wrote("+0m").spam("+1m").build()]  # spam counts nowhere
    nine = when("Mon 09:00")
    volume, frt, csat = hourly_series(tickets, nine, nine + timedelta(hours=3))
    assert volume.values == [2.0, 0.0, 0.0]
    assert frt.values == [300.0, 3300.0, None] and frt.support == [1.0, 1.0, 0.0]
    assert csat.values == [0.0, None, 100.0] and csat.direction == "down"
