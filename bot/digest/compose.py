"""One digest's figures: the period's answers, each against the period before and against the
usual value (the median of the same weekday over recent weeks, holidays left out)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.ask import answer_query
from bot.grammar import parse_filters
from bot.settings import Settings
from metrics.catalog import METRICS, Answer, Column, MetricQuery, Row
from metrics.dimensions import Dimension, Filter
from metrics.periods import Period, Unit, earlier_weeks
from storage import orders, ticket_queries
from storage.figures import StoredSource

USUAL_WEEKS = 4  # "usual" = the median of this many earlier same weekdays (or weeks)
LOOK_BACK_WEEKS = 8  # how far back to look for them when holidays are in the way


@dataclass(frozen=True)
class Headline:
    """One line of the digest's top message: the number, the period before, the usual value."""

    metric: str
    column: Column
    label: str
    row: Row  # figures now and in the period before
    usual: float | None


@dataclass(frozen=True)
class Digest:
    cadence: str
    period: Period
    filters: tuple[Filter, ...]
    holiday: str | None  # the period is a public holiday: not compared with ordinary days
    usual_label: str | None  # "the usual Sunday (median of 4)"; None when there is nothing to compare
    headlines: list[Headline]
    details: list[Answer]  # in the thread, in this order
    chart: Answer  # the volume trend, drawn as the digest's chart
    as_of: datetime | None
    with_agents: bool

    @property
    def compared_with(self) -> Period | None:
        """The period every change is against (the day or week before)."""
        return self.details[0].query.comparison


# (metric, column, label) of the top message, in reading order
HEADLINES = (
    ("volume", "new", "New tickets"), ("volume", "solved", "Solved"), ("volume", "active", "Active"),
    ("volume", "incoming", "Incoming messages"), ("volume", "outgoing", "Agent replies"),
    ("frt", "median", "First response, median"), ("frt", "p90", "First response, p90"),
    ("response", "mean", "Average response time"), ("resolution", "median", "Resolution time, median"),
    ("csat", "score", "CSAT"), ("backlog", "open", "Backlog at the end"), ("sla", "breached", "SLA breaches"),
    ("outcomes", "one_touch", "One-touch resolutions"),
)
# with a shop connected (any order stored): what support did for sales. Retention moves too slowly
# to say anything day by day, so only weekly digests carry it.
SHOP_HEADLINES = (("conversions", "converted", "Converted tickets so far"),)
WEEKLY_SHOP_HEADLINES = (("retention", "rate", "Customer retention"),)
# the thread: the details behind each headline
DETAILS: tuple[tuple[str, Dimension | None], ...] = (
    ("frt", Dimension.CHANNEL), ("level", None), ("response", None), ("resolution", None), ("csat", None),
    ("backlog", None), ("sla", Dimension.CHANNEL), ("tags", None), ("peak", None), ("outcomes", None),
    ("volume", Dimension.CHANNEL),
)


def compose(sessions: sessionmaker[Session], settings: Settings, *, cadence: str, period: Period, filters: str,
            now: datetime, with_agents: bool) -> Digest:
    """Everything the digest shows for `period`, computed at `now`."""
    wanted = parse_filters(filters)
    holidays = settings.holiday_names()
    lines, shown = contents(sessions, cadence)
    answers = {(name, by): answer_query(sessions, settings, _query(name, period, by, wanted), now=now)
               for name, by in {*((m, None) for m, _, _ in lines), *shown}}
    usual_periods = earlier_same_periods(period, cadence, holidays)
    usual = _usual_values(sessions, settings, usual_periods, wanted, lines, now=now)
    headlines = [Headline(name, _column(name, key), label, answers[(name, None)].total, usual.get((name, key)))
                 for name, key, label in lines]
    details = [answers[key] for key in shown]
    if with_agents:
        details.append(answer_query(sessions, settings, MetricQuery(METRICS["agents"], period, None, wanted), now=now))
    trend = MetricQuery(METRICS["volume"], period, Unit.HOUR if cadence == "daily" else Unit.DAY, wanted)
    chart = answer_query(sessions, settings, trend, now=now)
    with sessions() as session:
        as_of = ticket_queries.data_as_of(session)
    holiday = _holiday_in(period, holidays) if cadence == "daily" else None
    label = _usual_label(cadence, period, len(usual_periods)) if usual_periods and holiday is None else None
    if holiday is not None:  # a holiday is no ordinary day: no "usual" to hold it against
        headlines = [Headline(h.metric, h.column, h.label, h.row, None) for h in headlines]
    return Digest(cadence, period, wanted, holiday, label, headlines, details, chart, as_of, with_agents)


def contents(sessions: sessionmaker[Session], cadence: str) -> tuple[tuple[tuple[str, str, str], ...],
                                                                      tuple[tuple[str, Dimension | None], ...]]:
    """The headlines and the thread's details; the shop's lines once any order is stored."""
    with sessions() as session:
        if not orders.any_orders(session):
            return HEADLINES, DETAILS
    weekly = WEEKLY_SHOP_HEADLINES if cadence == "weekly" else ()
    return (*HEADLINES, *SHOP_HEADLINES, *weekly), (*DETAILS, ("conversions", Dimension.CHANNEL))


def _query(name: str, period: Period, by: Dimension | None, filters: tuple[Filter, ...]) -> MetricQuery:
    """Retention counts the shop's customers: the digest's ticket filters do not apply to it."""
    return MetricQuery(METRICS[name], period, by, () if METRICS[name].of_customers else filters)


def earlier_same_periods(period: Period, cadence: str, holidays: dict[date, str]) -> list[Period]:
    """The same weekday (or week) in earlier weeks, newest first; holidays left out of a daily digest's."""
    return earlier_weeks(period, count=USUAL_WEEKS, look_back=LOOK_BACK_WEEKS,
                         skip=holidays if cadence == "daily" else ())


def _usual_values(sessions: sessionmaker[Session], settings: Settings, periods: Sequence[Period],
                  filters: tuple[Filter, ...], lines: Sequence[tuple[str, str, str]], *,
                  now: datetime) -> dict[tuple[str, str], float | None]:
    """The median of each headline figure over `periods` (None where no period has a value)."""
    context = settings.metric_context(now)
    seen: dict[tuple[str, str], list[float]] = {(m, k): [] for m, k, _ in lines}
    with sessions() as session:
        source = StoredSource(session, filters, context)
        for name in dict.fromkeys(m for m, _, _ in lines):
            for period in periods:
                figures = source.figures(METRICS[name], period, None)["all"]
                for metric, key, _ in lines:
                    if metric == name and figures.get(key) is not None:
                        seen[(metric, key)].append(float(figures[key]))  # type: ignore[arg-type]
    return {key: statistics.median(values) if values else None for key, values in seen.items()}


def _column(metric: str, key: str) -> Column:
    return next(c for c in METRICS[metric].columns if c.key == key)


def _holiday_in(period: Period, holidays: dict[date, str]) -> str | None:
    return holidays.get(period.start.date())


def _usual_label(cadence: str, period: Period, count: int) -> str:
    if cadence == "daily":
        return f"usual {period.start:%A} (median of the last {count})"
    return f"usual week (median of the last {count})"
