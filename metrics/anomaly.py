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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class Rules:
    min_measurements: int = 10  # a median of fewer first responses is not judged
    min_usual_count: float = 3.0  # a count is judged once the window usually has this many, or now has 3x
    count_tail: float = 0.001  # a count this unlikely under the usual rate is unusual
    share_tail: float = 0.0001  # a share this unlikely under the usual one (judged more often: pooled hours)
    z_threshold: float = 4.0
    min_ratio: float = 1.5  # and it moved by at least half again (or to two thirds) of the usual
    min_points: float = 10.0  # for shares (CSAT, SLA attainment, in %): and it moved by this many points
    min_samples: int = 3  # baseline windows needed


@dataclass(frozen=True)
class Verdict:
    unusual: bool
    usual: float | None
    ratio: float | None  # now / usual
    rarity: float | None  # the tail probability (counts) or |z| (durations, shares)
    why: str  # a short reason, for the log and the tests


def judge_count(now: int, earlier: Sequence[float], *, trend: float = 1.0, rules: Rules = Rules()) -> Verdict:
    """A count (new tickets in the window) against the same window in earlier weeks.

    Real arrivals vary more than a Poisson process, so the tail is taken against the most
    forgiving earlier week (the busiest one for a surge, the quietest for a drop), and the size of
    the change against the usual (median) week."""
    if len(earlier) < rules.min_samples:
        return Verdict(False, None, None, None, "not enough history")
    usual = statistics.median(earlier) * trend
    if usual < rules.min_usual_count and now < 3 * rules.min_usual_count:
        return Verdict(False, usual, None, None, "too few tickets to judge")
    ratio = now / max(usual, 0.5)
    if now > usual:
        tail = poisson_upper_tail(now, max(max(earlier) * trend, 0.5))
    else:
        tail = poisson_lower_tail(now, max(min(earlier) * trend, 0.5))
    big = ratio >= rules.min_ratio or ratio <= 1 / rules.min_ratio
    unusual = tail < rules.count_tail and big
    return Verdict(unusual, usual, ratio, tail, "unusual" if unusual else "within the usual range")


def judge_level(now: float | None, measurements: int, earlier: Sequence[float], *, share: bool = False,
                rules: Rules = Rules()) -> Verdict:
    """A level (median first response; with `share`, a percentage such as CSAT) against the same
    window in earlier weeks.

    The spread it is measured in is the larger of the earlier weeks' own spread and the noise the
    window's size alone explains: a median of 12 first responses wanders far more than one of 200."""
    if now is None or measurements < rules.min_measurements:
        return Verdict(False, None, None, None, "too few measurements to judge")
    if len(earlier) < rules.min_samples:
        return Verdict(False, None, None, None, "not enough history")
    usual = statistics.median(earlier)
    ratio = now / usual if usual else None
    if share:  # a share of n ratings: a binomial tail against the most forgiving earlier week
        hits = round(now / 100 * measurements)
        if now < usual:
            rarity = binomial_lower_tail(hits, measurements, _probability(min(earlier)))
        else:
            rarity = 1 - binomial_lower_tail(hits - 1, measurements, _probability(max(earlier)))
        unusual = rarity < rules.share_tail and abs(now - usual) >= rules.min_points
        return Verdict(unusual, usual, ratio, rarity, "unusual" if unusual else "within the usual range")
    if usual > 0 and now > 0 and min(earlier) > 0:  # durations: compared as ratios, on a log scale
        logs = [math.log(x) for x in earlier]
        scale = max(_spread(logs), MEDIAN_NOISE * DURATION_SIGMA / math.sqrt(measurements), 0.05)
        z = (math.log(now) - math.log(usual)) / scale
        big = ratio is not None and (ratio >= rules.min_ratio or ratio <= 1 / rules.min_ratio)
    else:  # a level at or near zero (an empty backlog): plain differences
        scale = max(_spread(earlier), 0.1 * abs(usual), 1.0)
        z = (now - usual) / scale
        big = ratio is None or ratio >= rules.min_ratio or ratio <= 1 / rules.min_ratio
    unusual = abs(z) >= rules.z_threshold and big
    return Verdict(unusual, usual, ratio, abs(z), "unusual" if unusual else "within the usual range")


# Durations in support (first response, resolution) spread like a log-normal with sigma about 1; the
# median of n of them then has a standard error of about 1.25 sigma / sqrt(n) on the log scale.
DURATION_SIGMA = 1.0
MEDIAN_NOISE = 1.2533


def _probability(percent: float) -> float:
    return min(max(percent / 100, 0.01), 0.99)


def binomial_lower_tail(k: int, n: int, p: float) -> float:
    """P(X <= k) for X ~ Binomial(n, p), summed in log space."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p)
            + (n - i) * math.log1p(-p) for i in range(k + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(x - top) for x in logs))


def _spread(values: Sequence[float]) -> float:
    """1.4826 x the median absolute deviation: the standard deviation, were the values normal."""
    middle = statistics.median(values)
    return 1.4826 * statistics.median(abs(x - middle) for x in values)


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


LOOK_BACK_WEEKS = 8
SHARE_BUCKETS, SHARE_SUPPORT = 6, 40  # a share (CSAT) pools the last 6 buckets, more (up to 24) until 40 ratings
COUNT_METRICS = frozenset({"volume"})  # judged as Poisson counts; everything else as a level
SHARE_METRICS = frozenset({"csat", "sla", "sla_attainment", "one_touch"})  # levels in %, judged in points


def detect(timestamps: Sequence[datetime], values: Sequence[float | None], *, metric: str, direction: str,
           support: Sequence[float | None] | None = None, holidays: Iterable[date] = (), freq: timedelta,
           warmup_end: datetime | None = None, rules: Rules = Rules()) -> list[datetime]:
    """When an incident starts in a series, deciding at each bucket with the data up to it only.

    `timestamps` are the tz-aware ends of equal buckets `freq` long; `values` are the series (None
    or NaN where there is no data); `support` says how many tickets or ratings stand behind each
    value. Each bucket is judged against the buckets one to eight weeks earlier at the same time
    (holidays left out, the first four found), as `judge_count` (volume) or `judge_level` (any other
    metric) do; `direction` is `up` when higher is bad, `down`, or `both`. An alert is the first
    bucket of a run of bad buckets; none are raised on holidays or before `warmup_end`.
    """
    off_days = frozenset(holidays)
    index = {t: i for i, t in enumerate(timestamps)}
    week = timedelta(weeks=1)
    per_week = round(week / freq)
    if metric in SHARE_METRICS and support is not None:  # an hour holds few ratings: pool a few hours
        values, support = _pooled(values, support)
    off = [(t - freq).date() in off_days for t in timestamps]  # a bucket belongs to the day it starts on
    alerts, in_incident = [], False
    for i, moment in enumerate(timestamps):
        value = _number(values[i])
        earlier = [v for k in range(1, LOOK_BACK_WEEKS + 1)
                   if (j := index.get(moment - k * week)) is not None
                   and not off[j] and (v := _number(values[j])) is not None][:4]
        if metric in COUNT_METRICS:
            trend = _trend(values, i, per_week, off)
            verdict = judge_count(int(value or 0), earlier, trend=trend, rules=rules)
        else:
            measured = support[i] if support is not None else None
            count = int(measured) if measured is not None and not math.isnan(measured) else rules.min_measurements
            verdict = judge_level(value, count, earlier, share=metric in SHARE_METRICS, rules=rules)
        bad = verdict.unusual and _bad_way(verdict, direction)
        if bad and not in_incident and not off[i] and (warmup_end is None or moment >= warmup_end):
            alerts.append(moment)
        in_incident = bad
    return alerts


def _pooled(values: Sequence[float | None], support: Sequence[float | None]) -> tuple[list[float | None],
                                                                                     list[float | None]]:
    """Each bucket's share over it and the buckets before (causal), weighted by support: at least
    SHARE_BUCKETS of them, more until SHARE_SUPPORT ratings or a day."""
    pooled: list[float | None] = []
    counts: list[float | None] = []
    for i in range(len(values)):
        hits = total = 0.0
        for back, j in enumerate(range(i, max(-1, i - 24), -1)):
            v, n = _number(values[j]), _number(support[j])
            if v is not None and n:
                hits, total = hits + v * n, total + n
            if back + 1 >= SHARE_BUCKETS and total >= SHARE_SUPPORT:
                break
        pooled.append(hits / total if total else None)
        counts.append(total)
    return pooled, counts


def _number(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def _trend(values: Sequence[float | None], i: int, per_week: int, off: Sequence[bool]) -> float:
    """`busier_than_usual` over the 7 days before bucket i (days holding a holiday bucket count as None)."""
    if i < 5 * per_week:
        return 1.0
    per_day = per_week // 7

    def total(end: int) -> float | None:
        span = range(end - per_day, end)
        return None if any(off[j] for j in span) else \
            sum(v for j in span if (v := _number(values[j])) is not None)

    days = [(total(i - d * per_day), [total(i - d * per_day - k * per_week) for k in range(1, 5)]) for d in range(7)]
    return busier_than_usual(days)


def busier_than_usual(days: Sequence[tuple[float | None, Sequence[float | None]]]) -> float:
    """The recent trend counts are judged with: for each of the last 7 days, its new tickets against
    the median of the same weekday in the 4 weeks before; the median of those ratios. A day given
    as None (a holiday, in any of those weeks) is left out; one busy day cannot move a median of 7."""
    ratios = []
    for recent, earlier in days:
        known = [e for e in earlier if e is not None]
        if recent is not None and len(known) >= 2 and statistics.median(known) > 0:
            ratios.append(recent / statistics.median(known))
    return statistics.median(ratios) if ratios else 1.0


def _bad_way(verdict: Verdict, direction: str) -> bool:
    if direction == "both" or verdict.ratio is None:
        return True
    return verdict.ratio > 1 if direction == "up" else verdict.ratio < 1
