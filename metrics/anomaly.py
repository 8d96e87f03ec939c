"""Is the last hour unusual? One signal against its seasonal baseline (docs/metrics.md, "Alerts").

The baseline of a window is the same hour of the week over recent weeks, holidays left out
(the caller picks those windows). Counts (new tickets) are judged with a Poisson tail: a quiet
3 a.m. hour with 2 tickets against a usual 0.5 is not rare enough to matter; their usual level
is rescaled by the recent trend, so steady growth does not look like a spike. Durations (median
first response) are judged by a robust z-score against the spread of the usual values, shares
(CSAT) by a beta-binomial tail against the earlier weeks' pooled ratings, both only on windows
with enough measurements. All also need a change large enough to act on, so a statistically
clear but small shift does not wake anybody.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta


@dataclass(frozen=True)
class Rules:
    min_measurements: int = 10  # a median of fewer first responses is not judged
    min_ratings: int = 20  # CSAT on fewer ratings is not judged: few customers rate, and one moves it 5 points
    min_usual_count: float = 3.0  # a count is judged once the window usually has this many, or now has 3x
    count_tail: float = 0.001  # a count this unlikely under the usual rate is unusual
    share_tail: float = 0.0001  # a share this unlikely under the usual one (strict: judged over several windows)
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
    if share:  # each earlier window taken to rest on as many ratings as this one
        return judge_share(now, measurements, [(v, measurements) for v in earlier], rated=False, rules=rules)
    if now is None or measurements < rules.min_measurements:
        return Verdict(False, None, None, None, "too few measurements to judge")
    if len(earlier) < rules.min_samples:
        return Verdict(False, None, None, None, "not enough history")
    usual = statistics.median(earlier)
    ratio = now / usual if usual else None
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


def judge_share(now: float | None, ratings: int, earlier: Sequence[tuple[float, float]], *, rated: bool = True,
                rules: Rules = Rules()) -> Verdict:
    """A share in % of `ratings` (CSAT, SLA attainment) against the same window in earlier weeks,
    each given as (share in %, ratings). `rated`: the share is of customers' ratings (CSAT), judged
    on `min_ratings` of them; a share of every ticket (SLA attainment) on `min_measurements`.

    The usual share pools the earlier weeks' ratings (good ones over all of them): steadier than any
    one week's share when a week holds a few dozen ratings. How unlikely this window's good ratings
    are is read from what those earlier ratings tell of the share (a beta-binomial tail): 12 good of
    12 at night says less about the usual than 180 of 200 by day, so a quiet window is not judged
    against a certainty it never had. The share must also have moved by at least `min_points`,
    which absorbs the week-to-week wobble real teams have beyond luck."""
    if now is None or ratings < (rules.min_ratings if rated else rules.min_measurements):
        return Verdict(False, None, None, None, "too few measurements to judge")
    known = [(share, n) for share, n in earlier if n > 0]
    if len(known) < rules.min_samples:
        return Verdict(False, None, None, None, "not enough history")
    good = sum(share / 100 * n for share, n in known)
    usual = 100 * good / sum(n for _, n in known)
    hits = round(now / 100 * ratings)
    prior_good, prior_bad = good + 0.5, sum(n for _, n in known) - good + 0.5  # Jeffreys' prior
    if now < usual:
        rarity = beta_binomial_lower_tail(hits, ratings, prior_good, prior_bad)
    else:
        rarity = beta_binomial_lower_tail(ratings - hits, ratings, prior_bad, prior_good)
    unusual = rarity < rules.share_tail and abs(now - usual) >= rules.min_points
    return Verdict(unusual, usual, now / usual if usual else None, rarity,
                   "unusual" if unusual else "within the usual range")


def beta_binomial_lower_tail(k: int, n: int, a: float, b: float) -> float:
    """P(X <= k) for X good ratings out of n when the share of good ones is Beta(a, b): the binomial
    tail with the uncertainty of the share itself taken in."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + math.lgamma(i + a)
            + math.lgamma(n - i + b) - math.lgamma(n + a + b) - math.lgamma(a) - math.lgamma(b)
            + math.lgamma(a + b) for i in range(k + 1)]
    top = max(logs)
    return min(1.0, math.exp(top) * sum(math.exp(x - top) for x in logs))


# Durations in support (first response, resolution) spread like a log-normal with sigma about 1; the
# median of n of them then has a standard error of about 1.25 sigma / sqrt(n) on the log scale.
DURATION_SIGMA = 1.0
MEDIAN_NOISE = 1.2533


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
# A share is judged over the last hour and over longer windows ending now: a busy team's ratings show
# a fall within the hour, a small team needs half a day of ratings to tell a fall from luck.
SHARE_HOURS = (1, 3, 6, 12)
SHARE_WINDOWS = tuple(timedelta(hours=h) for h in SHARE_HOURS)
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
    metric) do; a share with its support (CSAT) is judged by `judge_share` over each of
    SHARE_WINDOWS ending at the bucket. `direction` is `up` when higher is bad, `down`, or `both`.
    An alert is the first bucket of a run of bad buckets; none are raised on holidays or before
    `warmup_end`.
    """
    off_days = frozenset(holidays)
    index = {t: i for i, t in enumerate(timestamps)}
    week = timedelta(weeks=1)
    per_week = round(week / freq)
    off = [(t - freq).date() in off_days for t in timestamps]  # a bucket belongs to the day it starts on
    shares = _Shares(values, support, rated=metric == "csat") if metric in SHARE_METRICS and support is not None \
        else None
    spans = sorted({max(1, round(w / freq)) for w in SHARE_WINDOWS})
    alerts, in_incident = [], False
    for i, moment in enumerate(timestamps):
        same_time = _same_time(index, moment, off)
        if shares is not None:
            bad = any(v.unusual and _bad_way(v, direction) for v in shares.verdicts(i, same_time, spans, rules))
        else:
            value = _number(values[i])
            earlier = [v for j in same_time if (v := _number(values[j])) is not None][:4]
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


def share_behind(timestamps: Sequence[datetime], values: Sequence[float | None], support: Sequence[float | None],
                 moment: datetime, *, metric: str = "csat", holidays: Iterable[date] = (), freq: timedelta,
                 rules: Rules = Rules()) -> tuple[timedelta, float, int] | None:
    """What a share's alert at `moment` rests on, as `detect` judged it: of the SHARE_WINDOWS ending
    there that were unusual, the least likely, as (its length, the share in %, its ratings)."""
    off_days = frozenset(holidays)
    index = {t: i for i, t in enumerate(timestamps)}
    off = [(t - freq).date() in off_days for t in timestamps]
    shares, i = _Shares(values, support, rated=metric == "csat"), index[moment]
    spans = sorted({max(1, round(w / freq)) for w in SHARE_WINDOWS})
    unusual = [(v.rarity or 0.0, span) for span, v in zip(spans, shares.verdicts(i, _same_time(index, moment, off),
                                                                               spans, rules), strict=True)
               if v.unusual]
    if not unusual:
        return None
    span = min(unusual)[1]
    share, ratings = shares.window(i, span)
    return span * freq, share or 0.0, round(ratings)


def _same_time(index: dict[datetime, int], moment: datetime, off: Sequence[bool]) -> list[int]:
    """The buckets one to LOOK_BACK_WEEKS weeks before `moment`, newest first, holidays left out."""
    week = timedelta(weeks=1)
    return [j for k in range(1, LOOK_BACK_WEEKS + 1) if (j := index.get(moment - k * week)) is not None and not off[j]]


class _Shares:
    """Running totals of a share's hits and ratings, so any window's share is two subtractions."""

    def __init__(self, values: Sequence[float | None], support: Sequence[float | None], *, rated: bool) -> None:
        self.hits, self.ratings, self.rated = [0.0], [0.0], rated
        for v, n in zip(values, support, strict=True):
            share, count = _number(v), _number(n)
            known = share is not None and bool(count)
            self.hits.append(self.hits[-1] + (share * count if known else 0.0))  # type: ignore[operator]
            self.ratings.append(self.ratings[-1] + (count if known else 0.0))  # type: ignore[operator]

    def window(self, i: int, span: int) -> tuple[float | None, float]:
        """The share (in %) and ratings of the `span` buckets ending with bucket i."""
        first = max(0, i + 1 - span)
        ratings = self.ratings[i + 1] - self.ratings[first]
        hits = self.hits[i + 1] - self.hits[first]
        return (hits / ratings if ratings > 0.5 else None), ratings

    def verdicts(self, i: int, same_time: Sequence[int], spans: Sequence[int], rules: Rules) -> list[Verdict]:
        out = []
        for span in spans:
            share, ratings = self.window(i, span)
            earlier = [found for j in same_time if j + 1 >= span and (found := self.window(j, span))[0] is not None]
            out.append(judge_share(share, round(ratings), earlier[:4], rated=self.rated,  # type: ignore[arg-type]
                                   rules=rules))
        return out


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


def largest_contribution(parts: Mapping[str, tuple[float | None, float]], usual: float, worse: float) -> str | None:
    """Whose measurements pulled a team's level furthest the bad way: each part (an agent, say) as
    (its level now, the measurements it rests on), weighed as measurements x (level - the team's
    usual level) in the direction `worse` (+1 when higher is worse, -1 when lower is). For a median
    first response that is roughly the extra waiting on the part's tickets; for CSAT, the good
    ratings missing against the usual share. A part that pulled the good way, or not at all, is
    never named; ties go to the first name in alphabetical order."""
    pulls = {name: worse * n * (level - usual) for name, (level, n) in parts.items() if level is not None and n > 0}
    worst = max(pulls.values(), default=0.0)
    return min(name for name, pull in pulls.items() if pull == worst) if worst > 0 else None
