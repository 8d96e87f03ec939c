"""Every metric a user can ask for, and how a question is answered (docs/metrics.md).

`answer(query, tickets, ...)` is the plain-Python reference: the tickets a storage query
loaded for the period (and the comparison period) in, an `Answer` out. The grammar
(bot/grammar.py) and `deskpulse ask` read the metric names, aliases and columns from `METRICS`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol, TypeVar
from zoneinfo import ZoneInfo

from metrics import orders, outcomes, response_times, satisfaction, volume
from metrics.agents import agent_names, agents
from metrics.compare import Better, Change
from metrics.dimensions import Dimension, Filter, Segments, group_by
from metrics.model import Channel, Role, customer_key
from metrics.periods import Period, Unit, shift, start_of
from metrics.sla import SlaTargets, Tier, csat_tier, frt_tier, parse_sla, sla
from metrics.tags import TagReport, tags
from metrics.tickets import Ticket

if TYPE_CHECKING:
    from metrics.business_hours import BusinessCalendar

Figures = dict[str, float | None]
T = TypeVar("T")


class Kind(StrEnum):
    DURATION = "duration"  # seconds
    COUNT = "count"
    PERCENT = "percent"
    SCORE = "score"  # 1-5
    MONEY = "money"  # in the shop's currency


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Kind
    better: Better = Better.NEITHER


@dataclass(frozen=True)
class Context:
    """What a metric needs besides tickets; `now` is an input, never read inside."""

    now: datetime
    calendar: BusinessCalendar | None = None
    # the configured zone: storage keeps measures per day of it
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    sla: SlaTargets = field(default_factory=lambda: parse_sla(""))
    segments: Segments = field(default_factory=Segments)
    tags_seen_before: frozenset[str] = frozenset()  # for the reference only; storage asks per tag
    conversion_window: timedelta = timedelta(days=orders.CONVERSION_DAYS)
    lapse: timedelta = timedelta(days=orders.LAPSE_DAYS)  # how long a customer stays one without ordering
    # the reference only: every order, and which tickets they converted (TicketSource fills it in)
    purchases: tuple[orders.Purchase, ...] = ()
    converted: dict[str, list[orders.Purchase]] = field(default_factory=dict)


Groups = dict[str, Figures]  # a breakdown: figures per row key (a channel, an agent id, ...)


@dataclass(frozen=True)
class OwnRows:
    """Rows a metric makes instead of the `by <dimension>` breakdown: the figures per row key in
    one period, then the rows made of this period's and the comparison's."""

    groups: Callable[[Source, Period], Groups]
    rows: Callable[[MetricQuery, Groups, Groups | None, Source, Context], list[Row]]


@dataclass(frozen=True)
class Metric:
    name: str
    title: str
    aliases: tuple[str, ...]
    columns: tuple[Column, ...]
    compute: Callable[[Sequence[Ticket], Period, Context], Figures]
    definition: str  # the heading in docs/metrics.md
    example: str
    # backlog is a state at a moment: "backlog last week" is the backlog at the end of last week
    at_end: bool = False
    business_time: bool = False  # durations also given in business time when a calendar is set
    # rows of its own instead of the `by <dimension>` breakdown (agents, service levels, tags)
    own_rows: OwnRows | None = None
    # what the answer shows beside the table: the tag report, the busiest hours, the oldest ticket
    details: Callable[[MetricQuery, Source], dict[str, object]] | None = None
    # the columns counting what the answer rests on ("based on 412 first responses"), and their noun
    basis: tuple[tuple[str, ...], str] | None = None
    # a figure of the shop's customers, not of tickets: no ticket filter or breakdown applies
    of_customers: bool = False

    @property
    def headline(self) -> Column:
        return self.columns[0]


def _business_columns(calendar: BusinessCalendar | None, columns: tuple[Column, ...]) -> tuple[Column, ...]:
    if calendar is None:
        return columns
    return columns + tuple(Column(f"business_{c.key}", f"{c.label} (business hours)", c.kind, c.better)
                           for c in columns if c.kind is Kind.DURATION)


_LOW, _HIGH = Better.LOWER, Better.HIGHER
D, N, P, S, M = Kind.DURATION, Kind.COUNT, Kind.PERCENT, Kind.SCORE, Kind.MONEY

METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("volume", "Volume", ("tickets", "new"), (
        Column("new", "new tickets", N), Column("active", "active", N), Column("solved", "solved", N, _HIGH),
        Column("reopened", "reopened", N, _LOW), Column("incoming", "incoming messages", N),
        Column("outgoing", "agent replies", N)),
        lambda ts, p, c: volume.volume(ts, p), "Volume", "volume this month", basis=(("active",), "active tickets")),
    Metric("backlog", "Backlog", ("open", "queue"), (
        Column("open", "unresolved tickets", N, _LOW), Column("under_1d", "under 1 day old", N),
        Column("d1_3", "1-3 days old", N, _LOW), Column("d3_7", "3-7 days old", N, _LOW),
        Column("over_7d", "over 7 days old", N, _LOW), Column("oldest_age", "oldest", D, _LOW)),
        lambda ts, p, c: volume.backlog(ts, p.end), "Backlog", "backlog", at_end=True,
        basis=(("open",), "unresolved tickets"),
        details=lambda q, source: {"oldest": source.oldest_open(q.period.end)}),
    Metric("frt", "First response time", ("first-response", "first_response", "response-time", "firstresponse"), (
        Column("median", "median", D, _LOW), Column("p90", "p90", D, _LOW), Column("mean", "mean", D, _LOW),
        Column("count", "first responses", N)),
        lambda ts, p, c: response_times.first_response_time(ts, p, c.calendar), "First response time",
        "frt yesterday by channel", business_time=True,
        basis=(("count",), "first responses")),
    Metric("response", "Average response time", ("art", "replies", "reply-time"), (
        Column("mean", "average", D, _LOW), Column("median", "median", D, _LOW), Column("p90", "p90", D, _LOW),
        Column("count", "replies that ended a wait", N)),
        lambda ts, p, c: response_times.response_time(ts, p, c.calendar), "Average response time",
        "response last week", business_time=True,
        basis=(("count",), "replies that ended a wait")),
    Metric("resolution", "Resolution time", ("resolution-time", "ttr", "solve-time"), (
        Column("median", "median full resolution", D, _LOW), Column("p90", "p90 full resolution", D, _LOW),
        Column("mean", "mean full resolution", D, _LOW), Column("count", "resolved tickets", N),
        Column("first_median", "median first resolution", D, _LOW),
        Column("first_p90", "p90 first resolution", D, _LOW), Column("first_mean", "mean first resolution", D, _LOW),
        Column("replies_per_resolved", "agent replies per resolved ticket", N, _LOW)),
        lambda ts, p, c: response_times.resolution_time(ts, p, c.calendar), "Resolution time",
        "resolution 2026-10-01..2026-10-31 channel:email", business_time=True,
        basis=(("count",), "resolved tickets")),
    Metric("csat", "CSAT", ("satisfaction", "happiness", "rating", "ratings"), (
        Column("score", "CSAT (good ratings)", P, _HIGH), Column("ratings", "ratings", N),
        Column("satisfied", "satisfied", N), Column("neutral", "neutral", N),
        Column("unsatisfied", "unsatisfied", N, _LOW), Column("average", "average score", S, _HIGH)),
        lambda ts, p, c: satisfaction.csat(ts, p), "CSAT", "csat last week", basis=(("ratings",), "ratings")),
    Metric("outcomes", "Resolution outcomes", ("one-touch", "onetouch", "fcr", "abandoned", "abandonment",
                                                "automated", "automation", "self-service"), (
        Column("one_touch", "one-touch", P, _HIGH), Column("abandoned", "abandoned", P, _LOW),
        Column("automated", "automated", P), Column("reopened", "reopened", P, _LOW),
        Column("resolved", "resolved tickets", N)),
        lambda ts, p, c: outcomes.outcomes(ts, p), "Resolution outcomes", "one-touch last month",
        basis=(("resolved",), "resolved tickets")),
    Metric("sla", "First-response SLA", ("breaches", "sla-breaches"), (
        Column("attainment", "met", P, _HIGH), Column("breached", "breached", N, _LOW),
        Column("met", "within target", N), Column("pending", "still within target, no reply yet", N)),
        lambda ts, p, c: sla(ts, p, c.sla, now=c.now, calendar=c.calendar), "SLA", "sla yesterday by channel",
        basis=(("breached", "met", "pending"), "inbound tickets")),
    Metric("agents", "Agents", ("agent", "team", "leaderboard"), (
        Column("replies", "replies", N), Column("closed", "tickets closed", N), Column("handled", "conversations", N),
        Column("csat", "CSAT", P, _HIGH), Column("ratings", "ratings", N), Column("frt_median", "median FRT", D, _LOW)),
        lambda ts, p, c: team(agents(ts, p), _handled(ts, p), response_times.first_response_time(ts, p)["median"]),
        "Agents", "agents last 7 days", own_rows=OwnRows(
            lambda source, p: source.agents(p), lambda q, now, before, source, c: _agent_rows(now, before, source)),
        basis=(("handled",), "conversations")),
    Metric("tags", "Tags", ("tag", "types", "ticket-types", "topics"), (
        Column("tickets", "tickets", N), Column("share", "share of new tickets", P)),
        lambda ts, p, c: {"tickets": float(sum(p.contains(t.created_at) for t in ts if t.tags)), "share": None},
        "Tags", "tags last month", own_rows=OwnRows(lambda source, p: {}, lambda *_: []),
        basis=(("tickets",), "tagged new tickets"),
        details=lambda q, source: {"tag_report": source.tag_report(q.period, q.comparison or q.period.previous())}),
    Metric("level", "Service level", ("levels", "service-level", "tier", "tiers"), (
        Column("frt_median", "median first response", D, _LOW), Column("csat_average", "average CSAT score", S, _HIGH)),
        lambda ts, p, c: level_figures(_frt_median(ts, p, c.calendar), satisfaction.csat(ts, p)["average"]),
        "Service levels", "level", own_rows=OwnRows(
            lambda source, p: source.figures(METRICS["level"], p, Dimension.CHANNEL), lambda *asked: _levels(*asked))),
    Metric("peak", "Peak hours", ("busiest", "hours", "heatmap"), (
        Column("new", "new tickets", N),),
        lambda ts, p, c: {"new": float(sum(p.contains(t.created_at) for t in ts))}, "Peak hours", "peak last 4 weeks",
        basis=(("new",), "new tickets"),
        details=lambda q, source: {"busiest_grid": source.peak_hours(q.period)}),
    Metric("conversions", "Converted tickets", ("converted", "conversion", "converted-tickets", "sales"), (
        Column("converted", "converted tickets", N, _HIGH), Column("rate", "conversion rate", P, _HIGH),
        Column("tickets", "new tickets", N), Column("orders", "orders after a ticket", N),
        Column("sales", "sales from converted tickets", M, _HIGH)),
        lambda ts, p, c: orders.conversion_figures([t.key for t in ts if p.contains(t.created_at)], c.converted),
        "Converted tickets", "conversions last week by channel", basis=(("tickets",), "new tickets")),
    Metric("retention", "Retention", ("retention-rate", "customers", "repeat"), (
        Column("rate", "retention rate", P, _HIGH), Column("at_start", "customers at the start", N),
        Column("at_end", "customers at the end", N), Column("new", "new customers", N)),
        lambda ts, p, c: orders.retention(c.purchases, p, c.lapse), "Retention", "retention last quarter",
        basis=(("at_start",), "customers at the start"), of_customers=True),
)}


def team(per_agent: dict[str, Figures], handled: int, frt_median: float | None) -> Figures:
    """The team's line of the agents table: the agents' work added up; `handled` counts each
    conversation once however many agents replied in it."""
    rated = sum(f["ratings"] or 0 for f in per_agent.values())
    good = sum((f["csat"] or 0) * (f["ratings"] or 0) / 100 for f in per_agent.values())
    return {"replies": sum(f["replies"] or 0 for f in per_agent.values()),
            "closed": sum(f["closed"] or 0 for f in per_agent.values()), "handled": float(handled),
            "csat": 100.0 * good / rated if rated else None, "ratings": rated, "frt_median": frt_median}


def _handled(tickets: Sequence[Ticket], period: Period) -> int:
    return len({t.key for t in tickets for m in t.messages if m.role is Role.AGENT and period.contains(m.at)})


def _frt_median(tickets: Sequence[Ticket], period: Period, calendar: BusinessCalendar | None) -> float | None:
    return response_times.first_response_time(tickets, period, calendar)[
        "median" if calendar is None else "business_median"]


def level_figures(frt_median: float | None, csat_average: float | None) -> Figures:
    """A channel's service level rests on its median first response (in business time when a
    calendar is set) and its average CSAT score."""
    return {"frt_median": frt_median, "csat_average": csat_average}


def find_metric(word: str) -> Metric | None:
    word = word.lower()
    return METRICS.get(word) or next((m for m in METRICS.values() if word in m.aliases), None)


# --- questions and answers -------------------------------------------------------------


class Compare(StrEnum):
    PREVIOUS = "previous"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"
    NONE = "none"


@dataclass(frozen=True)
class MetricQuery:
    metric: Metric
    period: Period
    group_by: Dimension | Unit | None = None
    filters: tuple[Filter, ...] = ()
    compare: Compare = Compare.PREVIOUS

    @property
    def comparison(self) -> Period | None:
        return comparison_period(self.period, self.compare)

    @property
    def span(self) -> tuple[datetime, datetime]:
        """Everything the answer looks at, so storage loads the tickets once."""
        starts, ends = [self.period.start], [self.period.end]
        if self.comparison is not None:
            starts.append(self.comparison.start)
            ends.append(self.comparison.end)
        return min(starts), max(ends)


def comparison_period(period: Period, compare: Compare) -> Period | None:
    if compare is Compare.NONE:
        return None
    if compare is Compare.PREVIOUS:
        return period.previous()
    unit = {Compare.WEEK: Unit.WEEK, Compare.MONTH: Unit.MONTH, Compare.YEAR: Unit.YEAR}[compare]
    return period.shifted(unit, f"the same period last {unit.value}")


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    figures: Figures
    previous: Figures | None
    notes: dict[str, str] = field(default_factory=dict)

    def change(self, column: Column) -> Change | None:
        if self.previous is None:
            return None
        return Change(self.figures.get(column.key), self.previous.get(column.key), column.better)


@dataclass(frozen=True)
class Answer:
    query: MetricQuery
    columns: tuple[Column, ...]
    total: Row
    rows: list[Row]
    tag_report: TagReport | None = None
    busiest_grid: list[list[int]] | None = None
    oldest: volume.OldestTicket | None = None


class Source(Protocol):
    """Where an answer's figures come from, with the query's filters already applied: the tickets
    in memory (`TicketSource`, the reference) or SQL over the stored tables (storage/figures.py).
    Both must give the same numbers."""

    def figures(self, metric: Metric, period: Period, by: Dimension | None) -> dict[str, Figures]:
        """The metric's figures per key of `by`, or {"all": ...} (always present) without one."""
        ...

    def agents(self, period: Period) -> dict[str, Figures]: ...

    def side_by_side(self, work: Callable[[Source, Period], T], periods: Sequence[Period]) -> list[T]:
        """work(source, period) for each period, in order: a stored source may run some of them at
        the same time, each on a source of its own with the same filters."""
        ...

    def reading(self, period: Period) -> AbstractContextManager[None]:
        """While it lasts, the work is about parts of `period` (a breakdown by day, week or month):
        a stored source may read the period once for all of them."""
        ...

    def agent_names(self, keys: Iterable[str]) -> dict[str, str]: ...

    def tag_report(self, period: Period, previous: Period) -> TagReport: ...

    def peak_hours(self, period: Period) -> list[list[int]]: ...

    def oldest_open(self, at: datetime) -> volume.OldestTicket | None: ...


class TicketSource:
    """The plain-Python reference: every figure computed from folded tickets."""

    def __init__(self, tickets: Sequence[Ticket], filters: Sequence[Filter], context: Context) -> None:
        # an order goes to the customer's latest ticket whatever the filters (docs/metrics.md)
        contacts = [orders.Contact(t.key, customer, t.created_at) for t in tickets
                    if t.removed is None and (customer := customer_key(t.source, t.requester))]
        self.context = replace(context, converted=orders.attribute(contacts, context.purchases,
                                                                   context.conversion_window))
        self.names = agent_names(tickets)
        self.tickets = [t for t in tickets if t.removed is None
                        and all(f.matches(t, context.segments) for f in filters)]

    def figures(self, metric: Metric, period: Period, by: Dimension | None) -> dict[str, Figures]:
        if by is None:
            return {"all": metric.compute(self.tickets, period, self.context)}
        return {key: metric.compute(group, period, self.context)
                for key, group in group_by(self.tickets, by, self.context.segments).items()}

    def agents(self, period: Period) -> dict[str, Figures]:
        return agents(self.tickets, period)

    def side_by_side(self, work: Callable[[Source, Period], T], periods: Sequence[Period]) -> list[T]:
        return [work(self, p) for p in periods]

    def reading(self, period: Period) -> AbstractContextManager[None]:
        return nullcontext()

    def agent_names(self, keys: Iterable[str]) -> dict[str, str]:
        return {key: self.names[key] for key in keys if key in self.names}

    def tag_report(self, period: Period, previous: Period) -> TagReport:
        return tags(self.tickets, period, previous, seen_before=self.context.tags_seen_before)

    def peak_hours(self, period: Period) -> list[list[int]]:
        return volume.peak_hours(self.tickets, period)

    def oldest_open(self, at: datetime) -> volume.OldestTicket | None:
        return volume.oldest_open(self.tickets, at)


def answer(query: MetricQuery, tickets: Sequence[Ticket], context: Context) -> Answer:
    """The reference answer to `query` from the tickets loaded for `query.span` (docs/metrics.md)."""
    return answer_from(query, TicketSource(tickets, query.filters, context), context)


def answer_from(query: MetricQuery, source: Source, context: Context) -> Answer:
    """The answer to `query`: the total now and before, the breakdown, and the metric's details."""
    metric, previous = query.metric, query.comparison
    columns = _business_columns(context.calendar, metric.columns) if metric.business_time else metric.columns
    periods = [query.period] if previous is None else [query.period, previous]
    sliced = metric.own_rows is None and isinstance(query.group_by, Unit)
    with source.reading(query.period) if sliced else nullcontext():  # the total and its slices read it once
        now, *earlier = source.side_by_side(lambda s, p: _figures_in(query, s, p), periods)
        before = earlier[0] if earlier else None
        if metric.own_rows is not None:
            rows = metric.own_rows.rows(query, now.groups, before and before.groups, source, context)
        elif sliced:
            rows = _slice_rows(query, source)
        else:
            rows = _breakdown(query, now.groups, before and before.groups, source, context)
    total = Row("all", "All", now.total, before and before.total)
    details = metric.details(query, source) if metric.details else {}
    return Answer(query, columns, total, rows, **details)  # type: ignore[arg-type]


@dataclass(frozen=True)
class _InPeriod:
    total: Figures
    groups: Groups  # the breakdown's, or the metric's own rows' (empty without one)


def _figures_in(query: MetricQuery, source: Source, period: Period) -> _InPeriod:
    """One period's figures; the rows first: a stored source works out the total from the same
    read (storage/figures.py)."""
    metric = query.metric
    if metric.own_rows is not None:
        groups = metric.own_rows.groups(source, period)
    elif isinstance(query.group_by, Dimension):
        groups = source.figures(metric, period, query.group_by)
    else:
        groups = {}
    return _InPeriod(source.figures(metric, period, None)["all"], groups)


def _slice_rows(query: MetricQuery, source: Source) -> list[Row]:
    assert isinstance(query.group_by, Unit)
    slices = _slices(query.period, query.group_by)
    every = source.side_by_side(lambda s, p: s.figures(query.metric, p, None)["all"], slices)
    return [Row(p.start.isoformat(), p.label, figures, None) for p, figures in zip(slices, every, strict=True)]


def _breakdown(query: MetricQuery, now: Groups, before: Groups | None, source: Source,
               context: Context) -> list[Row]:
    if query.group_by is None:
        return []
    metric, earlier = query.metric, before or {}
    names = source.agent_names(set(now) | set(earlier)) if query.group_by is Dimension.AGENT else {}
    empty = metric.compute((), query.period, context)  # a group seen in one period only is empty in the other
    rows = [Row(key, names.get(key, key), now.get(key, empty), None if before is None else earlier.get(key, empty))
            for key in set(now) | set(earlier)]
    rows = [r for r in rows if _has_data(r.figures) or _has_data(r.previous)]
    headline = metric.headline.key
    return sorted(rows, key=lambda r: (-(r.figures.get(headline) or 0), r.key))


def _has_data(figures: Figures | None) -> bool:
    """A group with nothing in either period (say, a channel seen only next month) is no row."""
    return bool(figures) and any(v for v in figures.values())  # type: ignore[union-attr]


def _agent_rows(now: Groups, before: Groups | None, source: Source) -> list[Row]:
    """One row per agent, credited with the work they did, not with what is assigned to them."""
    names = source.agent_names(now)
    return [Row(who, names.get(who, who), f, None if before is None else before.get(who)) for who, f in
            sorted(now.items(), key=lambda item: (-(item[1]["replies"] or 0), item[0]))]


def _levels(query: MetricQuery, now: Groups, before: Groups | None, source: Source, context: Context) -> list[Row]:
    """One row per channel, each number with its service-level tier."""
    empty = query.metric.compute((), query.period, context)
    earlier = before or {}
    rows = []
    for channel in sorted(set(now) | set(earlier)):
        figures = now.get(channel, empty)
        previous = None if before is None else earlier.get(channel, empty)
        if not (_has_data(figures) or _has_data(previous)):
            continue
        notes = {"frt_median": _tier_word(frt_tier(_channel(channel), figures.get("frt_median"))),
                 "csat_average": _tier_word(csat_tier(figures.get("csat_average")))}
        rows.append(Row(channel, channel, figures, previous, notes))
    return rows


def _channel(value: str) -> Channel:
    return Channel(value) if value in Channel.__members__.values() else Channel.OTHER


def _tier_word(tier: Tier | None) -> str:
    return tier.value if tier else "no data"


def _slices(period: Period, unit: Unit) -> list[Period]:
    """The period cut into whole hours, days, weeks or months (the first and last may be partial)."""
    slices, start = [], period.start
    while start < period.end:
        end = min(shift(start_of(start, unit), unit, 1), period.end)
        label = start.strftime("%Y-%m-%d %H:00" if unit is Unit.HOUR else "%Y-%m-%d")
        slices.append(Period(start, end, label))
        start = end
        if len(slices) > 400:
            raise ValueError(f"too many {unit.value}s to break down; choose a shorter period or a longer unit")
    return slices
