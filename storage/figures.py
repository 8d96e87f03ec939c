"""Metric figures over the stored tables: the SQL side of metrics.catalog.Source.

SQL picks each period's measurements through the index on the moment the definition attributes
them to (docs/metrics.md), applies the filters and groups them; the arithmetic (medians, shares,
business time) is metrics/'s own, so this path and the in-memory reference give the same numbers
(tests/storage/test_metric_reads.py) while a query reads only its period.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, FromClause, and_, distinct, exists, false, func, not_, or_, select, true
from sqlalchemy.orm import Session, sessionmaker

from metrics.catalog import Context, Metric, Source
from metrics.dimensions import NONE, Dimension, Filter, SegmentRule, Segments
from metrics.periods import Period
from metrics.tags import TagReport, tag_report
from metrics.volume import OldestTicket, age_seconds, peak_grid_of_moments
from storage import metric_figures, rollups
from storage.db import without_parallel_workers
from storage.metric_figures import TAGS, has_tag, open_at
from storage.metric_figures import TICKETS as T
from storage.rollups import TOTAL

Figures = dict[str, float | None]
Result = TypeVar("Result")
RECENT_TICKETS = 10_000  # read at once when telling new tags from known ones
# shorter, a second session costs what it saves (bench/query.py: last month 16 ms on either lane,
# last week 5 ms on one and 10 on two; last quarter 143 -> 90 ms)
SECOND_LANE_FROM = timedelta(days=60)
# the second lanes of every question this process answers (StoredSource.side_by_side): two, so a
# second question at the same moment gets one too; more would not find a free core on two, and
# each holds a period's measurements in memory
_SECOND_LANE = ThreadPoolExecutor(max_workers=2, thread_name_prefix="deskpulse-lane")

ROWS_PER_FETCH = 20_000  # rows handed over by the driver at a time (StoredSource.rows)

_COLUMN: dict[Dimension, ColumnElement[Any]] = {
    Dimension.CHANNEL: T.c.channel, Dimension.AGENT: func.coalesce(T.c.assignee_id, T.c.assignee_name),
    Dimension.GROUP: T.c.group_name, Dimension.PRIORITY: T.c.priority, Dimension.HELPDESK: T.c.source,
}


@dataclass(frozen=True)
class Grouping:
    """One SELECT of a breakdown: grouped by `key`, or all of it under `name`."""

    key: ColumnElement[Any] | None = None
    name: str = "all"
    where: tuple[ColumnElement[bool], ...] = ()
    per_tag: bool = False  # joins the ticket's tags: a ticket counts under each


class StoredSource:
    """Figures for one question (its filters fixed) from the stored tickets, messages and spans."""

    def __init__(self, session: Session, filters: Sequence[Filter], context: Context, *,
                 sessions: sessionmaker[Session] | None = None) -> None:
        """`sessions`: where a second lane gets its own session (see `side_by_side`); without it
        every period is read on `session`, one after the other."""
        self.session, self.context, self.sessions = session, context, sessions
        self.dialect = session.get_bind().dialect.name
        self.filter_list = list(filters)
        self.filters = [_matches(f, context.segments) for f in filters]
        self.conditions = [T.c.removed.is_(None), *self.filters]
        self._agent_work: dict[tuple[datetime, datetime], metric_figures.AgentWork] = {}
        self._totals: dict[tuple[str, datetime, datetime], Figures] = {}
        self.sla_targets: dict[int, Any] = {}  # storage.metric_figures.sla's, per list of attribute tuples

    # --- catalog.Source ------------------------------------------------------------------

    def figures(self, metric: Metric, period: Period, by: Dimension | None) -> dict[str, Figures]:
        """A breakdown's read also gives its total (storage.rollups.TOTAL): kept for the question
        that asks for the total next (metrics.catalog.answer_from asks for the rows first)."""
        asked = (metric.name, period.start, period.end)
        if by is None and asked in self._totals:
            return {"all": self._totals.pop(asked)}
        grouped = metric_figures.FIGURES[metric.name](self, period, by)
        if TOTAL in grouped:
            self._totals[asked] = grouped.pop(TOTAL)
        return grouped

    def agents(self, period: Period) -> dict[str, Figures]:
        return self.agent_work(period).per_agent

    def side_by_side(self, work: Callable[[Source, Period], Result], periods: Sequence[Period]) -> list[Result]:
        """work(source, period) for each period, in order; when the later half spans two months or
        more, in two lanes: this thread reads the first half, a pooled thread the rest on a session
        of its own. Reads and numpy's sorts release the GIL, so on two cores most year questions
        take 55-80% of what one lane took. When no pooled thread is free by the time the first half
        is done, this thread reads the rest."""
        half = (len(periods) + 1) // 2
        later = sum((p.end - p.start for p in periods[half:]), timedelta())
        if self.sessions is None or later < SECOND_LANE_FROM:
            return [work(self, p) for p in periods]
        # slices of a period `reading` reads once: the second lane reads its half once too
        once = rollups.reads_once(self.session, periods[half].start, periods[-1].end)
        rest = _SECOND_LANE.submit(self._on_own_session, work, periods[half:], once)
        done = [work(self, p) for p in periods[:half]]
        if rest.cancel():
            return done + [work(self, p) for p in periods[half:]]
        return done + rest.result()

    def _on_own_session(self, work: Callable[[Source, Period], Result], periods: Sequence[Period],
                        once: bool) -> list[Result]:
        assert self.sessions is not None
        with self.sessions() as session:
            twin = StoredSource(session, self.filter_list, self.context)
            with twin._reading_alongside(self.session) if once else nullcontext():
                return [work(twin, p) for p in periods]

    def reading(self, period: Period) -> AbstractContextManager[None]:
        return self._reading(period.start, period.end)

    @contextmanager
    def _reading(self, start: datetime, end: datetime) -> Iterator[None]:
        """Built days read once for the whole stretch; the rest (edges, the tickets open at each
        slice's start or end) is many small reads."""
        with rollups.read_days_once(self.session, start, end), without_parallel_workers(self.session):
            yield

    @contextmanager
    def _reading_alongside(self, reader: Session) -> Iterator[None]:
        """As `_reading` on `reader`, sharing its reads of built days."""
        with rollups.read_alongside(self.session, reader), without_parallel_workers(self.session):
            yield

    def agent_names(self, keys: Iterable[str]) -> dict[str, str]:
        """The name the helpdesk last gave each agent id on an assigned ticket."""
        names = {}
        for key in keys:
            name = self.session.scalar(select(T.c.assignee_name).where(
                T.c.assignee_id == key, T.c.assignee_name.is_not(None)).order_by(T.c.created_at.desc()).limit(1))
            if name:
                names[key] = name
        return names

    def tag_report(self, period: Period, previous: Period) -> TagReport:
        now, before = metric_figures.tag_counts(self, period), metric_figures.tag_counts(self, previous)
        created = len(metric_figures.created_moments(self, period))
        return tag_report(now, before, created, self._tags_seen_before(now, period.start))

    def peak_hours(self, period: Period) -> list[list[int]]:
        return peak_grid_of_moments(metric_figures.created_moments(self, period), period.tz)

    def oldest_open(self, at: datetime) -> OldestTicket | None:
        row = self.session.execute(
            select(T.c.key, T.c.subject, T.c.created_at).select_from(_joined(open_at(at)))
            .where(*self.conditions).order_by(T.c.created_at, T.c.key).limit(1)).first()
        return None if row is None else OldestTicket(row.key, row.subject, age_seconds(row.created_at, at))

    # --- reads for storage/metric_figures.py ----------------------------------------------

    def agent_work(self, period: Period) -> metric_figures.AgentWork:
        """Asked twice per period (the team's line and the agents' rows): read once."""
        moments = (period.start, period.end)
        if moments not in self._agent_work:
            self._agent_work[moments] = metric_figures.agent_work(self, period)
        return self._agent_work[moments]

    def rows(self, by: Dimension | None, columns: Sequence[ColumnElement[Any]], table: FromClause,
             where: Sequence[ColumnElement[bool]], *, aggregate: Sequence[ColumnElement[Any]] | None = None,
             many: bool = False) -> Iterator[tuple[str, Sequence[Any]]]:
        """(group key, values) of each measurement in `table` (tickets, messages or spans) that
        passes `where` and the filters; with `aggregate`, one row per group and those columns.
        `many`: the rows may be a year's, so PostgreSQL hands them over through a server-side
        cursor as they are read, instead of all of them into the driver's memory first."""
        for grouping in self.groupings(by):
            keys = [] if grouping.key is None else [grouping.key]
            reads_tickets = any(f is T for f in select(*columns, *where).columns_clause_froms)
            if table is not T and not (keys or grouping.where or self.filters or reads_tickets):
                # messages and spans exist for live tickets only (storage.tickets.store)
                query = select(*columns).select_from(table).where(*where)
            else:
                source = _joined(table)
                if grouping.per_tag:
                    source = source.outerjoin(TAGS, TAGS.c.ticket_key == T.c.key)
                query = select(*keys, *columns).select_from(source).where(*where, *self.conditions, *grouping.where)
            if aggregate is not None and (keys or aggregate):
                query = query.group_by(*keys, *aggregate)
            # many rows a fetch: far cheaper than row by row, and a year by tag is never all in memory
            if many and self.dialect == "postgresql":
                query = query.execution_options(stream_results=True)
            for rows in self.session.execute(query).partitions(ROWS_PER_FETCH):
                if grouping.key is None:
                    yield from ((grouping.name, row) for row in rows)
                else:
                    yield from ((row[0] or NONE, row[1:]) for row in rows)

    def count(self, table: FromClause, where: Sequence[ColumnElement[bool]], *, distinct_tickets: bool = False) -> int:
        counted = func.count(distinct(table.c.key if table is T else table.c.ticket_key)) if distinct_tickets \
            else func.count()
        return sum(n for _, (n,) in self.rows(None, [counted], table, where, aggregate=[]))

    def groupings(self, by: Dimension | None) -> list[Grouping]:
        if by is None:
            return [Grouping()]
        if by is Dimension.TAG:
            return [Grouping(TAGS.c.tag, per_tag=True)]
        if by is Dimension.SEGMENT:
            segments = {name: _segment(rules) for name, rules in self.context.segments.rules.items()}
            outside = (not_(or_(*segments.values())),) if segments else ()
            return [Grouping(name=name, where=(cond,)) for name, cond in segments.items()] + \
                [Grouping(name=NONE, where=outside)]
        return [Grouping(_COLUMN[by])]

    def _tags_seen_before(self, tags: Iterable[str], moment: datetime) -> set[str]:
        """Which of `tags` a ticket created before `moment` carried (any ticket, filters or not).

        The latest tickets before the moment settle most tags in one read, and all of them when the
        history before the moment is short; a tag still open is then looked up among its own rows,
        in the order they were stored (older tickets' rows usually first), which takes long only for
        a tag that is new in the period and already on many tickets."""
        wanted = set(tags)
        live_before = [T.c.created_at < moment, T.c.removed.is_(None)]
        latest = select(T.c.key).where(*live_before).order_by(T.c.created_at.desc()).limit(RECENT_TICKETS).subquery()
        # no condition on the tag: the planner must walk these tickets' tags, not every row of a tag
        seen = wanted & set(self.session.scalars(select(TAGS.c.tag).distinct().where(
            TAGS.c.ticket_key.in_(select(latest.c.key)))))
        if self.session.scalar(select(func.count()).select_from(latest)) < RECENT_TICKETS:
            return seen  # every ticket before the moment was read
        for tag in wanted - seen:
            older = select(TAGS.c.ticket_key).join(T, T.c.key == TAGS.c.ticket_key).where(TAGS.c.tag == tag,
                                                                                         *live_before)
            if self.session.scalar(select(exists(older))):
                seen.add(tag)
        return seen


def _joined(table: FromClause) -> FromClause:
    return T if table is T else table.join(T, T.c.key == table.c.ticket_key)


def _matches(f: Filter, segments: Segments) -> ColumnElement[bool]:
    """SQL for metrics.dimensions.Filter.matches."""
    wanted = f.value.casefold()
    none = wanted == NONE
    if f.dimension is Dimension.TAG:
        return not_(has_tag()) if none else has_tag(func.lower(TAGS.c.tag) == wanted)
    if f.dimension is Dimension.SEGMENT:
        rules = {name.casefold(): _segment(r) for name, r in segments.rules.items()}
        if none:
            return not_(or_(*rules.values())) if rules else true()
        return rules.get(wanted, false())
    if f.dimension is Dimension.AGENT:
        if none:
            return and_(T.c.assignee_id.is_(None), T.c.assignee_name.is_(None))
        return or_(func.lower(T.c.assignee_id) == wanted, func.lower(T.c.assignee_name) == wanted)
    column = _COLUMN[f.dimension]
    return column.is_(None) if none else func.lower(column) == wanted


def _segment(rules: Sequence[SegmentRule]) -> ColumnElement[bool]:
    """SQL for a segment's rules (metrics.dimensions.SegmentRule.matches): any rule matches."""
    return or_(*(has_tag(TAGS.c.tag == r.value) if r.field == "tag"  # never NULL: "not in a segment" negates it
                 else and_(T.c.organization.is_not(None), func.lower(T.c.organization) == r.value.casefold())
                 for r in rules))

