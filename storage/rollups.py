"""Daily measures: each UTC day's measurements packed once, so that a question about a month or
a year reads a row per day instead of every ticket (docs/metrics.md, "How long questions stay fast").

A measure is one kind of measurement a metric reads (first responses, waits, ratings, ...): the
rows its raw query in storage/metric_figures.py selects, with the ticket attributes that filters
and breakdowns need (`DIMS`). A day is built once it is over. Storing a ticket marks the days
its events fall on as stale, and stale or unbuilt days are read raw until the builder has
rebuilt them, so an answer is the same either way (tests/storage/test_metric_reads.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Float, FromClause, Integer, case, cast, delete, extract, func, select
from sqlalchemy.orm import Session, sessionmaker

from metrics.dimensions import NONE, Dimension, Filter
from metrics.model import Csat, Role
from metrics.periods import Period
from metrics.satisfaction import SCORE_SCALE
from metrics.tickets import Ticket
from storage.db import unit_of_work
from storage.tables import DailyMeasure, RollupDay, StaleDay, TicketMessage, TicketRow, TicketSpan

T, M, S = TicketRow.__table__, TicketMessage.__table__, TicketSpan.__table__

# The ticket attributes every measurement carries; filters and breakdowns on them need no tickets.
DIMS = (T.c.channel, T.c.priority, T.c.group_name, T.c.assignee_id, T.c.assignee_name, T.c.source)
ROLLED_UP = {Dimension.CHANNEL, Dimension.PRIORITY, Dimension.GROUP, Dimension.AGENT, Dimension.HELPDESK}
VERDICTS = list(Csat)  # a rating's verdict is packed as its index here


def epoch(dialect: str, column: ColumnElement[datetime]) -> ColumnElement[float]:
    """POSIX seconds of a stored moment, computed by the database: far cheaper than datetimes."""
    if dialect == "sqlite":  # stored as text, 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC
        return cast(func.strftime("%s", column), Integer) + cast(func.substr(column, 20), Float)
    return cast(extract("epoch", column), Float)


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


@dataclass(frozen=True)
class Measure:
    """Which rows count on a day (`where`, `moment` within the day) and the numbers kept of each."""

    name: str
    table: FromClause
    moment: ColumnElement[datetime]
    where: tuple[ColumnElement[bool], ...]
    values: Callable[[str], list[ColumnElement[Any]]]  # per dialect


def _previous_span(column: str, *, reopen: bool = False) -> ColumnElement[datetime]:
    """A moment of the ticket's span before this one (for counting each ticket once per period);
    with `reopen`, only when that span was itself a reopening."""
    previous = S.alias("previous")
    where = [previous.c.ticket_key == S.c.ticket_key, previous.c.seq == S.c.seq - 1]
    if reopen:
        where.append(previous.c.seq > 0)
    return select(previous.c[column]).where(*where).scalar_subquery()


def _measures() -> dict[str, Measure]:
    agent_reply, customer = M.c.role == Role.AGENT.value, M.c.role == Role.CUSTOMER.value
    verdict = case(*((T.c.csat == v.value, i) for i, v in enumerate(VERDICTS)))
    score = case((T.c.csat_scale == SCORE_SCALE, T.c.csat_score), else_=None)
    automated = (T.c.agent_replies == 0) & (T.c.bot_replies > 0)
    found = [
        Measure("new", T, T.c.created_at, (), lambda d: []),
        Measure("incoming", M, M.c.at, (customer,), lambda d: []),
        # A span resolved, opened or reopened in the period, with the moment its ticket's previous
        # span was: the ticket is counted once, at its first such span in the period.
        Measure("solved", S, S.c.resolved_at, (), lambda d: [epoch(d, _previous_span("resolved_at"))]),
        Measure("opened", S, S.c.opened_at, (), lambda d: [epoch(d, _previous_span("resolved_at"))]),
        Measure("reopened", S, S.c.opened_at, (S.c.seq > 0,),
                lambda d: [epoch(d, _previous_span("opened_at", reopen=True))]),
        Measure("outgoing", M, M.c.at, (agent_reply,), lambda d: []),
        Measure("frt", T, T.c.first_response_at, (T.c.first_response_seconds.is_not(None),),
                lambda d: [T.c.first_response_seconds, epoch(d, T.c.first_response_at)]),
        Measure("response", M, M.c.at, (agent_reply, M.c.wait_seconds.is_not(None)),
                lambda d: [M.c.wait_seconds, epoch(d, M.c.at)]),
        Measure("first_resolution", T, T.c.first_resolved_at, (T.c.first_resolution_seconds.is_not(None),),
                lambda d: [T.c.first_resolution_seconds, epoch(d, T.c.first_resolved_at)]),
        Measure("full_resolution", T, T.c.last_resolved_at, (T.c.full_resolution_seconds.is_not(None),),
                lambda d: [T.c.full_resolution_seconds, epoch(d, T.c.last_resolved_at), T.c.agent_replies]),
        Measure("csat", T, T.c.rated_at, (T.c.csat.is_not(None),), lambda d: [verdict, score]),
        Measure("outcomes", T, T.c.last_resolved_at, (T.c.is_resolved,),
                lambda d: [_flag(T.c.one_touch), _flag(T.c.abandoned), _flag(automated), _flag(T.c.reopens > 0)]),
        Measure("sla", T, T.c.created_at, (T.c.outbound.is_(False),),
                lambda d: [epoch(d, T.c.created_at), epoch(d, T.c.first_response_at)]),
    ]
    return {m.name: m for m in found}


MEASURES = _measures()


@dataclass
class Measured:
    """One group's measurements: a row each, a column per number of the measure; with `dims`,
    each row's ticket attributes (DIMS order) too."""

    values: np.ndarray
    dims: list[tuple[str | None, ...]] | None = None

    @property
    def count(self) -> int:
        return int(self.values.shape[0])


# --- reading ------------------------------------------------------------------------------


def measured(session: Session, measure: Measure, period: Period, by: Dimension | None,
             filters: Sequence[Filter], conditions: Sequence[ColumnElement[bool]], *,
             with_dims: bool = False) -> dict[str, Measured] | None:
    """The period's measurements grouped by `by` (None: all under "all"); whole built days come
    from the daily measures, the rest raw. None when the question needs what rollups lack
    (tags, segments): the caller reads raw."""
    if (by is not None and by not in ROLLED_UP) or any(f.dimension not in ROLLED_UP for f in filters):
        return None
    width = len(measure.values(session.get_bind().dialect.name))
    groups = _Groups(by, _keeper(filters), with_dims)
    built, raw_ranges = _plan(session, period)
    if built:
        for _, dims, data in session.execute(
                select(DailyMeasure.day, DailyMeasure.dims, DailyMeasure.data)
                .where(DailyMeasure.measure == measure.name, DailyMeasure.day.in_(built))):
            packed = np.frombuffer(data, dtype=np.float64).reshape(-1, width + 1)
            groups.add([tuple(d) for d in dims], packed[:, 0].astype(np.intp), packed[:, 1:])
    for start, end in raw_ranges:
        for dims, values in _raw(session, measure, start, end, conditions).items():
            groups.add([dims], np.zeros(values.shape[0], dtype=np.intp), values, filtered=True)
    return groups.result(width)


def _plan(session: Session, period: Period) -> tuple[list[date], list[tuple[datetime, datetime]]]:
    """The whole UTC days of the period that can be read from daily measures, and the stretches
    (edges, unbuilt or stale days) to read raw."""
    first = _midnight(period.start.astimezone(UTC).date())
    if first < period.start:
        first += timedelta(days=1)
    days = [(first + timedelta(days=i)).date() for i in range(max(0, (period.end - first).days))]
    usable: set[date] = set()
    if days:
        built = set(session.scalars(select(RollupDay.day).where(RollupDay.day >= days[0], RollupDay.day <= days[-1])))
        stale = set(session.scalars(select(StaleDay.day).where(StaleDay.day >= days[0], StaleDay.day <= days[-1])))
        usable = built - stale
    raw, cursor = [], period.start
    for day in days:
        if day in usable:
            if cursor < _midnight(day):
                raw.append((cursor, _midnight(day)))
            cursor = _midnight(day + timedelta(days=1))
    if cursor < period.end:
        raw.append((cursor, period.end))
    return sorted(usable), raw


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _keeper(filters: Sequence[Filter]) -> Callable[[tuple[str | None, ...]], bool]:
    """Filters on ticket attributes in Python, as storage.figures applies them in SQL."""
    tests = [_filter_test(f) for f in filters]
    return lambda dims: all(test(dims) for test in tests)


def _filter_test(f: Filter) -> Callable[[tuple[str | None, ...]], bool]:
    wanted = f.value.casefold()
    if f.dimension is Dimension.AGENT:
        if wanted == NONE:
            return lambda d: d[3] is None and d[4] is None
        return lambda d: (d[3] is not None and d[3].lower() == wanted) or (d[4] is not None and d[4].lower() == wanted)
    index = _DIM_INDEX[f.dimension]
    if wanted == NONE:
        return lambda d: d[index] is None
    return lambda d: d[index] is not None and d[index].lower() == wanted


_DIM_INDEX = {Dimension.CHANNEL: 0, Dimension.PRIORITY: 1, Dimension.GROUP: 2, Dimension.HELPDESK: 5}


def _key(by: Dimension | None, dims: tuple[str | None, ...]) -> str:
    if by is None:
        return "all"
    agent = dims[3] if dims[3] is not None else dims[4]  # coalesce(assignee_id, assignee_name)
    value = agent if by is Dimension.AGENT else dims[_DIM_INDEX[by]]
    return value or NONE


class _Groups:
    """Measurements collected per answer group (the `by` key) from packed days and raw stretches."""

    def __init__(self, by: Dimension | None, keep: Callable[[tuple[str | None, ...]], bool], with_dims: bool) -> None:
        self.by, self.keep, self.with_dims = by, keep, with_dims
        self.values: dict[str, list[np.ndarray]] = defaultdict(list)
        self.dims: dict[str, list[tuple[str | None, ...]]] = defaultdict(list)
        self.keys: dict[tuple[str | None, ...], str | None] = {}  # days repeat the same attributes

    def _key_of(self, dims: tuple[str | None, ...]) -> str | None:
        if dims not in self.keys:
            self.keys[dims] = _key(self.by, dims) if self.keep(dims) else None
        return self.keys[dims]

    def add(self, dims: list[tuple[str | None, ...]], codes: np.ndarray, values: np.ndarray, *,
            filtered: bool = False) -> None:
        """Rows whose attributes are `dims[code]`; `filtered`: the filters were applied in SQL."""
        keys = [_key(self.by, d) for d in dims] if filtered else [self._key_of(d) for d in dims]
        names = sorted({k for k in keys if k is not None})
        if len(names) == 1 and None not in keys:  # the usual case: no breakdown, nothing filtered out
            self._take(names[0], dims, codes, values)
            return
        position = {name: i for i, name in enumerate(names)}
        row_group = np.array([position.get(k, -1) if k is not None else -1 for k in keys], dtype=np.intp)[codes]
        for i, name in enumerate(names):
            rows = row_group == i
            self._take(name, dims, codes[rows], values[rows])

    def _take(self, name: str, dims: list[tuple[str | None, ...]], codes: np.ndarray, values: np.ndarray) -> None:
        if values.shape[0]:
            self.values[name].append(values)
            if self.with_dims:
                self.dims[name].extend(dims[c] for c in codes.tolist())

    def result(self, width: int) -> dict[str, Measured]:
        return {name: Measured(np.concatenate(found) if found else np.empty((0, width)),
                               self.dims[name] if self.with_dims else None)
                for name, found in self.values.items()}


def _raw(session: Session, measure: Measure, start: datetime, end: datetime,
         conditions: Sequence[ColumnElement[bool]]) -> dict[tuple[str | None, ...], np.ndarray]:
    """Rows of one stretch straight from the tickets, grouped by their attributes."""
    dialect = session.get_bind().dialect.name
    values = measure.values(dialect)
    source = T if measure.table is T else measure.table.join(T, T.c.key == measure.table.c.ticket_key)
    query = select(*DIMS, *values).select_from(source).where(
        *measure.where, measure.moment >= start, measure.moment < end, T.c.removed.is_(None), *conditions)
    rows: dict[tuple[str | None, ...], list[Sequence[Any]]] = defaultdict(list)
    for row in session.execute(query):
        rows[tuple(row[:len(DIMS)])].append(row[len(DIMS):])
    return {dims: matrix(found, len(values)) for dims, found in rows.items()}


def matrix(rows: Sequence[Sequence[Any]], width: int) -> np.ndarray:
    if width == 0:
        return np.empty((len(rows), 0))
    return np.array([[np.nan if v is None else float(v) for v in row] for row in rows], dtype=np.float64)


# --- building -------------------------------------------------------------------------------


def mark_stale(session: Session, folded: Iterable[Ticket]) -> None:
    """Mark the days changed tickets can have measurements on (called whenever tickets are stored)."""
    days = set().union(*(t.event_days for t in folded))
    if days:
        session.connection().execute(StaleDay.__table__.insert(), [{"day": day} for day in sorted(days)])


def build_day(session: Session, day: date, *, now: datetime) -> None:
    """(Re)build one finished day's measures from the tickets, clearing the stale marks read first."""
    if session.get_bind().dialect.name == "postgresql":  # replicas building one day take turns
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"rollup:{day.isoformat()}"))))
    seen = list(session.scalars(select(StaleDay.id).where(StaleDay.day == day)))
    start, end = _midnight(day), _midnight(day + timedelta(days=1))
    rows = []
    for measure in MEASURES.values():
        by_dims = _raw(session, measure, start, end, ())
        data = _pack(list(by_dims.values()), width=len(measure.values(session.get_bind().dialect.name)))
        rows.append({"measure": measure.name, "day": day, "rows": int(data.shape[0]),
                     "dims": [list(d) for d in by_dims], "data": data.tobytes()})
    session.execute(delete(DailyMeasure).where(DailyMeasure.day == day))
    session.execute(DailyMeasure.__table__.insert(), rows)
    session.execute(delete(RollupDay).where(RollupDay.day == day))
    session.execute(RollupDay.__table__.insert(), [{"day": day, "built_at": now}])
    for start_id in range(0, len(seen), 500):
        session.execute(delete(StaleDay).where(StaleDay.id.in_(seen[start_id:start_id + 500])))


def _pack(groups: list[np.ndarray], *, width: int) -> np.ndarray:
    """One matrix: each row's group number (its index in the day's `dims`), then its numbers."""
    if not groups:
        return np.empty((0, width + 1))
    return np.concatenate([np.column_stack([np.full(len(v), float(code)), v]) for code, v in enumerate(groups)])


def build_missing(sessions: sessionmaker[Session], *, now: datetime, limit: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> int:
    """Build the missing and stale finished days, one transaction a day (short write locks);
    returns how many were built."""
    with unit_of_work(sessions) as session:
        days = days_to_build(session, now=now)[:limit]
    for done, day in enumerate(days, 1):
        with unit_of_work(sessions) as session:
            build_day(session, day, now=now)
        if progress is not None:
            progress(done, len(days))
    return len(days)


def days_to_build(session: Session, *, now: datetime) -> list[date]:
    """Finished days with tickets whose measures are missing or stale, the most recent first."""
    earliest = session.scalar(select(func.min(T.c.created_at)))
    if earliest is None:
        return []
    last = now.astimezone(UTC).date() - timedelta(days=1)
    first = earliest.astimezone(UTC).date()
    built = set(session.scalars(select(RollupDay.day)))
    stale = set(session.scalars(select(StaleDay.day).where(StaleDay.day <= last)))
    wanted = [last - timedelta(days=i) for i in range((last - first).days + 1)]
    return [day for day in wanted if day not in built or day in stale]
