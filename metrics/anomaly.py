"""Is the last hour unusual? One signal against its seasonal baseline (docs/metrics.md, "Alerts").

The baseline of a window is the same hour of the week over recent weeks, holidays left out
(the caller picks those windows). Counts (new tickets) are judged with a Poisson tail: a quiet
3 a.m. hour with 2 tickets against a usual 0.5 is not rare enough to matter. Durations and
shares (median first response, CSAT) are judged by a robust z-score against the spread of the
usual values, and only on windows with enough measurements. Both also need a change large
enough to act on, so a statistically clear but small shift does not wake anybody, and the
usual level is rescaled by the recent trend, so steady growth does not look like a spike.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Rules:
    min_measurements: int = 10  # a median of fewer first responses is not judged
    min_usual_count: float = 3.0  # a count is judged once the window usually has this many, or now has 3x
    count_tail: float = 0.001  # a count this unlikely under the usual rate is unusual
    z_threshold: float = 3.5
    min_ratio: float = 1.5  # and it moved by at least half again (or to two thirds) of the usual
    min_samples: int = 3  # baseline windows needed


@dataclass(frozen=True)
class Verdict:
    unusual: bool
    usual: float | None
    ratio: float | None  # now / usual
    rarity: float | None  # the tail probability (counts) or |z| (durations, shares)
    why: str  # a short reason, for the log and the tests


def judge_count(now: int, earlier: Sequence[float], *, trend: float = 1.0, rules: Rules = Rules()) -> Verdict:
    """A count (new tickets in the window) against the same window in earlier weeks."""
    if len(earlier) < rules.min_samples:
        return Verdict(False, None, None, None, "not enough history")
    usual = statistics.median(earlier) * trend
    if usual < rules.min_usual_count and now < 3 * rules.min_usual_count:
        return Verdict(False, usual, None, None, "too few tickets to judge")
    expected = max(usual, 0.5)
    ratio = now / expected
    high = now > expected
    tail = poisson_upper_tail(now, expected) if high else poisson_lower_tail(now, expected)
    big = ratio >= rules.min_ratio or ratio <= 1 / rules.min_ratio
    unusual = tail < rules.count_tail and big
    return Verdict(unusual, usual, ratio, tail, "unusual" if unusual else "within the usual range")


def judge_level(now: float | None, measurements: int, earlier: Sequence[float], *, rules: Rules = Rules()) -> Verdict:
    """A level (median first response, CSAT) against the same window in earlier weeks."""
    if now is None or measurements < rules.min_measurements:
        return Verdict(False, None, None, None, "too few measurements to judge")
    if len(earlier) < rules.min_samples:
        return Verdict(False, None, None, None, "not enough history")
    usual = statistics.median(earlier)
    spread = 1.4826 * statistics.median(abs(x - usual) for x in earlier)
    # a baseline that never moved would make any change infinitely unusual: floor the spread
    scale = max(spread, 0.1 * abs(usual), 1e-9)
    z = (now - usual) / scale
    ratio = now / usual if usual else None
    big = ratio is None or ratio >= rules.min_ratio or ratio <= 1 / rules.min_ratio
    unusual = abs(z) >= rules.z_threshold and big
    return Verdict(unusual, usual, ratio, abs(z), "unusual" if unusual else "within the usual range")


def growth(recent_total: float, earlier_totals: Sequence[float]) -> float:
    """How much busier the last week was than the usual week: the level counts are rescaled by."""
    if not earlier_totals or recent_total <= 0:
        return 1.0
    usual = statistics.median(earlier_totals)
    return recent_total / usual if usual > 0 else 1.0


def poisson_upper_tail(k: int, mean: float) -> float:
    """P(X >= k) for X ~ Poisson(mean)."""
    if k <= 0:
        return 1.0
    if k <= mean:
        return max(0.0, 1.0 - poisson_lower_tail(k - 1, mean))
    # above the mean, sum the tail itself (1 − lower tail would cancel to rounding noise)
    total, i, log_term = 0.0, k, _log_poisson(k, mean)
    first = log_term
    while log_term - first > -40:  # later terms add less than e^-40 of the first
        total += math.exp(log_term - first)
        i += 1
        log_term += math.log(mean) - math.log(i)
    return math.exp(first) * total


def poisson_lower_tail(k: int, mean: float) -> float:
    """P(X <= k) for X ~ Poisson(mean), summed in log space so large means stay in range."""
    if k < 0:
        return 0.0
    log_terms = [_log_poisson(i, mean) for i in range(k + 1)]
    top = max(log_terms)
    return min(1.0, math.exp(top) * sum(math.exp(t - top) for t in log_terms))


def _log_poisson(i: int, mean: float) -> float:
    return i * math.log(mean) - mean - math.lgamma(i + 1)
