"""Summary statistics as defined in docs/metrics.md ("Medians and percentiles")."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def median(values: Sequence[float]) -> float | None:
    """The middle value; the mean of the two middle values for an even count; None when empty."""
    return statistics.median(values) if values else None


def mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest rank: the smallest value with at least `share` of all values at or below it."""
    if not values:
        return None
    return sorted(values)[rank(len(values), share) - 1]


def rank(count: int, share: float) -> int:
    """The nearest rank (1-based) of the `share` percentile among `count` values."""
    return max(1, math.ceil(share * count))
