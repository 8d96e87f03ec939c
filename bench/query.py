"""Query benchmark: every metric over periods from a day to a year, with and without a breakdown.

    python bench/query.py --url sqlite:///big.db                # a database bench/dataset.py filled
    python bench/query.py --db sqlite --days 60 --per-day 2000  # generate a fresh one first

Each question is answered the way `deskpulse ask` answers it (bot.ask.answer_query: SQL picks
and groups the period's measurements, metrics/ does the arithmetic) several times, after one
untimed warm-up question (a long-running server builds its business-hours clock once); prints
p50/p95 latency per question and the process's peak RSS. Target (issue 3): p95 <= 250 ms per query, peak RSS <= 300 MB,
and a query's cost independent of the history outside its period.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.dataset import (  # noqa: E402
    add_database_arguments,
    bench_settings,
    build_daily_measures,
    database_from_arguments,
)
from bot.ask import answer_query  # noqa: E402
from bot.grammar import parse_query  # noqa: E402
from bot.runtime import share_one_heap, warm_business_clock  # noqa: E402
from metrics.catalog import METRICS, MetricQuery  # noqa: E402
from storage.db import make_engine, make_sessions  # noqa: E402
from storage.migrate import upgrade  # noqa: E402


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


PERIODS = ["yesterday", "last week", "last month", "last quarter", "last year"]
# the slices a chart asks for: a row per day, week or month of the period
SLICES = {"last month": ["by day"], "last year": ["by week", "by month"]}


def questions(periods: list[str], breakdown: bool, metrics: list[str] | None = None,
              dimensions: tuple[str, ...] = ("channel",)) -> list[str]:
    names = [name for name in METRICS if metrics is None or name in metrics]
    asked = [f"{name} {period}" for name in names for period in periods]
    if breakdown:
        broken_down = [name for name in names if name not in ("agents", "tags", "level")
                       and not METRICS[name].of_customers]
        asked += [f"{name} {period} by {dimension}" for dimension in dimensions for name in broken_down
                  for period in periods]
        asked += [f"{name} {period} {unit}" for name in broken_down for period in periods
                  for unit in SLICES.get(period, [])]
    return asked


def run(url: str, *, now: datetime, repeat: int, periods: list[str], breakdown: bool, budget: float,
        metrics: list[str] | None = None, timezone: str = "UTC",
        dimensions: tuple[str, ...] = ("channel",)) -> None:
    share_one_heap()  # as `deskpulse` does on start
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    settings = bench_settings(timezone, url)
    build_daily_measures(sessions, now, settings)  # a running server keeps them built; a dataset may lack them
    clock = warm_business_clock(settings, now)  # as each server process does when it starts
    if clock is not None:
        clock.join()
    warm_up = parse_query("frt yesterday", now=now, tz=settings.zone)
    assert isinstance(warm_up, MetricQuery)
    answer_query(sessions, settings, warm_up, now=now)
    print(f"{'question':<40} {'p50 ms':>9} {'p95 ms':>9} {'peak MB':>9}")  # peak: the process's so far
    slow = 0
    for text in questions(periods, breakdown, metrics, dimensions):
        query = parse_query(text, now=now, tz=settings.zone)
        assert isinstance(query, MetricQuery)
        timings: list[float] = []
        for _ in range(repeat):
            started = time.perf_counter()
            answer_query(sessions, settings, query, now=now)
            timings.append((time.perf_counter() - started) * 1000)
            if timings[-1] > budget * 1000:
                break  # one slow run says enough; the table shows it
        p95 = sorted(timings)[max(0, round(0.95 * len(timings)) - 1)]
        slow += p95 > 250
        print(f"{text:<40} {statistics.median(timings):>9.1f} {p95:>9.1f} {_peak_mb():>9,.0f}", flush=True)
    peak = _peak_mb()
    print(f"\npeak RSS {peak:,.0f} MB · {slow} questions over the 250 ms p95 target")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_database_arguments(parser, days=1095)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--periods", default=",".join(PERIODS), help="comma-separated period words")
    parser.add_argument("--no-breakdown", action="store_true")
    parser.add_argument("--by", default="channel",
                        help="comma-separated dimensions to break each metric down by (say, channel,tag)")
    parser.add_argument("--metrics", help="comma-separated metric names (default: every metric)")
    parser.add_argument("--budget", type=float, default=5.0, help="stop repeating a question slower than this (s)")
    args = parser.parse_args()
    url, end = database_from_arguments(parser, args)
    run(url, now=end.replace(hour=9), repeat=args.repeat, periods=args.periods.split(","),
        breakdown=not args.no_breakdown, budget=args.budget,
        metrics=args.metrics.split(",") if args.metrics else None, timezone=args.timezone,
        dimensions=tuple(args.by.split(",")))


if __name__ == "__main__":
    main()
