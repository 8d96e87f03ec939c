"""One reader per metric: which stored measurements count in a period, grouped, handed to the
metric's own arithmetic in metrics/ (docs/metrics.md names the moment each is attributed to)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Subquery,
    case,
    distinct,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)

from metrics.agents import agent_figures
from metrics.catalog import level_figures, team
from metrics.dimensions import SEVERAL_KEYS, Dimension
from metrics.model import Csat
from metrics.outcomes import outcome_figures
from metrics.periods import Period
from metrics.response_times import both_summaries, resolution_figures
from metrics.satisfaction import csat_tally
from metrics.sla import sla_tally
from metrics.stats import median_of_many
from metrics.volume import AGE_BUCKETS, age_seconds, backlog_by_age, backlog_from_counts
from storage import order_figures, rollups
from storage.rollups import TOTAL, Measured
from storage.tables import SPAN_LENGTH_LIMITS, TicketMessage, TicketRow, TicketSpan, TicketTag

if TYPE_CHECKING:
    from storage.figures import StoredSource

Figures = dict[str, float | None]
Grouped = dict[str, Figures]
TICKETS, MESSAGES, SPANS, TAGS = TicketRow.__table__, TicketMessage.__table__, TicketSpan.__table__, TicketTag.__table__
T, M, S = TICKETS, MESSAGES, SPANS


def within(column: ColumnElement[datetime], period: Period) -> list[ColumnElement[bool]]:
    return [column >= period.start, column < period.end]


def open_spans(moment: datetime, *, opened_at_moment: bool) -> Subquery:
    """Spans open at `moment` (opened before it, or also at it) and unresolved at it: the spans
    unresolved now, and per length class (storage.tables.SPAN_LENGTH_LIMITS) those opened within
    its limit before the moment and resolved after it; never the whole history on either side."""
    opened = S.c.opened_at <= moment if opened_at_moment else S.c.opened_at < moment
    still_open = select(S.c.ticket_key).where(S.c.resolved_at.is_(None), opened)
    by_class = [select(S.c.ticket_key).where(S.c.length_class == k, S.c.opened_at > moment - limit, opened,
                                             S.c.resolved_at > moment)
                for k, limit in enumerate(SPAN_LENGTH_LIMITS)]
    longest = select(S.c.ticket_key).where(S.c.length_class == len(SPAN_LENGTH_LIMITS), opened,
                                           S.c.resolved_at > moment)
    return union_all(still_open, *by_class, longest).subquery()


def open_at(moment: datetime) -> Subquery:
    """Tickets (one row each: spans never overlap) open at `moment` (metrics.tickets.OpenSpan.holds)."""
    return open_spans(moment, opened_at_moment=True)


def has_tag(*where: ColumnElement[bool]) -> ColumnElement[bool]:
    """The ticket carries a tag (matching `where`)."""
    return exists(select(TAGS.c.tag).where(TAGS.c.ticket_key == T.c.key, *where))


def measured(source: StoredSource, name: str, period: Period, by: Dimension | None, *,
             with_dims: bool = False) -> dict[str, Measured]:
    """The period's measurements of one kind (storage.rollups.MEASURES), grouped: from the daily
    measures where the question allows, else straight from the tickets; every answer's keys present."""
    measure = rollups.MEASURES[name]
    found = rollups.measured(source.session, measure, period, by, source.filter_list, source.conditions,
                             zone=source.context.zone, calendar=source.context.calendar,
                             segments=source.context.segments, with_dims=with_dims)
    if found is None:  # a segment of organisations: the daily measures do not carry them
        found = _measured_raw(source, measure, period, by, with_dims)
    width = measure.width
    for key in _groups(by):
        found.setdefault(key, Measured(np.empty((0, width)), [] if with_dims else None,
                                       np.empty(0, dtype=np.intp) if with_dims else None))
    return found


@dataclass(frozen=True)
class PreviousBefore:
    """A test of a measure whose first number is the moment (POSIX seconds) of the ticket's
    previous span or reply: there was none, or it was before `moment` (with `or_at`, also at it).
    Applied to numbers read, or by the database to rows it counts."""

    moment: float
    or_at: bool = False

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return ~(values[:, 0] > self.moment) if self.or_at else ~(values[:, 0] >= self.moment)

    def where(self, previous: ColumnElement[float]) -> ColumnElement[bool]:
        return or_(previous.is_(None), previous <= self.moment if self.or_at else previous < self.moment)


def counted(source: StoredSource, name: str, period: Period, by: Dimension | None,
            test: PreviousBefore | Callable[[np.ndarray], np.ndarray] | None = None) -> dict[str, int]:
    """How many of the period's measurements of one kind (those whose numbers pass `test`) each
    group has, as `measured` would give them; every answer's keys present."""
    measure = rollups.MEASURES[name]
    found = rollups.counted(source.session, measure, period, by, source.filter_list, source.conditions,
                            zone=source.context.zone, calendar=source.context.calendar,
                            segments=source.context.segments, test=test)
    # None: the question is about a segment of organisations, which the daily measures do not carry
    if found is None and (test is None or isinstance(test, PreviousBefore)):
        found = _counted_raw(source, measure, period, by, test)
    elif found is None:
        found = {key: int(np.count_nonzero(test(m.values)))
                 for key, m in _measured_raw(source, measure, period, by, False).items()}
    for key in _groups(by):
        found.setdefault(key, 0)
    return found


def _counted_raw(source: StoredSource, measure: rollups.Measure, period: Period, by: Dimension | None,
                 test: PreviousBefore | None) -> dict[str, int]:
    """Counted by the database, per group: a week's messages by tag were 200,000 rows to hand over."""
    where = [*measure.where, *within(measure.moment, period)]
    if test is not None:
        where.append(test.where(measure.values(source.dialect)[0]))
    return {key: n for key, (n,) in source.rows(by, [func.count()], measure.table, where, aggregate=[]) if n}


def summed(source: StoredSource, name: str, period: Period, by: Dimension | None) -> dict[str, np.ndarray]:
    """Per group: how many of the period's measurements of one kind, then the sum of each of their
    numbers, as `measured` would give them; every answer's keys present."""
    measure = rollups.MEASURES[name]
    found = rollups.summed(source.session, measure, period, by, source.filter_list, source.conditions,
                           zone=source.context.zone, calendar=source.context.calendar,
                           segments=source.context.segments)
    if found is None:  # a segment of organisations: the daily measures do not carry them
        found = {key: np.concatenate([[m.count], m.values.sum(axis=0)])
                 for key, m in _measured_raw(source, measure, period, by, False).items()}
    for key in _groups(by):
        found.setdefault(key, np.zeros(measure.width + 1))
    return found


def _measured_raw(source: StoredSource, measure: rollups.Measure, period: Period, by: Dimension | None,
                  with_dims: bool) -> dict[str, Measured]:
    values = measure.values(source.dialect)
    dims = measure.dims if with_dims else []
    columns = [*dims, *values] or [literal(1)]  # a count needs a row per measurement, not a number
    groups: dict[str, _RawGroup] = defaultdict(lambda: _RawGroup(source, measure, len(dims), len(values)))
    for key, row in source.rows(by, columns, measure.table, [*measure.where, *within(measure.moment, period)],
                                many=True):
        groups[key].add(row)
    return {key: group.result() for key, group in groups.items()}


class _RawGroup:
    """One group's rows read straight from the tickets, turned into numbers a batch at a time:
    a year's rows as Python tuples were hundreds of MB."""

    def __init__(self, source: StoredSource, measure: rollups.Measure, dims: int, width: int) -> None:
        """`dims`: how many attribute columns each row starts with (none: no codes are kept)."""
        self.source, self.measure, self.dims, self.width = source, measure, dims, width
        self.pending: list[Sequence[Any]] = []
        self.values: list[np.ndarray] = []
        self.codes: list[np.ndarray] = []
        self.numbered: dict[tuple[Any, ...], int] = {}

    def add(self, row: Sequence[Any]) -> None:
        self.pending.append(row)
        if len(self.pending) == RAW_BATCH:
            self._convert()

    def _convert(self) -> None:
        found, dims, self.pending = self.pending, self.dims, []
        if not found:
            return
        if dims:
            self.codes.append(np.array([self.numbered.setdefault(tuple(r[:dims]), len(self.numbered)) for r in found],
                                       dtype=np.intp))
        self.values.append(rollups.read(self.measure, [r[dims:] for r in found], self.width,
                                        self.source.context.calendar))

    def result(self) -> Measured:
        self._convert()
        if not self.dims:
            return Measured(np.concatenate(self.values))
        return Measured(np.concatenate(self.values), list(self.numbered), np.concatenate(self.codes))


RAW_BATCH = 20_000


def _groups(by: Dimension | None) -> set[str]:
    """The keys every answer has: the total always exists, even with nothing in it."""
    return {"all"} if by is None else set()


def volume(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    counts: dict[str, Figures] = defaultdict(lambda: dict.fromkeys(
        ("new", "active", "solved", "reopened", "incoming", "outgoing"), 0))
    for key in _groups(by):
        counts[key]
    for name, measure in (("new", "new"), ("incoming", "incoming_count"), ("outgoing", "outgoing_count")):
        for key, n in counted(source, measure, period, by).items():
            counts[key][name] = n
    start = period.start.timestamp()
    for name in ("solved", "reopened"):  # a ticket's first span in the period: the one before is earlier
        for key, n in counted(source, name, period, by, PreviousBefore(start)).items():
            counts[key][name] = n
    # active: open at the start, or opened in the period while not active before in it
    for key, n in counted(source, "opened", period, by, PreviousBefore(start, or_at=True)).items():
        counts[key]["active"] = n
    open_at_start = open_spans(period.start, opened_at_moment=False)
    parted = by not in SEVERAL_KEYS  # each ticket in one group: the groups' sum is the total's
    for key, (n,) in source.rows(by, [func.count(distinct(open_at_start.c.ticket_key))], open_at_start, [],
                                 aggregate=[]):
        counts[key]["active"] += n
        if TOTAL in counts and parted:
            counts[TOTAL]["active"] += n
    if TOTAL in counts and not parted:
        counts[TOTAL]["active"] += source.count(open_at_start, [], distinct_tickets=True)
    return dict(counts)


def backlog(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    """At the end of the period (now, for a period that has not ended); counted per group by the
    database (metrics.volume.backlog_from_counts): a backlog is thousands of tickets."""
    at = period.end
    younger = [func.count(case((T.c.created_at > at - timedelta(hours=hours), 1))) for _, hours in AGE_BUCKETS[:-1]]
    figures = {key: backlog_by_age([]) for key in _groups(by)}
    for key, (n, *younger_than, oldest) in source.rows(by, [func.count(), *younger, func.min(T.c.created_at)],
                                                      open_at(at), [], aggregate=[]):
        figures[key] = backlog_from_counts(n, younger_than, None if oldest is None else age_seconds(oldest, at))
    return figures


def _duration_figures(source: StoredSource, found: Measured) -> Figures:
    """Of measurements whose first number is the duration and second the same in business seconds."""
    return both_summaries(found.values[:, 0], found.values[:, 1] if source.context.calendar is not None else None)


def first_response_time(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    return {key: _duration_figures(source, found) for key, found in measured(source, "frt", period, by).items()}


def response_time(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    return {key: _duration_figures(source, found) for key, found in measured(source, "response", period, by).items()}


def resolution_time(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    # one measure's rows at a time: a year of either is tens of MB
    first = {key: _duration_figures(source, found) for key, found in
             measured(source, "first_resolution", period, by).items()}
    full = measured(source, "full_resolution", period, by)
    empty = Measured(np.empty((0, 3)))
    return {key: resolution_figures(first.get(key) or _duration_figures(source, empty),
                                    _duration_figures(source, full.get(key, empty)),
                                    full.get(key, empty).values[:, 2])
            for key in set(first) | set(full)}


def csat(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    figures = {}
    good, bad = rollups.VERDICTS.index(Csat.GOOD), rollups.VERDICTS.index(Csat.BAD)
    for key, found in measured(source, "csat", period, by).items():
        verdicts, scores = found.values[:, 0], found.values[:, 1]
        figures[key] = csat_tally(found.count, good=int(np.count_nonzero(verdicts == good)),
                                  bad=int(np.count_nonzero(verdicts == bad)),
                                  scores=scores[~np.isnan(scores)].tolist())
    return figures


def outcomes(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    """Over the tickets resolved now whose last resolution fell in the period."""
    figures = {}
    for key, sums in summed(source, "outcomes", period, by).items():
        resolved, one, abandoned, automated, reopened = (int(n) for n in sums)
        figures[key] = outcome_figures(resolved, one_touch=one, abandoned=abandoned, automated=automated,
                                       reopened=reopened)
    return figures


def sla(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    """Over the inbound tickets created in the period."""
    context = source.context
    figures = {}
    # the groups and slices of a question share the stored tuples: each tuple's target is found once
    targets = source.sla_targets
    for key, found in measured(source, "sla", period, by, with_dims=True).items():
        dims = found.dims or []
        if id(dims) not in targets or targets[id(dims)].dims is not dims:
            targets[id(dims)] = _SlaTargets(source, dims)
        goals = targets[id(dims)].of(found.codes)
        figures[key] = sla_tally(found.values[:, 0], found.values[:, 1], goals, now=context.now,
                                 calendar=context.calendar, business_waits=found.values[:, 2])
    return figures


class _SlaTargets:
    """The first-response target of each row by its tuple's channel and priority (NaN: none),
    looked up for the tuples rows name: a read's tuples are tens of thousands, a slice's rows name few."""

    def __init__(self, source: StoredSource, dims: list[tuple[str | None, ...]]) -> None:
        self.source, self.dims = source, dims
        self.goals = np.full(len(dims), np.nan)
        self.known = np.zeros(len(dims), dtype=bool)
        self.by_kind: dict[tuple[str | None, str | None], float] = {}

    def of(self, codes: np.ndarray | None) -> np.ndarray:
        if codes is None or not len(codes):
            return np.empty(0)
        named = np.flatnonzero((np.bincount(codes, minlength=len(self.dims)) > 0) & ~self.known)
        for code in named.tolist():
            channel, priority = self.dims[code][:2]
            if (channel, priority) not in self.by_kind:
                goal = self.source.context.sla.target(channel, priority)
                self.by_kind[channel, priority] = np.nan if goal is None else goal
            self.goals[code] = self.by_kind[channel, priority]
        self.known[named] = True
        return self.goals[codes]


@dataclass(frozen=True)
class AgentWork:
    """The period's work per agent (metrics.agents), and the conversations the whole team replied
    in, each once: both come from the same replies."""

    per_agent: dict[str, Figures]
    conversations: int
    first_response_median: float | None  # of every first response, an agent named on it or not


def agent_work(source: StoredSource, period: Period) -> AgentWork:
    """Each agent credited with the work they did, from the daily measures where the question
    allows: replies by author, resolutions by who resolved, first responses by who wrote them,
    ratings by the agent they credit."""
    replies, conversations, team_conversations = _replies(source, period)
    first_responses = _by_agent(source, "first_responses", period)
    ratings = _by_agent(source, "ratings", period)
    raters, rater = _credited(ratings)
    good = ratings.values[:, 0] == rollups.VERDICTS.index(Csat.GOOD)
    per_agent = agent_figures(
        replies, conversations, _per_agent_count(*_credited(_by_agent(source, "closures", period))),
        _per_agent_numbers(first_responses),
        ratings=_per_agent_count(raters, rater), good=_per_agent_count(raters, rater[good]))
    return AgentWork(per_agent, team_conversations, median_of_many(first_responses.values[:, 0]))


def _replies(source: StoredSource, period: Period) -> tuple[dict[str, int], dict[str, int], int]:
    """Replies per agent, conversations per agent, and the team's conversations; a year of replies
    is the largest read of any question, so it is let go before the next measure is read."""
    replies = _by_agent(source, "replies", period)
    authors, author = _credited(replies)
    # a ticket counts once, at its first reply in the period: the reply before it was earlier, or none
    start = period.start.timestamp()
    first_for_team, first_for_author = ~(replies.values[:, 0] >= start), ~(replies.values[:, 1] >= start)
    return (_per_agent_count(authors, author), _per_agent_count(authors, author[first_for_author]),
            int(np.count_nonzero(first_for_team)))


def _by_agent(source: StoredSource, name: str, period: Period) -> Measured:
    """A measure kept with the agent each measurement is credited to (storage.rollups)."""
    return measured(source, name, period, None, with_dims=True)["all"]


def _credited(found: Measured) -> tuple[list[str], np.ndarray]:
    """Who each measurement is credited to (the agent its attributes end with): the agents
    named, and each row's position among them (-1: nobody). Tuples are tens of thousands and
    named by every measure of the agents table: each list of them is looked at once."""
    dims = found.dims or []
    codes = found.codes if found.codes is not None else np.empty(0, dtype=np.intp)
    names, lookup = _credit_of(dims)
    return names, lookup[codes]


def _credit_of(dims: list[tuple[str | None, ...]]) -> tuple[list[str], np.ndarray]:
    """The agents the tuples end with, and each tuple's position among them (-1: nobody, also one
    entry more than there are tuples)."""
    known = _CREDITS.get(id(dims))
    if known is not None and known[0] is dims:
        return known[1], known[2]
    who = [d[-1] for d in dims]
    names = sorted(set(who) - {None})
    position = {agent: i for i, agent in enumerate(names)}
    lookup = np.array([*map(position.get, who, [-1] * len(who)), -1], dtype=np.int32)
    _CREDITS.clear()  # one list at a time: the stored tuples, which every question names
    _CREDITS[id(dims)] = (dims, names, lookup)
    return names, lookup


_CREDITS: dict[int, tuple[list[tuple[str | None, ...]], list[str], np.ndarray]] = {}


def _per_agent_count(names: list[str], agent: np.ndarray) -> dict[str, int]:
    """Measurements per agent (rows credited to nobody left out); agents with none are absent."""
    counts = np.bincount(agent + 1, minlength=len(names) + 1)[1:]  # nobody (-1) counted first, then dropped
    return {who: int(n) for who, n in zip(names, counts.tolist(), strict=True) if n}


def _per_agent_numbers(found: Measured) -> dict[str, np.ndarray]:
    """Each agent's numbers (the measure's first), in one sort rather than a pass per agent."""
    names, agent = _credited(found)
    credited = agent >= 0
    agent, values = agent[credited], found.values[credited, 0]
    counts = np.bincount(agent, minlength=len(names))
    small = agent.astype(np.int16) if len(names) < 2 ** 15 else agent  # a stable sort of small numbers is a radix sort
    split = np.split(values[np.argsort(small, kind="stable")], np.cumsum(counts)[:-1]) if names else []
    return {who: numbers for who, numbers, n in zip(names, split, counts.tolist(), strict=True) if n}


def team_line(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    """The team's line of the agents table (agents has rows of its own, never a breakdown)."""
    work = source.agent_work(period)
    return {"all": team(work.per_agent, work.conversations, work.first_response_median)}


def tags(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    """Tickets created in the period that carry a tag (each tagged ticket has one flagged tag row)."""
    tagged = counted(source, "tagged", period, None, lambda values: values[:, 0] == 1)["all"]
    return {"all": {"tickets": float(tagged), "share": None}}


def tag_counts(source: StoredSource, period: Period) -> dict[str, int]:
    """Tickets created in the period under each tag they carry."""
    found = measured(source, "tagged", period, None, with_dims=True)["all"]
    per_dims = np.bincount(found.codes, minlength=len(found.dims or [])) if found.count else []
    counts: dict[str, int] = defaultdict(int)
    for dims, n in zip(found.dims or [], per_dims, strict=False):
        if n:
            counts[str(dims[-1])] += int(n)
    return dict(counts)


def created_moments(source: StoredSource, period: Period) -> np.ndarray:
    """POSIX moments at which the period's tickets were created."""
    return measured(source, "new", period, None)["all"].values[:, 0]


def level(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    """Of first responses only their median is shown: no mean or p90 is worked out."""
    column = 0 if source.context.calendar is None else 1  # with a calendar: the business seconds
    frt = {key: median_of_many(found.values[:, column]) for key, found in measured(source, "frt", period, by).items()}
    satisfaction = csat(source, period, by)
    return {key: level_figures(frt.get(key), satisfaction[key]["average"] if key in satisfaction else None)
            for key in set(frt) | set(satisfaction)}


def peak(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    return {key: {"new": float(n)} for key, n in counted(source, "new", period, by).items()}


def conversions(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    """storage.order_figures.conversions, with the period's new tickets counted from the daily measures."""
    created = {key: n for key, n in counted(source, "new", period, by).items() if key != TOTAL}
    return order_figures.conversions(source, period, by, {key: n for key, n in created.items() if n or by is None})


FIGURES: dict[str, Callable[[StoredSource, Period, Dimension | None], Grouped]] = {
    "volume": volume, "backlog": backlog, "frt": first_response_time, "response": response_time,
    "resolution": resolution_time, "csat": csat, "outcomes": outcomes, "sla": sla, "agents": team_line, "tags": tags,
    "level": level, "peak": peak, "conversions": conversions, "retention": order_figures.retention,
}
