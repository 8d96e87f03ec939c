"""The array forms of the arithmetic (what storage hands a year of measurements to) give the very
numbers of the per-item definitions in metrics.stats, metrics.volume and metrics.sla."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from metrics.business_hours import BusinessCalendar, parse_schedule
from metrics.response_times import summary
from metrics.sla import SlaTicket, parse_sla, sla_figures
from metrics.stats import mean, median, percentile
from metrics.volume import peak_grid, peak_grid_of_moments

NOW = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)


@given(st.lists(st.one_of(st.floats(0, 1e7), st.integers(0, 5).map(float)), max_size=60))
def test_summary_is_the_median_mean_and_nearest_rank_p90(values: list[float]) -> None:
    found = summary(values)
    assert found == {"median": median(sorted(values)), "mean": found["mean"], "p90": percentile(values, 0.9),
                     "count": float(len(values))}
    # numpy's pairwise sum, not an exactly rounded one: equal to the last few bits
    assert found["mean"] == (pytest.approx(mean(values), rel=1e-12, abs=1e-9) if values else None)


def test_peak_grid_of_moments_places_each_moment_in_its_local_hour_across_dst_and_odd_offsets() -> None:
    rng = random.Random(3)
    start = datetime(2026, 3, 27, tzinfo=UTC)  # Europe's spring-forward weekend
    moments = [start + timedelta(seconds=rng.uniform(0, 5 * 86400)) for _ in range(3000)]
    for zone in ("Europe/Berlin", "Asia/Kathmandu", "America/St_Johns", "UTC"):
        tz = ZoneInfo(zone)
        assert peak_grid_of_moments(np.array([m.timestamp() for m in moments]), tz) == peak_grid(moments, tz), zone


def test_sla_over_arrays_counts_like_ticket_by_ticket() -> None:
    rng = random.Random(5)
    tickets = []
    for i in range(400):
        created = NOW.timestamp() - rng.uniform(0, 10 * 86400)
        answered = None if i % 5 == 0 else created + rng.uniform(0, 2 * 86400)
        tickets.append(SlaTicket(rng.choice(["email", "chat", "social", "sms"]), rng.choice([None, "urgent", "low"]),
                                 created, answered))
    targets = parse_sla("chat=5m;email=24h;*/urgent=1h")  # social and sms without urgency: no target
    calendar = BusinessCalendar(ZoneInfo("Europe/Berlin"), parse_schedule("mon-fri 09:00-17:00"))
    for business in (None, calendar):
        by_array = sla_figures(tickets, targets, now=NOW, calendar=business)
        met = breached = pending = 0
        for t in tickets:
            target = targets.target(t.channel, t.priority)
            if target is None:
                continue
            end = datetime.fromtimestamp(t.first_response_at or NOW.timestamp(), UTC)
            begin = datetime.fromtimestamp(t.created_at, UTC)
            waited = business.business_seconds(begin, end) if business else max(0.0, (end - begin).total_seconds())
            if waited > target:
                breached += 1
            elif t.first_response_at is None:
                pending += 1
            else:
                met += 1
        assert (by_array["met"], by_array["breached"], by_array["pending"]) == (met, breached, pending)
        assert met and breached and pending
