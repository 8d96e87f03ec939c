"""First response time, average response time and resolution time over a period
(docs/metrics.md, "First response time", "Average response time", "Resolution time").

Each measurement counts in the period in which it was completed: a first response in the period
of the reply, a wait in the period of the reply that ended it, a resolution in the period of the
resolution. With a business calendar the same measurements are also given in business time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from metrics.model import Role
from metrics.periods import Period
from metrics.stats import mean_of_counts, middle_of, rank
from metrics.tickets import Ticket

if TYPE_CHECKING:
    from metrics.business_hours import BusinessCalendar

Figures = dict[str, float | None]


def summary(values: Sequence[float], prefix: str = "") -> Figures:
    """Median, mean, p90 and count, the four numbers every duration metric shows (metrics.stats
    definitions, computed on arrays: a year of measurements is never sorted in full)."""
    measured = np.asarray(values, dtype=float)
    n = len(measured)
    if not n:
        return {f"{prefix}median": None, f"{prefix}mean": None, f"{prefix}p90": None, f"{prefix}count": 0.0}
    middle, p90 = n // 2, rank(n, 0.9) - 1
    wanted = sorted({middle, max(middle - 1, 0), p90})
    picked = np.partition(measured, wanted)  # each wanted position holds the value sorting would put there
    return {f"{prefix}median": middle_of(picked), f"{prefix}mean": float(measured.mean()),  # no list of floats
            f"{prefix}p90": float(picked[p90]), f"{prefix}count": float(n)}


def _with_business(spans: Sequence[tuple[datetime, float]], calendar: BusinessCalendar | None) -> Figures:
    return duration_figures([seconds for _, seconds in spans], calendar, [end.timestamp() for end, _ in spans])


def duration_figures(seconds: Sequence[float], calendar: BusinessCalendar | None = None,
                     ends: Sequence[float] = ()) -> Figures:
    """Calendar figures of measured durations, plus business-time figures with a calendar, for
    which `ends` gives the POSIX time each measurement ended."""
    return both_summaries(seconds, business_durations(seconds, ends, calendar) if calendar is not None else None)


def business_durations(seconds: Sequence[float] | np.ndarray, ends: Sequence[float] | np.ndarray,
                       calendar: BusinessCalendar) -> np.ndarray:
    """Each duration in business seconds: the calendar's business time from its start (its end
    less its length) to its end (POSIX seconds)."""
    finished = np.asarray(ends, dtype=float)
    return calendar.business_seconds_array(finished - np.asarray(seconds, dtype=float), finished)


def both_summaries(seconds: Sequence[float] | np.ndarray, business: np.ndarray | None = None) -> Figures:
    """`summary` of durations, and of the same durations in business seconds when given."""
    figures = summary(seconds)
    if business is not None:
        figures.update(summary(business, "business_"))
    return figures


def first_response_measurements(tickets: Sequence[Ticket], period: Period) -> list[tuple[datetime, float]]:
    """(reply time, first response seconds) of each ticket first answered in the period."""
    return [(t.first_response_at, t.first_response_seconds) for t in tickets
            if t.first_response_at is not None and t.first_response_seconds is not None
            and period.contains(t.first_response_at)]


def first_response_time(tickets: Sequence[Ticket], period: Period,
                        calendar: BusinessCalendar | None = None) -> Figures:
    """First response time of the tickets first answered in the period."""
    return _with_business(first_response_measurements(tickets, period), calendar)


def response_time(tickets: Sequence[Ticket], period: Period, calendar: BusinessCalendar | None = None) -> Figures:
    """Every wait of a customer for an agent that an agent reply ended in the period; the mean is
    the average response time."""
    waits = [(m.at, m.wait_seconds) for t in tickets for m in t.messages
             if m.role is Role.AGENT and m.wait_seconds is not None and period.contains(m.at)]
    return _with_business(waits, calendar)  # type: ignore[arg-type]


def resolution_time(tickets: Sequence[Ticket], period: Period, calendar: BusinessCalendar | None = None) -> Figures:
    """First resolution time of tickets first resolved in the period; full resolution time of
    tickets resolved now whose last resolution fell in the period; replies per resolved ticket."""
    first = [(t.first_resolved_at, t.first_resolution_seconds) for t in tickets
             if t.first_resolved_at and t.first_resolution_seconds is not None and period.contains(t.first_resolved_at)]
    full_tickets = [t for t in tickets if t.full_resolution_seconds is not None and t.last_resolved_at
                    and period.contains(t.last_resolved_at)]
    full = [(t.last_resolved_at, t.full_resolution_seconds) for t in full_tickets]
    return resolution_figures(_with_business(first, calendar), _with_business(full, calendar),  # type: ignore[arg-type]
                              [t.agent_replies for t in full_tickets])


def resolution_figures(first: Figures, full: Figures, replies: Sequence[int] | np.ndarray) -> Figures:
    """First and full resolution figures side by side, with the agent replies per fully resolved ticket."""
    return {**{f"first_{k}": v for k, v in first.items()}, **full, "replies_per_resolved": mean_of_counts(replies)}
