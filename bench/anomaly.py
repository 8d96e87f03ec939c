"""Alert-quality benchmark: deskpulse's detector against simpler ones on labelled support series.

    python bench/anomaly.py [--scenarios 8] [--days 140] [--seed 2026] [--detectors deskpulse ...]
                            [--metrics csat ...] [--incidents]

A seeded generator makes hourly series of a support team (arrivals with daily and weekly
seasonality and public holidays; first-response and resolution medians whose noise grows as
volume shrinks; binomial CSAT), some teams growing, some drifting slowly, some small (night hours
with one or two tickets). Each scenario has labelled incidents: FRT 3 → 10 min, a volume surge
x3 (4 h each), CSAT 90% → 70% (12 h), an ingestion outage (no tickets at all, 3 h), a resolution
stall (x3, 4 h). Everything
else is a non-incident. Every detector is causal and sees the same series; the first 9 weeks are
warm-up. Printed per detector and metric: precision, recall, mean and median delay (from the
incident's start to the end of the bucket that raised the alert), false alerts per 30 days.
Target (issue 5): recall >= 0.95, <= 0.2 false alerts per metric per 30 days, median delay <= 1 h
for daytime FRT shifts.

For shares (CSAT) the run also prints the best any detector could do within that budget: one that
knows the true share (90%) and that an incident is a window of 12 hours starting on the hour at 9-13
o'clock on a weekday that is no holiday (`_incidents`' rule) tests exactly those windows, each with
the exact binomial lower tail of its good ratings under the true share. Spreading the budget over
the windows it tests in the judged days (5 a day, about 100 per 30 days) gives each a level of about
0.002; an incident is findable when its own window's tail is below it. Then each detector's recall
on the findable incidents. `--incidents` lists every share incident with its ratings and tail.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from metrics.anomaly import SHARE_METRICS, detect

TZ = ZoneInfo("Europe/Berlin")
HOUR = timedelta(hours=1)
START = datetime(2026, 1, 5, tzinfo=TZ)  # a Monday
WARMUP = timedelta(weeks=9)
HOLIDAYS = (date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 1), date(2026, 5, 14), date(2026, 5, 25))
HOURLY = np.array([0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.5, 1.0, 1.6, 1.9, 2.0, 2.0, 1.8, 1.9, 1.9, 1.8, 1.6, 1.3,
                   1.0, 0.8, 0.6, 0.45, 0.3, 0.2])
WEEKDAY = np.array([1.15, 1.1, 1.1, 1.05, 1.0, 0.45, 0.4])
METRICS = {"volume": "both", "frt_median": "up", "csat": "down", "resolution_time": "up"}
KINDS = {"frt_shift": "frt_median", "surge": "volume", "csat_drop": "csat", "outage": "volume",
         "stall": "resolution_time"}
HOURS = {"outage": 3, "csat_drop": 12}  # an incident's hours, 4 unless named: a bad release sours ratings for longer
START_HOURS = range(9, 14)  # an incident starts on the hour at 9-13 o'clock (local)
GOOD_SHARE, INCIDENT_GOOD_SHARE = Fraction(9, 10), Fraction(7, 10)  # CSAT: 90% of ratings are good, 70% in a drop
BUDGET = 0.2  # false alerts per metric per 30 days (issue 5)


@dataclass
class Incident:
    kind: str
    start: datetime
    hours: int

    @property
    def metric(self) -> str:
        return KINDS[self.kind]

    def covers(self, moment: datetime) -> bool:  # bucket end in (start, end]
        return self.start < moment <= self.start + self.hours * HOUR


@dataclass
class Scenario:
    name: str
    stamps: list[datetime]
    series: dict[str, list[float | None]]
    support: dict[str, list[float | None]]
    incidents: list[Incident] = field(default_factory=list)


def scenario(rng: np.random.Generator, name: str, *, days: int, per_day: float, growth: float,
             drift: float) -> Scenario:
    hours = days * 24
    stamps = [START + (i + 1) * HOUR for i in range(hours)]
    incidents = _incidents(rng, days)
    volume, frt, csat, resolution = [], [], [], []
    ratings_n, resolved_n = [], []
    for i, end in enumerate(stamps):
        begin = end - HOUR
        local = begin.astimezone(TZ)
        progress = i / hours
        rate = per_day / 24 * HOURLY[local.hour] / HOURLY.mean() * WEEKDAY[local.weekday()] / WEEKDAY.mean()
        rate *= (1 + growth * progress) * (0.3 if local.date() in HOLIDAYS else 1.0)
        active = {x.kind for x in incidents if x.covers(end)}
        if "surge" in active:
            rate *= 3
        count = 0 if "outage" in active else int(rng.poisson(rate))
        frt_median = 180 * (1 + drift * progress) * (600 / 180 if "frt_shift" in active else 1)
        res_median = 4 * 3600 * (3 if "stall" in active else 1)
        good_share = float(INCIDENT_GOOD_SHARE if "csat_drop" in active else GOOD_SHARE)
        volume.append(float(count))
        frt.append(_median_of(rng, count, frt_median, 0.9))
        resolved = int(rng.binomial(count, 0.8)) if count else 0
        resolution.append(_median_of(rng, resolved, res_median, 1.0))
        rated = int(rng.binomial(count, 0.25)) if count else 0
        csat.append(100.0 * rng.binomial(rated, good_share) / rated if rated else None)
        ratings_n.append(float(rated))
        resolved_n.append(float(resolved))
    return Scenario(name, stamps, {"volume": volume, "frt_median": frt, "csat": csat, "resolution_time": resolution},
                    {"volume": volume, "frt_median": volume, "csat": ratings_n, "resolution_time": resolved_n},
                    incidents)


def _median_of(rng: np.random.Generator, n: int, median: float, sigma: float) -> float | None:
    """The median of n log-normal durations: noisy when n is small, as a quiet hour's median is."""
    if n == 0:
        return None
    return float(np.median(median * np.exp(sigma * rng.standard_normal(min(n, 301)))))


def _incident_days(days: int) -> list[int]:
    """The days an incident may fall on: weekdays after the warm-up that are no holiday."""
    return [d for d in range(WARMUP.days + 1, days - 1) if (START + timedelta(days=d)).weekday() < 5
            and (START + timedelta(days=d)).date() not in HOLIDAYS]


def _incidents(rng: np.random.Generator, days: int) -> list[Incident]:
    """One incident of each kind on separate weekdays after the warm-up, in office hours."""
    free = _incident_days(days)
    chosen = rng.choice(len(free), size=len(KINDS), replace=False)
    out = []
    for kind, pick in zip(KINDS, sorted(chosen), strict=True):
        day = START + timedelta(days=free[pick])
        start = int(rng.integers(START_HOURS.start, START_HOURS.stop))
        out.append(Incident(kind, day.replace(hour=start), HOURS.get(kind, 4)))
    return out


def oracle_level(days: int) -> tuple[float, float]:
    """The per-window level of a detector that knows when incidents can happen, and how many windows
    it tests per 30 days: the false-alert budget spread over every window `_incidents` could pick."""
    per_30_days = len(_incident_days(days)) * len(START_HOURS) / (days - WARMUP.days) * 30
    return BUDGET / per_30_days, per_30_days


def in_window(s: Scenario, metric: str, x: Incident) -> tuple[int, int]:
    """The good ratings and all ratings of a share metric in the incident's own hours."""
    good = rated = 0
    for moment, value, n in zip(s.stamps, s.series[metric], s.support[metric], strict=True):
        if value is not None and n and x.covers(moment):
            good += round(value * n / 100)
            rated += int(n)
    return good, rated


def binomial_lower_tail(k: int, n: int, p: Fraction) -> float:
    """P(X <= k) for X ~ Binomial(n, p), exactly: summed in integers, rounded once."""
    good, bad = p.numerator, p.denominator - p.numerator
    return sum(math.comb(n, i) * good ** i * bad ** (n - i) for i in range(k + 1)) / p.denominator ** n


# --- detectors: (timestamps, values, support, metric, direction) -> alert times ------------------

Detector = Callable[[Sequence[datetime], Sequence[float | None], Sequence[float | None], str, str], list[datetime]]


def deskpulse(stamps, values, support, metric, direction):  # type: ignore[no-untyped-def]
    return detect(stamps, values, metric=metric, direction=direction, support=support, holidays=HOLIDAYS,
                  freq=HOUR, warmup_end=START + WARMUP)


def _runs(stamps: Sequence[datetime], bad: Sequence[bool]) -> list[datetime]:
    """An alert at the first bucket of each run of bad buckets, after the warm-up."""
    alerts, before = [], False
    for moment, now in zip(stamps, bad, strict=True):
        if now and not before and moment >= START + WARMUP:
            alerts.append(moment)
        before = now
    return alerts


def _worse(value: float, usual: float, direction: str) -> bool:
    return direction == "both" or (value > usual if direction == "up" else value < usual)


def static_threshold(stamps, values, support, metric, direction):  # type: ignore[no-untyped-def]
    """Twice (or half) the warm-up's median, whatever the hour."""
    warm = [v for t, v in zip(stamps, values, strict=True) if v is not None and t < START + WARMUP]
    usual = statistics.median(warm)
    high, low = (usual * 2, usual / 2) if metric != "csat" else (usual + 15, usual - 15)
    return _runs(stamps, [v is not None and ((v > high and direction in ("up", "both"))
                                             or (v < low and direction in ("down", "both"))) for v in values])


def rolling_z(stamps, values, support, metric, direction):  # type: ignore[no-untyped-def]
    """|z| > 3 against the mean and deviation of the last 7 days of buckets."""
    bad, window = [], []
    for v in values:
        if v is None or len(window) < 48:
            bad.append(False)
        else:
            mean, sd = statistics.fmean(window), statistics.pstdev(window) or 1e-9
            bad.append(abs(v - mean) / sd > 3 and _worse(v, mean, direction))
        if v is not None:
            window = [*window, v][-168:]
    return _runs(stamps, bad)


def seasonal_unguarded(stamps, values, support, metric, direction):  # type: ignore[no-untyped-def]
    """|robust z| > 3.5 against the same hour in the last 4 weeks: no volume guard, no holidays, no trend."""
    index = {t: i for i, t in enumerate(stamps)}
    bad = []
    for i, t in enumerate(stamps):
        earlier = [values[j] for k in range(1, 5) if (j := index.get(t - timedelta(weeks=k))) is not None
                   and values[j] is not None]
        v = values[i]
        if v is None or len(earlier) < 3:
            bad.append(False)
            continue
        usual = statistics.median(earlier)
        spread = 1.4826 * statistics.median(abs(x - usual) for x in earlier) or 1e-9
        bad.append(abs(v - usual) / spread > 3.5 and _worse(v, usual, direction))
    return _runs(stamps, bad)


DETECTORS: dict[str, Detector] = {"deskpulse": deskpulse, "static threshold": static_threshold,
                                  "rolling z-score": rolling_z, "seasonal median/MAD, unguarded": seasonal_unguarded}


def _belongs(alert: datetime, x: Incident) -> bool:
    """An alert from the incident's start to an hour after its end (grace) belongs to it."""
    return x.start < alert <= x.start + x.hours * HOUR + HOUR


@dataclass
class Score:
    alerts: int = 0
    true_alerts: int = 0
    incidents: int = 0
    found: int = 0
    delays: list[float] = field(default_factory=list)
    days: float = 0.0

    def add(self, alerts: list[datetime], incidents: list[Incident], days: float) -> None:
        self.alerts += len(alerts)
        self.days += days
        self.incidents += len(incidents)
        matched = [a for a in alerts if any(_belongs(a, x) for x in incidents)]
        self.true_alerts += len(matched)
        for x in incidents:
            hits = [a for a in alerts if _belongs(a, x)]
            if hits:
                self.found += 1
                self.delays.append((min(hits) - x.start).total_seconds() / 3600)

    def row(self) -> str:
        precision = self.true_alerts / self.alerts if self.alerts else float("nan")
        recall = self.found / self.incidents if self.incidents else float("nan")
        false = (self.alerts - self.true_alerts) / self.days * 30 if self.days else 0.0
        mean = statistics.fmean(self.delays) if self.delays else float("nan")
        median = statistics.median(self.delays) if self.delays else float("nan")
        return f"{precision:>9.2f} {recall:>7.2f} {mean:>9.1f} h {median:>8.1f} h {false:>10.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenarios", type=int, default=8)
    parser.add_argument("--days", type=int, default=140)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--detectors", nargs="+", choices=list(DETECTORS), default=list(DETECTORS), metavar="NAME",
                        help=f"run only these (default: all of {', '.join(DETECTORS)})")
    parser.add_argument("--metrics", nargs="+", choices=list(METRICS), default=list(METRICS), metavar="METRIC",
                        help=f"judge only these (default: all of {', '.join(METRICS)})")
    parser.add_argument("--incidents", action="store_true", help="list every share incident, its ratings and tail")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    kinds = [("steady", 2000, 0.0, 0.0), ("growing", 2000, 0.6, 0.0), ("drifting", 2000, 0.0, 0.3),
             ("small team", 250, 0.0, 0.0)]
    scenarios = [scenario(rng, f"{kinds[i % 4][0]} {i}", days=args.days, per_day=kinds[i % 4][1],
                          growth=kinds[i % 4][2], drift=kinds[i % 4][3]) for i in range(args.scenarios)]
    judged_days = (args.days - WARMUP.days) * len(scenarios)
    print(f"{len(scenarios)} scenarios x {args.days} days of hourly buckets (first {WARMUP.days} days warm-up), "
          f"{sum(len(s.incidents) for s in scenarios)} labelled incidents, {judged_days} judged days")
    print(f"{'detector':<34} {'metric':<16} {'precision':>9} {'recall':>7} {'mean delay':>11} {'median':>10} "
          f"{'false/30d':>10}")
    metrics = [m for m in METRICS if m in args.metrics]
    found: dict[tuple[str, str], list[bool]] = {}  # (detector, share metric): each incident found or not
    for name in (d for d in DETECTORS if d in args.detectors):
        for metric in metrics:
            score = Score()
            for s in scenarios:
                alerts = DETECTORS[name](s.stamps, s.series[metric], s.support[metric], metric, METRICS[metric])
                incidents = [x for x in s.incidents if x.metric == metric]
                score.add(alerts, incidents, args.days - WARMUP.days)
                if metric in SHARE_METRICS:
                    found.setdefault((name, metric), []).extend(any(_belongs(a, x) for a in alerts) for x in incidents)
            print(f"{name:<34} {metric:<16} {score.row()}")
    for metric in (m for m in metrics if m in SHARE_METRICS):
        _bound(scenarios, metric, args.days, {d: f for (d, m), f in found.items() if m == metric}, args.incidents)


def _bound(scenarios: list[Scenario], metric: str, days: int, found: dict[str, list[bool]], listed: bool) -> None:
    """The best possible recall on a share metric within the budget, and each detector's on what it finds."""
    level, windows = oracle_level(days)
    tails = []
    for s in scenarios:
        for x in (x for x in s.incidents if x.metric == metric):
            good, rated = in_window(s, metric, x)
            tails.append(binomial_lower_tail(good, rated, GOOD_SHARE))
            if listed:
                verdicts = "".join(f", {d} {'found' if f[len(tails) - 1] else 'missed'}" for d, f in found.items())
                print(f"  {metric} incident {s.name:<14} {x.start:%a %d %b %H:%M}: {good}/{rated} good, "
                      f"tail {tails[-1]:.1e}{verdicts}")
    findable = [t < level for t in tails]
    print(f"{metric}: best possible (knows the true share and the incident windows, same false-alert budget: "
          f"{len(START_HOURS)} windows a weekday, {windows:.0f} per 30 days, level {level:.1e} each): "
          f"recall {sum(findable) / len(tails):.2f} ({sum(findable)} of {len(tails)})")
    for name, hits in found.items():
        k = sum(h and f for h, f in zip(hits, findable, strict=True))
        print(f"{metric}: {name} on the incidents the bound finds: recall {k / max(sum(findable), 1):.2f} "
              f"({k} of {sum(findable)}), {sum(hits) - k} more beyond it")


if __name__ == "__main__":
    main()
