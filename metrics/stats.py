"""Summary statistics as defined in docs/metrics.md ("Medians and percentiles")."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

import numpy as np


def median(values: Sequence[float]) -> float | None:
    """The middle value; the mean of the two middle values for an even count; None when empty."""
    return statistics.median(values) if values else None


def median_of_many(values: Sequence[float] | np.ndarray) -> float | None:
    """median() of many floats, picked from an array instead of sorting a list: the same number."""
    measured = np.asarray(values, dtype=float)
    n = len(measured)
    if not n:
        return None
    middle = n // 2
    return middle_of(np.partition(measured, sorted({max(middle - 1, 0), middle})))


def middle_of(picked: np.ndarray) -> float:
    """The median of an array partitioned around its middle position(s) (np.partition)."""
    n, middle = len(picked), len(picked) // 2
    return float(picked[middle]) if n % 2 else (float(picked[middle - 1]) + float(picked[middle])) / 2


def mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def mean_of_counts(values: Sequence[int] | np.ndarray) -> float | None:
    """mean() of whole numbers, from an array: their sum is exact either way, so the same number."""
    counts = np.asarray(values, dtype=float)
    return float(counts.sum()) / len(counts) if len(counts) else None


def percentile(values: Sequence[float], share: float) -> float | None:
    """Nearest rank: the smallest value with at least `share` of all values at or below it."""
    if not values:
        return None
    return sorted(values)[rank(len(values), share) - 1]


def rank(count: int, share: float) -> int:
    """The nearest rank (1-based) of the `share` percentile among `count` values."""
    return max(1, math.ceil(share * count))
