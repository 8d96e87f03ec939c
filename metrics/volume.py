"""Volume, backlog and peak hours (docs/metrics.md, "Volume", "Backlog", "Peak hours")."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

import numpy as np

from metrics.model import Role
from metrics.periods import Period
from metrics.tickets import Ticket

Figures = dict[str, float | None]

# Backlog age buckets: (key, upper bound in hours); the last one is open-ended.
AGE_BUCKETS: tuple[tuple[str, float], ...] = (
    ("under_1d", 24), ("d1_3", 72), ("d3_7", 168), ("over_7d", float("inf")))


def volume(tickets: Sequence[Ticket], period: Period) -> Figures:
    """New, active, solved and reopened tickets; incoming and outgoing messages."""
    start, end = period.start, period.end
    new = active = solved = reopened = incoming = outgoing = 0
    for t in tickets:
        new += period.contains(t.created_at)
        active += t.active_between(start, end)
        solved += bool(t.resolved_between(start, end))
        reopened += any(period.contains(s.opened_at) for s in t.open_spans[1:])
        for m in t.messages:
            if start <= m.at < end:
                incoming += m.role is Role.CUSTOMER
                outgoing += m.role is Role.AGENT
    return {"new": new, "active": active, "solved": solved, "reopened": reopened,
            "incoming": incoming, "outgoing": outgoing}


@dataclass(frozen=True)
class OldestTicket:
    key: str
    subject: str | None
    age_seconds: float


def backlog(tickets: Sequence[Ticket], at: datetime) -> Figures:
    """Tickets unresolved at `at`, by age since creation, and the age of the oldest."""
    return backlog_by_age([age_seconds(t.created_at, at) for t in tickets if t.open_at(at)])


def backlog_by_age(ages: Sequence[float]) -> Figures:
    """The backlog figures from the ages (seconds since creation) of the unresolved tickets."""
    younger = [sum(1 for age in ages if age < hours * 3600) for _, hours in AGE_BUCKETS[:-1]]
    return backlog_from_counts(len(ages), younger, max(ages, default=None))


def backlog_from_counts(open_count: int, younger_than: Sequence[int], oldest_age: float | None) -> Figures:
    """The backlog figures from how many tickets are unresolved, how many of them are younger than
    each AGE_BUCKETS limit but the last (a ticket falls in the first bucket whose limit its age
    is under), and the oldest one's age: what a database counts without handing over each ticket."""
    under_limit, under_previous = [*younger_than, open_count], [0, *younger_than]
    buckets = {key: float(n - fewer) for (key, _), n, fewer in zip(AGE_BUCKETS, under_limit, under_previous,
                                                                   strict=True)}
    return {"open": float(open_count), **buckets, "oldest_age": oldest_age}


def age_seconds(created_at: datetime, at: datetime) -> float:
    return max(0.0, (at.astimezone(UTC) - created_at.astimezone(UTC)).total_seconds())


def oldest_open(tickets: Sequence[Ticket], at: datetime) -> OldestTicket | None:
    open_now = [t for t in tickets if t.open_at(at)]
    if not open_now:
        return None
    oldest = min(open_now, key=lambda t: (t.created_at, t.key))
    return OldestTicket(oldest.key, oldest.subject, age_seconds(oldest.created_at, at))


def peak_hours(tickets: Sequence[Ticket], period: Period) -> list[list[int]]:
    """New tickets by weekday (0 = Monday) and local hour of creation: 7 rows of 24 counts."""
    return peak_grid([t.created_at for t in tickets if period.contains(t.created_at)], period.tz)


def peak_grid(created: Iterable[datetime], tz: tzinfo) -> list[list[int]]:
    """Count creation moments by local weekday and hour."""
    grid = [[0] * 24 for _ in range(7)]
    for moment in created:
        local = moment.astimezone(tz)
        grid[local.weekday()][local.hour] += 1
    return grid


def peak_grid_of_moments(moments: np.ndarray, tz: tzinfo) -> list[list[int]]:
    """`peak_grid` of POSIX moments: counted per UTC quarter hour first (every zone's offset is
    a whole number of quarter hours, so a quarter hour lies within one local hour), then each
    quarter hour placed in its local weekday and hour once."""
    grid = [[0] * 24 for _ in range(7)]
    quarters, counts = np.unique(np.floor(np.asarray(moments, dtype=float) / 900.0), return_counts=True)
    for quarter, n in zip(quarters.tolist(), counts.tolist(), strict=True):
        local = datetime.fromtimestamp(quarter * 900.0, tz)
        grid[local.weekday()][local.hour] += n
    return grid


def busiest(grid: list[list[int]]) -> tuple[int, int, int] | None:
    """(weekday, hour, tickets) of the busiest hour of the week; the earliest on a tie."""
    best = max(((count, -day, -hour) for day, row in enumerate(grid) for hour, count in enumerate(row)), default=None)
    if best is None or best[0] == 0:
        return None
    return -best[1], -best[2], best[0]
