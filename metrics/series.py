"""Hourly series of a team's tickets, for the anomaly detector (metrics.anomaly.detect).

Each bucket holds what the metric definitions attribute to that hour (docs/metrics.md): new
tickets by creation, the median first response by the moment of the first response, CSAT (the
share of good ratings) by the moment of the rating; with how many tickets or ratings stand behind it.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from metrics.model import Csat
from metrics.tickets import Ticket

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class Series:
    metric: str
    direction: str  # which way is bad, as detect() takes it
    stamps: list[datetime]  # bucket ends
    values: list[float | None]
    support: list[float | None]


def hourly_series(tickets: Sequence[Ticket], start: datetime, end: datetime) -> list[Series]:
    """Volume, median first response and CSAT per hour from `start` (a whole hour) to `end`."""
    hours = int((end - start) / HOUR)
    stamps = [start + (i + 1) * HOUR for i in range(hours)]
    created: dict[int, int] = defaultdict(int)
    responses: dict[int, list[float]] = defaultdict(list)
    ratings: dict[int, list[bool]] = defaultdict(list)

    def bucket(moment: datetime) -> int | None:
        index = int((moment - start) / HOUR)
        return index if 0 <= index < hours else None

    for t in tickets:
        if t.removed is not None:
            continue
        if (i := bucket(t.created_at)) is not None:
            created[i] += 1
        if t.first_response_at is not None and t.first_response_seconds is not None \
                and (i := bucket(t.first_response_at)) is not None:
            responses[i].append(t.first_response_seconds)
        if t.csat is not None and t.rated_at is not None and (i := bucket(t.rated_at)) is not None:
            ratings[i].append(t.csat is Csat.GOOD)
    return [
        Series("volume", "both", stamps, [float(created[i]) for i in range(hours)],
               [float(created[i]) for i in range(hours)]),
        Series("frt_median", "up", stamps,
               [statistics.median(responses[i]) if responses[i] else None for i in range(hours)],
               [float(len(responses[i])) for i in range(hours)]),
        Series("csat", "down", stamps,
               [100.0 * sum(ratings[i]) / len(ratings[i]) if ratings[i] else None for i in range(hours)],
               [float(len(ratings[i])) for i in range(hours)]),
    ]
