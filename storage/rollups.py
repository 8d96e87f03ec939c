"""Daily measures: each day's measurements packed once, so that a question about a month or a
year reads a row per day instead of every ticket (docs/metrics.md, "How long questions stay fast").
Days are those of the configured time zone (`rollup_days.zone`), so that yesterday, a month by
day and a year by week are whole built days; a question asked in another zone reads its part
days raw.

A measure is one kind of measurement a metric reads (first responses, waits, ratings, ...): the
rows its raw query in storage/metric_figures.py selects, with the ticket attributes that filters
and breakdowns need (`DIMS`). A day is built once it is over. Storing a ticket marks the UTC days
its events fall on as stale stretches of time; days they overlap, and unbuilt days, are read raw
until the builder has rebuilt them, so an answer is the same either way
(tests/storage/test_metric_reads.py).

Durations are also kept in business seconds, worked out when the day is built, under the
business calendar `rollup_days.calendar` names: a year of them is then read, not recomputed. A
question asked under another calendar reads such a day raw, and the builder rebuilds it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cached_property, lru_cache
from operator import itemgetter
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import ColumnElement, Float, FromClause, Integer, case, cast, delete, extract, func, null, select
from sqlalchemy.orm import Session, sessionmaker

from metrics.business_hours import BusinessCalendar
from metrics.dimensions import NONE, SEVERAL_KEYS, Dimension, Filter, SegmentRule, Segments
from metrics.model import Csat, Role
from metrics.periods import Period, local
from metrics.response_times import business_durations
from metrics.satisfaction import SCORE_SCALE
from metrics.sla import answered_business_waits
from metrics.tickets import Ticket
from storage.db import dialect_insert, unit_of_work
from storage.tables import (
    DailyMeasure,
    MeasureDims,
    RollupDay,
    StaleSpan,
    TicketMessage,
    TicketRow,
    TicketSpan,
    TicketTag,
)

T, M, S = TicketRow.__table__, TicketMessage.__table__, TicketSpan.__table__
TAGGED = TicketTag.__table__.alias("tagged")  # aliased: tag filters look the ticket's tags up themselves

# The ticket attributes every measurement carries; filters and breakdowns on them need no tickets.
UNTAGGED_DIMS = (T.c.channel, T.c.priority, T.c.group_name, T.c.assignee_id, T.c.assignee_name, T.c.source)
DIMS = (*UNTAGGED_DIMS, T.c.tag_set)
# What a built day's attribute tuples hold (rollup_days.layout): 2 since the tag set was added.
LAYOUT = 2
ROLLED_UP = {Dimension.CHANNEL, Dimension.PRIORITY, Dimension.GROUP, Dimension.AGENT, Dimension.HELPDESK,
             Dimension.TAG}
# The key under which a breakdown by one of those also gives its total, each measurement once
# (a tag breakdown counts one under each of its ticket's tags): no value can hold a NUL, so it
# names no group.
TOTAL = "\x00total"
VERDICTS = list(Csat)  # a rating's verdict is packed as its index here


def epoch(dialect: str, column: ColumnElement[datetime]) -> ColumnElement[float]:
    """POSIX seconds of a stored moment, computed by the database: far cheaper than datetimes."""
    if dialect == "sqlite":  # stored as text, 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC
        return cast(func.strftime("%s", column), Integer) + cast(func.substr(column, 20), Float)
    return cast(extract("epoch", column), Float)


def _flag(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return case((condition, 1), else_=0)


def _business_duration(values: np.ndarray, calendar: BusinessCalendar | None) -> None:
    """Durations: the moment each ended (read as the second number) becomes its length in
    business seconds (NaN without a calendar: nothing may read one)."""
    values[:, 1] = np.nan if calendar is None else business_durations(values[:, 0], values[:, 1], calendar)


def _business_wait(values: np.ndarray, calendar: BusinessCalendar | None) -> None:
    """SLA (created, first response, _): the third number becomes the answered tickets' wait in
    business seconds (metrics.sla.answered_business_waits)."""
    values[:, 2] = np.nan if calendar is None else answered_business_waits(values[:, 0], values[:, 1], calendar)


@dataclass(frozen=True)
class Measure:
    """Which rows count on a day (`where`, `moment` within the day) and the numbers kept of each."""

    name: str
    table: FromClause
    moment: ColumnElement[datetime]
    where: tuple[ColumnElement[bool], ...]
    values: Callable[[str], list[ColumnElement[Any]]]  # per dialect
    extra: tuple[ColumnElement[Any], ...] = ()  # attributes kept after DIMS (a tag), for the metric only
    # fills in what depends on the business calendar, in place, once the rows are read
    business: Callable[[np.ndarray, BusinessCalendar | None], None] | None = None
    # only how many rows count (a message a row): kept as one row per attribute tuple with its number
    tallied: bool = False
    # the measure keeping the same rows with the ticket's tag set, when this one keeps them without
    # (a tally has a row per attribute combination: with tag sets, about six times as many)
    with_tags: str | None = None

    @property
    def dims(self) -> list[ColumnElement[Any]]:
        return [*(DIMS if self.with_tags is None else UNTAGGED_DIMS), *self.extra]

    @cached_property
    def width(self) -> int:
        """The numbers a row keeps (in every dialect): a tallied measure's one is how many
        measurements it stands for."""
        return 1 if self.tallied else len(self.values("sqlite"))


def _previous_span(column: str, *, reopen: bool = False) -> ColumnElement[datetime]:
    """A moment of the ticket's span before this one (for counting each ticket once per period);
    with `reopen`, only when that span was itself a reopening."""
    previous = S.alias("previous")
    where = [previous.c.ticket_key == S.c.ticket_key, previous.c.seq == S.c.seq - 1]
    if reopen:
        where.append(previous.c.seq > 0)
    return select(previous.c[column]).where(*where).scalar_subquery()


def _previous_reply(*, same_author: bool) -> ColumnElement[datetime]:
    """When the ticket's agent reply before this one was sent (with `same_author`: this author's
    own reply before it), so a ticket is counted once per period: at its first reply in it.
    A ticket's messages are numbered in time order (metrics.tickets.fold_ticket)."""
    previous = M.alias("previous_reply")
    where = [previous.c.ticket_key == M.c.ticket_key, previous.c.seq < M.c.seq, previous.c.role == Role.AGENT.value]
    if same_author:
        where.append(previous.c.author == M.c.author)
    return select(func.max(previous.c.at)).where(*where).scalar_subquery()


def _rater() -> ColumnElement[str]:
    """Who a rating is credited to: the agent the helpdesk names on it, else the assignee."""
    return func.coalesce(T.c.csat_agent_id, T.c.assignee_id, T.c.assignee_name)


def _agent_measures(verdict: ColumnElement[int]) -> list[Measure]:
    """The work each agent did (metrics.agents), the agent kept after DIMS."""
    agent_reply = M.c.role == Role.AGENT.value
    return [
        # every agent reply, also without an author: the team's conversations count those too
        Measure("replies", M, M.c.at, (agent_reply,), lambda d: [
            epoch(d, _previous_reply(same_author=False)), epoch(d, _previous_reply(same_author=True))],
            extra=(M.c.author,)),
        Measure("closures", S, S.c.resolved_at, (S.c.resolved_by.is_not(None),), lambda d: [],
                extra=(S.c.resolved_by,)),
        # every first response, as "frt" has them: the team's median counts those nobody is named on
        Measure("first_responses", T, T.c.first_response_at, (T.c.first_response_seconds.is_not(None),),
                lambda d: [T.c.first_response_seconds], extra=(T.c.first_responder,)),
        Measure("ratings", T, T.c.rated_at, (T.c.csat.is_not(None), _rater().is_not(None)), lambda d: [verdict],
                extra=(_rater(),)),
    ]


def _measures() -> dict[str, Measure]:
    agent_reply, customer = M.c.role == Role.AGENT.value, M.c.role == Role.CUSTOMER.value
    verdict = case(*((T.c.csat == v.value, i) for i, v in enumerate(VERDICTS)))
    score = case((T.c.csat_scale == SCORE_SCALE, T.c.csat_score), else_=None)
    automated = (T.c.agent_replies == 0) & (T.c.bot_replies > 0)
    other = TAGGED.alias("other_tag")
    first_tag = select(func.min(other.c.tag)).where(other.c.ticket_key == TAGGED.c.ticket_key).scalar_subquery()
    found = [
        Measure("new", T, T.c.created_at, (), lambda d: [epoch(d, T.c.created_at)]),
        # each tag of a ticket created that day; the flag marks one per ticket (tagged tickets)
        Measure("tagged", TAGGED, T.c.created_at, (), lambda d: [_flag(TAGGED.c.tag == first_tag)],
                extra=(TAGGED.c.tag,)),
        # counted messages (migration 0015 renamed them from "incoming" and "outgoing", a row each),
        # for questions about tags also per tag set
        Measure("incoming_count", M, M.c.at, (customer,), lambda d: [], tallied=True, with_tags="incoming_by_tag"),
        Measure("incoming_by_tag", M, M.c.at, (customer,), lambda d: [], tallied=True),
        # A span resolved, opened or reopened in the period, with the moment its ticket's previous
        # span was: the ticket is counted once, at its first such span in the period.
        Measure("solved", S, S.c.resolved_at, (), lambda d: [epoch(d, _previous_span("resolved_at"))]),
        Measure("opened", S, S.c.opened_at, (), lambda d: [epoch(d, _previous_span("resolved_at"))]),
        Measure("reopened", S, S.c.opened_at, (S.c.seq > 0,),
                lambda d: [epoch(d, _previous_span("opened_at", reopen=True))]),
        Measure("outgoing_count", M, M.c.at, (agent_reply,), lambda d: [], tallied=True, with_tags="outgoing_by_tag"),
        Measure("outgoing_by_tag", M, M.c.at, (agent_reply,), lambda d: [], tallied=True),
        # durations: (seconds, business seconds, ...), the second read as the moment it ended
        Measure("frt", T, T.c.first_response_at, (T.c.first_response_seconds.is_not(None),),
                lambda d: [T.c.first_response_seconds, epoch(d, T.c.first_response_at)], business=_business_duration),
        Measure("response", M, M.c.at, (agent_reply, M.c.wait_seconds.is_not(None)),
                lambda d: [M.c.wait_seconds, epoch(d, M.c.at)], business=_business_duration),
        Measure("first_resolution", T, T.c.first_resolved_at, (T.c.first_resolution_seconds.is_not(None),),
                lambda d: [T.c.first_resolution_seconds, epoch(d, T.c.first_resolved_at)],
                business=_business_duration),
        Measure("full_resolution", T, T.c.last_resolved_at, (T.c.full_resolution_seconds.is_not(None),),
                lambda d: [T.c.full_resolution_seconds, epoch(d, T.c.last_resolved_at), T.c.agent_replies],
                business=_business_duration),
        Measure("csat", T, T.c.rated_at, (T.c.csat.is_not(None),), lambda d: [verdict, score]),
        Measure("outcomes", T, T.c.last_resolved_at, (T.c.is_resolved,),
                lambda d: [_flag(T.c.one_touch), _flag(T.c.abandoned), _flag(automated), _flag(T.c.reopens > 0)]),
        Measure("sla", T, T.c.created_at, (T.c.outbound.is_(False),),
                lambda d: [epoch(d, T.c.created_at), epoch(d, T.c.first_response_at), cast(null(), Float)],
                business=_business_wait),
        *_agent_measures(verdict),
    ]
    return {m.name: m for m in found}


MEASURES = _measures()


@dataclass
class Measured:
    """One group's measurements: a row each, a column per number of the measure; with `dims`,
    the distinct ticket attributes (DIMS order) and each row's position in them (`codes`)."""

    values: np.ndarray
    dims: list[tuple[str | None, ...]] | None = None
    codes: np.ndarray | None = None

    @property
    def count(self) -> int:
        return int(self.values.shape[0])


# --- reading ------------------------------------------------------------------------------


def measured(session: Session, measure: Measure, period: Period, by: Dimension | None,
             filters: Sequence[Filter], conditions: Sequence[ColumnElement[bool]], *, zone: ZoneInfo,
             calendar: BusinessCalendar | None = None, segments: Segments,
             with_dims: bool = False) -> dict[str, Measured] | None:
    """The period's measurements grouped by `by` (None: all under "all"; else also all of them
    under TOTAL, each once); whole days of `zone` built in it come from the daily measures (for
    business time, days built under `calendar`), the rest raw. None when the question needs what
    rollups lack (a segment with an organisation rule): the caller reads raw."""
    assert not measure.tallied, "a tallied measure's rows stand for many: read it with counted()"
    shape = _Shape.of(by, filters, segments)
    if shape is None:
        return None
    groups = _Groups(shape, with_dims)
    _read(session, measure, period, conditions, zone, calendar, groups)
    return groups.result(measure.width)


def counted(session: Session, measure: Measure, period: Period, by: Dimension | None,
            filters: Sequence[Filter], conditions: Sequence[ColumnElement[bool]], *, zone: ZoneInfo,
            calendar: BusinessCalendar | None = None, segments: Segments,
            test: Callable[[np.ndarray], np.ndarray] | None = None) -> dict[str, int] | None:
    """How many of what `measured` gives (only those whose numbers pass `test`) each group has,
    counted without gathering each group's rows; groups with none are absent."""
    shape = _Shape.of(by, filters, segments)
    if shape is None:
        return None
    if measure.with_tags is not None and shape.about_tags:
        measure = MEASURES[measure.with_tags]
    counts = _Counts(shape, measure.tallied, test)
    _read(session, measure, period, conditions, zone, calendar, counts)
    return dict(counts.counts)


def summed(session: Session, measure: Measure, period: Period, by: Dimension | None,
           filters: Sequence[Filter], conditions: Sequence[ColumnElement[bool]], *, zone: ZoneInfo,
           calendar: BusinessCalendar | None = None, segments: Segments,
           ) -> dict[str, np.ndarray] | None:
    """Per group: how many of what `measured` gives, then the sum of each of their numbers (flags:
    whole numbers, so exact), added up per attribute tuple like `counted`; groups with none are absent."""
    assert not measure.tallied, "a tallied measure's rows stand for many: read it with counted()"
    shape = _Shape.of(by, filters, segments)
    if shape is None:
        return None
    sums = _Sums(shape)
    _read(session, measure, period, conditions, zone, calendar, sums)
    return sums.sums


@dataclass(frozen=True)
class _Shape:
    """What sorts a question's rows into answer groups: its breakdown, its filters, and the
    segments (name, rules) those name, each segment made of tags alone."""

    by: Dimension | None
    filters: tuple[Filter, ...]
    segments: tuple[tuple[str, tuple[SegmentRule, ...]], ...]

    @classmethod
    def of(cls, by: Dimension | None, filters: Sequence[Filter], segments: Segments) -> _Shape | None:
        """None when the daily measures do not carry what the question groups or filters by: an
        organisation, in a segment it names."""
        named: set[str] = set()
        for dimension, value in [(by, None), *((f.dimension, f.value.casefold()) for f in filters)]:
            if dimension is Dimension.SEGMENT:
                named |= set(segments.rules) if value in (None, NONE) else {value} & set(segments.rules)
            elif dimension is not None and dimension not in ROLLED_UP:
                return None
        if any(rule.field != "tag" for name in named for rule in segments.rules[name]):
            return None
        return cls(by, tuple(filters), tuple((name, segments.rules[name]) for name in segments.rules if name in named))

    @property
    def about_tags(self) -> bool:
        """Whether it groups or filters by tags (segments are made of them)."""
        return any(d in SEVERAL_KEYS for d in (self.by, *(f.dimension for f in self.filters)))


def _read(session: Session, measure: Measure, period: Period, conditions: Sequence[ColumnElement[bool]],
          zone: ZoneInfo, calendar: BusinessCalendar | None, into: _Groups | _PerTuple) -> None:
    """Hands the period's built days and raw stretches to `into`."""
    calendar = calendar if measure.business is not None else None
    built, raw_ranges = _plan(session, period, zone, calendar)
    if built:
        days = _from_stretch(session, measure, period, zone, calendar) or _DaysRead.of(session, measure, built)
        into.dims = days.dims.copy()  # the tuples the read's codes name
        missing, codes, packed = days.rows(built)
        # a day built by a release that did not keep this measure (replicas mid-upgrade), or built
        # since a stretch was read: read raw
        raw_ranges = raw_ranges + [(_midnight(day, zone), _midnight(day + timedelta(days=1), zone))
                                   for day in missing]
        del days  # a year's rows: each array of them counts against the memory target
        if len(packed):
            into.add_packed(codes, packed)
    for start, end in raw_ranges:
        for dims, values in _raw(session, measure, start, end, conditions, calendar).items():
            into.add_raw(dims, values)


@dataclass
class _DaysRead:
    """One measure's packed rows of some built days, in day order, with their attribute codes
    (positions in `dims`, the stored tuples when it was read) and where each day's rows are."""

    where: dict[date, tuple[int, int]]
    codes: np.ndarray
    packed: np.ndarray
    dims: _Dims  # what the codes are positions in

    @classmethod
    def of(cls, session: Session, measure: Measure, days: list[date]) -> _DaysRead:
        expected = _day_rows(session, measure.name, days)
        where, packed = _unpacked(_packed_days(session, measure.name, days), expected, measure.width)
        ids = packed[:, 0].astype(np.int32)
        dims = _stored_dims(session)
        if len(ids) and ids.max() >= len(dims.by_id):  # a day built since this question began
            dims = _stored_dims(session, fresh=True)
        return cls(where, dims.by_id[ids], packed, dims)

    def rows(self, days: list[date]) -> tuple[list[date], np.ndarray, np.ndarray]:
        """The days not in this read, then the codes and rows of the others (the arrays themselves
        when that is all of them: a year read at once is not copied)."""
        missing = [day for day in days if day not in self.where]
        ranges: list[list[int]] = []
        for a, b in sorted(self.where[day] for day in days if day in self.where):
            if ranges and ranges[-1][1] == a:
                ranges[-1][1] = b  # days next to each other in the read are one stretch of rows
            else:
                ranges.append([a, b])
        if len(ranges) == 1:
            a, b = ranges[0]
            return missing, self.codes[a:b], self.packed[a:b]
        return (missing, np.concatenate([self.codes[a:b] for a, b in ranges] or [np.empty(0, np.int32)]),
                np.concatenate([self.packed[a:b] for a, b in ranges] or [self.packed[:0]]))


_STRETCH = "rollup_stretch"


@contextmanager
def read_days_once(session: Session, start: datetime, end: datetime) -> Iterator[None]:
    """While it lasts, a read of a period within [start, end) takes its built days from one read of
    all of that stretch's built days per measure, kept for the next period: a year by week is one
    read of each measure instead of 52. Within a stretch already being read, nothing changes."""
    outer = session.info.get(_STRETCH)
    if reads_once(session, start, end):
        yield
        return
    session.info[_STRETCH] = (start, end, {})
    try:
        yield
    finally:
        if outer is None:
            session.info.pop(_STRETCH, None)
        else:
            session.info[_STRETCH] = outer


@contextmanager
def read_alongside(session: Session, reader: Session) -> Iterator[None]:
    """While it lasts, `session` (on another thread) reads the periods within `reader`'s
    `read_days_once` stretch as `reader` does, from the same reads: a breakdown's second lane takes
    its slices from the period its first lane read for the total. The read arrays are never
    written to; either session may add a measure's read for both."""
    stretch = reader.info.get(_STRETCH)
    if stretch is None or _STRETCH in session.info:
        yield
        return
    session.info[_STRETCH] = stretch
    try:
        yield
    finally:
        session.info.pop(_STRETCH, None)


def reads_once(session: Session, start: datetime, end: datetime) -> bool:
    """Whether [start, end) lies within the stretch `read_days_once` reads on this session."""
    stretch = session.info.get(_STRETCH)
    return stretch is not None and stretch[0] <= start <= end <= stretch[1]


def _from_stretch(session: Session, measure: Measure, period: Period, zone: ZoneInfo,
                  calendar: BusinessCalendar | None) -> _DaysRead | None:
    """The built days of `read_days_once`'s stretch, read once, when `period` lies within it."""
    if not reads_once(session, period.start, period.end):
        return None
    start, end, done = session.info[_STRETCH]
    key = (measure.name, calendar.fingerprint if calendar is not None else None)
    if key not in done:
        built, _ = _plan(session, Period(start, end, "stretch"), zone, calendar)
        done[key] = _DaysRead.of(session, measure, built) if built else None
    return done[key]  # type: ignore[no-any-return]


def _packed_days(session: Session, name: str, days: list[date]) -> Iterator[tuple[date, bytes]]:
    """(day, packed rows) of one measure on those days, one day at a time: a year of them is tens
    of MB, which never sit in memory as bytes all at once. The driver's own cursor: a year is
    thousands of rows, and each row through the ORM costs more than reading its bytes."""
    wanted, first, last = set(days), min(days), max(days)
    driver = session.connection().connection.dbapi_connection
    assert driver is not None
    if session.get_bind().dialect.name == "postgresql":
        # psycopg reads bytea as hex text unless asked for binary: binary halves a year's read
        with driver.cursor(binary=True) as cursor:  # type: ignore[call-arg]
            found = cursor.stream("SELECT day, data FROM daily_measures WHERE measure = %s AND day BETWEEN %s AND %s "
                                  "ORDER BY day", (name, first, last), size=_days_per_message())
            yield from ((day, data) for day, data in found if day in wanted)
        return
    cursor = driver.cursor()
    try:  # SQLite keeps a Date as its ISO text (sqlalchemy's Date on SQLite)
        cursor.execute("SELECT day, data FROM daily_measures WHERE measure = ? AND day BETWEEN ? AND ? ORDER BY day",
                       (name, first.isoformat(), last.isoformat()))
        for text, data in cursor:
            if (day := date.fromisoformat(text)) in wanted:
                yield day, data
    finally:
        cursor.close()


def _days_per_message() -> int:
    """Days psycopg hands over at a time: one each cost ~75 us in the driver (a year by week read
    2,000 of them); libpq before 17 can only stream one row at a time."""
    from psycopg import pq  # here: psycopg comes with the postgres extra only

    return 16 if pq.version() >= 170000 else 1


def _day_rows(session: Session, name: str, days: list[date]) -> dict[date, int]:
    """How many packed rows one measure has on each of those days (read without their bytes)."""
    wanted = set(days)
    found = session.execute(select(DailyMeasure.day, DailyMeasure.rows).where(
        DailyMeasure.measure == name, DailyMeasure.day.between(min(days), max(days))))
    return {day: rows for day, rows in found if day in wanted}


def _unpacked(found: Iterable[tuple[date, bytes]], expected: dict[date, int], width: int,
              ) -> tuple[dict[date, tuple[int, int]], np.ndarray]:
    """Where each day found has its rows, and the days' packed rows one after the other, copied
    into one array sized by `expected` (each day's rows, read just before). A day rebuilt in
    between by another process does not fit its place: it is put after the others."""
    packed = np.empty((sum(expected.values()), width + 1))
    where: dict[date, tuple[int, int]] = {}
    rebuilt: list[tuple[date, np.ndarray]] = []
    row = 0
    for day, data in found:
        rows = np.frombuffer(data, dtype=np.float64).reshape(-1, width + 1)
        if expected.get(day) == len(rows) and row + len(rows) <= len(packed):
            packed[row:row + len(rows)] = rows
            where[day] = (row, row + len(rows))
            row += len(rows)
        else:
            rebuilt.append((day, rows))
    if row == len(packed) and not rebuilt:
        return where, packed
    filled = packed[:row]
    for day, rows in rebuilt:
        where[day] = (row, row + len(rows))
        row += len(rows)
    return where, np.concatenate([filled, *(rows for _, rows in rebuilt)])


class _Dims:
    """Ticket attribute tuples numbered by position: the stored ones (also by their measure_dims
    id), shared by every copy, then those a read numbers for its raw rows (`more`)."""

    def __init__(self, stored: list[tuple[str | None, ...]] | None = None, by_id: np.ndarray | None = None,
                 shared: _Shared | None = None) -> None:
        self.stored = stored if stored is not None else []  # never added to
        self.by_id = by_id if by_id is not None else np.full(1, -1, dtype=np.int32)
        # what is worked out of the stored tuples: shared by every copy, so once per process
        self.shared = shared if shared is not None else _Shared(self.stored)
        self.more: list[tuple[str | None, ...]] = []
        self._more_numbers: dict[tuple[str | None, ...], int] = {}

    @classmethod
    def of(cls, stored: Sequence[tuple[int, tuple[str | None, ...]]]) -> _Dims:
        by_id = np.full(max((i for i, _ in stored), default=0) + 1, -1, dtype=np.int32)
        by_id[[i for i, _ in stored]] = np.arange(len(stored), dtype=np.int32)
        return cls([dims for _, dims in stored], by_id)

    def copy(self) -> _Dims:
        """One for a read, which may number raw rows' tuples too (what it shares is only read)."""
        return _Dims(self.stored, self.by_id, self.shared)

    @property
    def size(self) -> int:
        return len(self.stored) + len(self.more)

    def tuples(self) -> list[tuple[str | None, ...]]:
        """Every tuple, by its number: the stored list itself (never to be changed) when this read
        numbered none, so that every slice of a period names the same list."""
        return self.stored + self.more if self.more else self.stored

    def number(self, dims: tuple[str | None, ...]) -> int:
        found = self.shared.numbers.get(dims)
        if found is None:
            found = self._more_numbers.get(dims)
        if found is None:
            found = self._more_numbers[dims] = self.size
            self.more.append(dims)
        return found

    def grouped(self, shape: _Shape) -> _Grouping:
        """Which answer groups each tuple falls in, for a question of that shape."""
        return self.shared.grouped(shape).extended(self.more, shape)


class _Shared:
    """What is worked out of the stored tuples, each once: their numbers, their attributes as
    columns, and per question shape their groups (a bounded few: typed filters are many)."""

    def __init__(self, tuples: list[tuple[str | None, ...]]) -> None:
        self.tuples = tuples
        self._groupings: dict[_Shape, _Grouping] = {}

    @cached_property
    def numbers(self) -> dict[tuple[str | None, ...], int]:
        return {dims: i for i, dims in enumerate(self.tuples)}

    @cached_property
    def columns(self) -> dict[int | str, tuple[np.ndarray, list[Any]]]:
        """Per attribute (a position in DIMS, or _AGENT): each tuple's index among the distinct
        values there, and those values, so that a question looks at each distinct value once."""
        width = _TAG_SET + 1  # tuples without a tag set (see _at) end before it
        padded = [dims if len(dims) >= width else dims + (None,) * (width - len(dims)) for dims in self.tuples]
        found: dict[int | str, list[Any]] = {column: list(map(itemgetter(column), padded)) for column in range(width)}
        found[_AGENT] = [id_ if id_ is not None else name for id_, name in zip(found[3], found[4], strict=True)]
        return {column: _factorized(values) for column, values in found.items()}

    def grouped(self, shape: _Shape) -> _Grouping:
        found = self._groupings.get(shape)
        if found is None:
            if len(self._groupings) >= _GROUPINGS_KEPT:
                self._groupings.clear()
            found = self._groupings[shape] = _Grouping.of_columns(self.columns, len(self.tuples), shape)
        return found


def _factorized(values: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """Each value's index among the distinct ones, and those (in order of first appearance)."""
    distinct = list(dict.fromkeys(values))
    index = {value: i for i, value in enumerate(distinct)}
    return np.array(list(map(index.__getitem__, values)), dtype=np.int32), distinct


_GROUPINGS_KEPT = 256


@dataclass(frozen=True)
class _Grouping:
    """The answer groups (`names`) and which of them each attribute tuple falls in: tuple i's are
    `groups[first[i]:first[i] + count[i]]`, none when the filters leave it out. A tuple falls in
    one group, or in several for tags and segments (a ticket counts under each of its tags). One
    entry more than there are tuples, in no group, for rows whose attributes are unknown (-1)."""

    names: list[str]
    count: np.ndarray  # int32
    first: np.ndarray  # intp
    groups: np.ndarray  # int32

    @classmethod
    def of(cls, names: list[str], count: np.ndarray, groups: np.ndarray) -> _Grouping:
        """From how many groups each tuple falls in and those groups, one tuple after another."""
        count = np.concatenate([count, [0]]).astype(np.int32)  # rows whose attributes are unknown: none
        return cls(names, count, np.concatenate([[0], np.cumsum(count[:-1])]).astype(np.intp), groups)

    @classmethod
    def of_lists(cls, names: list[str], lists: Sequence[list[int]]) -> _Grouping:
        return cls.of(names, np.array([len(found) for found in lists], dtype=np.int32),
                      np.array([g for found in lists for g in found], dtype=np.int32))

    @classmethod
    def of_columns(cls, columns: dict[int | str, tuple[np.ndarray, list[Any]]], size: int,
                   shape: _Shape) -> _Grouping:
        """For `size` tuples given as columns (_Shared.columns): each distinct value is looked at
        once (its groups: a grouping of the values), then numpy gives each tuple its value's."""
        kept = np.logical_and.reduce([np.ones(size, dtype=bool)] + [
            _Test.of(f, shape).holds_for(columns) for f in shape.filters])
        column = _key_column(shape)
        codes, values = columns[column] if column is not None else (np.zeros(size, dtype=np.int32), [None])
        names: dict[str, int] = {}
        by_value = cls.of_lists([], [[names.setdefault(key, len(names)) for key in _keys_of(shape, value)]
                                        for value in values])
        tuples, groups = by_value.row_groups(np.where(kept, codes, -1))  # a filtered-out tuple: no value's groups
        order = np.argsort(tuples, kind="stable")  # each tuple's groups next to each other, tuples in order
        return cls.of(list(names), np.bincount(tuples, minlength=size), groups[order])

    def extended(self, tuples: Sequence[tuple[str | None, ...]], shape: _Shape) -> _Grouping:
        """The same, for these tuples numbered after the ones it has (a read's own: a few)."""
        if not tuples:
            return self
        tests, names = [_Test.of(f, shape) for f in shape.filters], list(self.names)
        position = {name: i for i, name in enumerate(names)}
        more = _Grouping.of_lists([], [[position.setdefault(key, len(position)) for key in _keys(shape, dims)]
                                          if all(test.holds(dims) for test in tests) else [] for dims in tuples])
        names.extend(list(position)[len(names):])
        return _Grouping.of(names, np.concatenate([self.count[:-1], more.count[:-1]]),
                            np.concatenate([self.groups, more.groups]))

    @property
    def single(self) -> bool:
        """Every tuple kept, all in one group (no breakdown, no filter that leaves any out)."""
        return len(self.names) == 1 and bool((self.count[:-1] == 1).all())

    @cached_property
    def lookup(self) -> np.ndarray | None:
        """Each tuple's one group (-1: none), unless a tuple falls in several."""
        if self.count.max(initial=0) > 1:
            return None
        lookup = np.full(len(self.count), -1, dtype=np.int32)
        lookup[self.count == 1] = self.groups
        return lookup

    def row_groups(self, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For rows of these tuple codes: each row as often as its tuple has groups (its index),
        with each of those groups; a pass per nth group of a tuple (tickets carry a few tags)."""
        count, first = self.count[codes], self.first[codes]
        rows, groups = [], []
        for nth in range(int(count.max(initial=0))):
            has = np.flatnonzero(count > nth)
            rows.append(has)
            groups.append(self.groups[first[has] + nth])
        if not rows:
            return np.empty(0, dtype=np.intp), np.empty(0, dtype=np.int32)
        return np.concatenate(rows), np.concatenate(groups)


_DIMS_READ: dict[str, tuple[int, int, list[tuple[int, tuple[str | None, ...]]], _Dims]] = {}


def _stored_dims(session: Session, *, fresh: bool = False) -> _Dims:
    """Every stored attribute tuple, once per question (a session answers one). Rows are only
    ever added, so the process keeps what it decoded and reads the newer ids alone."""
    if "measure_dims" in session.info and not fresh:
        return session.info["measure_dims"].copy()  # type: ignore[no-any-return]
    url = session.get_bind().url.render_as_string(hide_password=True)
    count, last = session.execute(select(func.count(), func.coalesce(func.max(MeasureDims.id), 0))).one()
    seen_count, seen_last, rows, dims = _DIMS_READ.get(url, (0, 0, [], _Dims()))
    if count < seen_count or last < seen_last:  # the table was emptied (a new database): start over
        seen_count, seen_last, rows, dims = 0, 0, [], _Dims()
    if (count, last) != (seen_count, seen_last):
        rows = rows + _dims_rows(session, MeasureDims.id > seen_last)
        if len(rows) != count:  # an id below the last one committed late: read them all
            rows = _dims_rows(session)
        dims = _Dims.of(rows)
        _DIMS_READ[url] = (count, last, rows, dims)
    session.info["measure_dims"] = dims
    return dims.copy()


def _dims_rows(session: Session, *where: ColumnElement[bool]) -> list[tuple[int, tuple[str | None, ...]]]:
    found = session.execute(select(MeasureDims.id, MeasureDims.key).where(*where).order_by(MeasureDims.id)).all()
    # one JSON document of them all: tens of thousands of keys decode far faster than one at a time
    keys = json.loads("[" + ",".join(key for _, key in found) + "]")
    # each distinct value held once: decoded, every tuple had its own copy of "email" (tens of MB)
    values: dict[str | None, str | None] = {}
    return [(i, tuple(map(values.setdefault, key, key))) for (i, _), key in zip(found, keys, strict=True)]


def _plan(session: Session, period: Period, zone: ZoneInfo,
          calendar: BusinessCalendar | None) -> tuple[list[date], list[tuple[datetime, datetime]]]:
    """The whole days of `zone` in the period that can be read from daily measures (built in that
    zone; with a calendar, under it too), and the stretches (edges, unbuilt, stale days) to read
    raw: once per question (a session answers one), so all its measures read the same days."""
    asked = ("rollup_plan", period.start, period.end, zone.key, calendar.fingerprint if calendar is not None else None)
    if asked not in session.info:
        days = whole_days(period.start, period.end, zone)
        stretch = session.info.get(_STRETCH)
        if days and reads_once(session, period.start, period.end) \
                and (stretch[0], stretch[1]) != (period.start, period.end):  # a slice: its days are the stretch's
            usable = set(_plan(session, Period(stretch[0], stretch[1], "stretch"), zone, calendar)[0])
        else:
            usable = _usable_days(session, days, zone, calendar)
        session.info[asked] = _planned(period, [day for day in days if day in usable], zone)
    return session.info[asked]  # type: ignore[no-any-return]


def _usable_days(session: Session, days: list[date], zone: ZoneInfo, calendar: BusinessCalendar | None) -> set[date]:
    """Those of `days` built in `zone` (with a calendar, under it) and not stale since."""
    if not days:
        return set()
    built = set(session.scalars(select(RollupDay.day).where(
        RollupDay.day >= days[0], RollupDay.day <= days[-1], RollupDay.zone == zone.key, RollupDay.layout == LAYOUT,
        *([RollupDay.calendar == calendar.fingerprint] if calendar is not None else []))))
    return built - _stale_days(session, days[0], days[-1], zone)


def _planned(period: Period, usable: list[date], zone: ZoneInfo) -> tuple[list[date], list[tuple[datetime, datetime]]]:
    """The usable days (in order), and the stretches of the period between them, to read raw."""
    raw, cursor = [], period.start
    for day in usable:
        if cursor < _midnight(day, zone):
            raw.append((cursor, _midnight(day, zone)))
        cursor = _midnight(day + timedelta(days=1), zone)
    if cursor < period.end:
        raw.append((cursor, period.end))
    return usable, raw


def whole_days(start: datetime, end: datetime, zone: ZoneInfo) -> list[date]:
    """The days of `zone` that lie wholly within [start, end)."""
    first = start.astimezone(zone).date()
    if _midnight(first, zone) < start:
        first += timedelta(days=1)
    last = end.astimezone(zone).date() - timedelta(days=1)  # the day `end` falls on is not whole
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _stale_days(session: Session, first: date, last: date, zone: ZoneInfo) -> set[date]:
    """The days of `zone` from `first` to `last` that a stale mark overlaps."""
    start, end = _midnight(first, zone), _midnight(last + timedelta(days=1), zone)
    marks = session.execute(select(StaleSpan.starts_at, StaleSpan.ends_at).distinct().where(
        StaleSpan.starts_at < end, StaleSpan.ends_at > start))
    days: set[date] = set()
    for starts_at, ends_at in marks:
        day, stop = max(starts_at, start).astimezone(zone).date(), min(ends_at, end)
        while _midnight(day, zone) < stop:
            days.add(day)
            day += timedelta(days=1)
    return days


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    """The instant a day of `zone` starts (as periods start it: metrics.periods.local), in UTC."""
    return local(day, zone).astimezone(UTC)


_DIM_INDEX = {Dimension.CHANNEL: 0, Dimension.PRIORITY: 1, Dimension.GROUP: 2, Dimension.HELPDESK: 5}
_TAG_SET = 6  # a tuple's tickets.tag_set
_AGENT = "agent"  # the assignee's id, else name (as storage.figures groups by agent)


def _at(dims: tuple[str | None, ...], column: int | str) -> str | None:
    """A tuple's attribute (a position in DIMS, or _AGENT); None past a tuple's end: the message
    counts kept without tags end before the tag set (only questions not about tags read them),
    and so do tuples an older release stored (layout 1: no day read names them)."""
    if column == _AGENT:
        return dims[3] if dims[3] is not None else dims[4]
    assert isinstance(column, int)
    return dims[column] if len(dims) > column else None


@dataclass(frozen=True)
class _Test:
    """A filter on tuples, as storage.figures applies it in SQL: `passes` of the attribute in any
    (with `every`: in every) one of `columns`."""

    columns: tuple[int | str, ...]
    passes: Callable[[str | None], bool]
    every: bool = False

    @classmethod
    def of(cls, f: Filter, shape: _Shape) -> _Test:
        wanted = f.value.casefold()
        none = wanted == NONE
        if f.dimension is Dimension.AGENT:  # the assignee's id or name matches; none: neither is known
            return cls((3, 4), _is_none, every=True) if none else cls((3, 4), _equals(wanted))
        if f.dimension is Dimension.TAG:
            return cls((_TAG_SET,), lambda v: not _tag_set(v) if none else
                       any(tag.lower() == wanted for tag in _tag_set(v)))
        if f.dimension is Dimension.SEGMENT:
            return cls((_TAG_SET,), lambda v: not _segments_of(shape, v) if none else wanted in _segments_of(shape, v))
        return cls((_DIM_INDEX[f.dimension],), _is_none if none else _equals(wanted))

    def holds(self, dims: tuple[str | None, ...]) -> bool:
        found = (self.passes(_at(dims, column)) for column in self.columns)
        return all(found) if self.every else any(found)

    def holds_for(self, columns: dict[int | str, tuple[np.ndarray, list[Any]]]) -> np.ndarray:
        """Whether it holds, for every tuple of those columns at once."""
        found = [np.array([self.passes(v) for v in values], dtype=bool)[codes]
                 for codes, values in (columns[c] for c in self.columns)]
        return np.logical_and.reduce(found) if self.every else np.logical_or.reduce(found)


def _is_none(value: str | None) -> bool:
    return value is None


def _equals(wanted: str) -> Callable[[str | None], bool]:
    return lambda value: value is not None and value.lower() == wanted


def _key_column(shape: _Shape) -> int | str | None:
    """The attribute a question's groups come from (None: no breakdown)."""
    if shape.by is None:
        return None
    if shape.by in (Dimension.TAG, Dimension.SEGMENT):
        return _TAG_SET
    return _AGENT if shape.by is Dimension.AGENT else _DIM_INDEX[shape.by]


def _keys_of(shape: _Shape, value: str | None) -> list[str]:
    """The answer groups rows count under whose attribute `_key_column` is `value`
    (metrics.dimensions.keys_of)."""
    if shape.by is None:
        return ["all"]
    if shape.by is Dimension.TAG:
        return list(_tag_set(value)) or [NONE]
    if shape.by is Dimension.SEGMENT:
        return _segments_of(shape, value) or [NONE]
    return [value or NONE]


def _keys(shape: _Shape, dims: tuple[str | None, ...]) -> list[str]:
    column = _key_column(shape)
    return _keys_of(shape, None if column is None else _at(dims, column))


def _segments_of(shape: _Shape, stored: str | None) -> list[str]:
    """The segments (of those the question names) tickets with this tag set are in: each is made of tags."""
    tags = _tag_set(stored)
    return [name for name, rules in shape.segments if any(rule.value in tags for rule in rules)]


@lru_cache(maxsize=4096)
def _tag_set(stored: str | None) -> tuple[str, ...]:
    """The tags of tickets.tag_set (storage.tables.tag_set)."""
    if stored is None:
        return ()
    try:
        found = json.loads(stored)
    except ValueError:  # an extra attribute of a tuple an older release stored (layout 1): no day read names it
        return ()
    return tuple(str(tag) for tag in found) if isinstance(found, list) else ()


class _Groups:
    """Measurements collected per answer group (the `by` key) from packed days and raw stretches."""

    def __init__(self, shape: _Shape, with_dims: bool) -> None:
        self.shape, self.with_dims, self.dims = shape, with_dims, _Dims()
        self.values: dict[str, list[np.ndarray]] = defaultdict(list)
        self.codes: dict[str, list[np.ndarray]] = defaultdict(list)

    def add_packed(self, codes: np.ndarray, packed: np.ndarray) -> None:
        """Packed rows (their numbers after the first column) whose attributes are
        `dims.tuples()[code]`, filtered here (the days hold every ticket)."""
        grouping = self.dims.grouped(self.shape)
        if grouping.single and (not len(codes) or codes.min() >= 0):
            self._take(grouping.names[0], codes, packed[:, 1:])  # every row in one group
            return
        if grouping.lookup is None:
            self._add_to_several(grouping, codes, packed)
            return
        names = grouping.names
        # small numbers sort by radix
        row_group = grouping.lookup.astype(np.int16 if len(names) < 2 ** 15 - 1 else np.intp)[codes]
        # one stable sort by group, then each group is a slice of it
        order = np.argsort(row_group, kind="stable")
        values = np.take(packed, order, axis=0)[:, 1:]  # whole rows: the fastest copy
        codes = codes[order] if self.with_dims else codes  # without dims, codes are never kept
        del order
        bounds = np.cumsum(np.bincount(row_group + 1, minlength=len(names) + 1)).tolist()  # rows left out first
        for i, name in enumerate(names):
            self._take(name, codes[bounds[i]:bounds[i + 1]], values[bounds[i]:bounds[i + 1]], total=False)
        if self.shape.by is not None:
            self._take(TOTAL, codes[bounds[0]:], values[bounds[0]:], total=False)

    def _add_to_several(self, grouping: _Grouping, codes: np.ndarray, packed: np.ndarray) -> None:
        """Rows whose tuples may fall in several groups (tags): each row copied into each of its
        groups, sorted by group in one stable sort; the total takes each kept row once."""
        rows, row_group = grouping.row_groups(codes)
        order = np.argsort(row_group.astype(np.int16) if len(grouping.names) < 2 ** 15 else row_group, kind="stable")
        rows = rows[order]
        bounds = np.cumsum(np.bincount(row_group, minlength=len(grouping.names))).tolist()
        del order, row_group
        values, row_codes = np.take(packed, rows, axis=0)[:, 1:], codes[rows]
        del rows
        for name, a, b in zip(grouping.names, [0, *bounds], bounds, strict=False):
            self._take(name, row_codes[a:b], values[a:b], total=False)
        del values, row_codes
        kept = grouping.count[codes] > 0
        if kept.all():  # no filter left any out: the rows as they are, not a copy of a year of them
            self._take(TOTAL, codes, packed[:, 1:], total=False)
        else:
            self._take(TOTAL, codes[kept], packed[kept, 1:], total=False)

    def add_raw(self, dims: tuple[str | None, ...], values: np.ndarray) -> None:
        """Rows of one attribute tuple the filters were applied to in SQL."""
        codes = np.full(values.shape[0], self.dims.number(dims), dtype=np.int32)
        for key in _keys(self.shape, dims):
            self._take(key, codes, values, total=False)
        if self.shape.by is not None:
            self._take(TOTAL, codes, values, total=False)

    def _take(self, name: str, codes: np.ndarray, values: np.ndarray, *, total: bool = True) -> None:
        """Rows of group `name`, and of the breakdown's TOTAL unless they are given to it apart."""
        if not values.shape[0]:
            return
        for each in (name, TOTAL) if total and self.shape.by is not None else (name,):
            self.values[each].append(values)
            if self.with_dims:
                self.codes[each].append(codes)

    def result(self, width: int) -> dict[str, Measured]:
        dims = self.dims.tuples() if self.with_dims else None
        return {name: Measured(_joined(found, (0, width)), dims,
                               _joined(self.codes[name], (0,)) if self.with_dims else None)
                for name, found in self.values.items()}


class _PerTuple:
    """Numbers added up per answer group: no group's rows are gathered."""

    def __init__(self, shape: _Shape) -> None:
        self.shape, self.dims = shape, _Dims()

    def add_packed(self, codes: np.ndarray, packed: np.ndarray) -> None:
        self._add(codes, packed[:, 1:])

    def add_raw(self, dims: tuple[str | None, ...], values: np.ndarray) -> None:
        self._add(np.full(values.shape[0], self.dims.number(dims), dtype=np.int32), values)

    def _add(self, codes: np.ndarray, values: np.ndarray) -> None:
        raise NotImplementedError

    def _per_group(self, codes: np.ndarray, columns: list[np.ndarray | None]) -> Iterator[tuple[str, np.ndarray]]:
        """Rows' numbers (a column each; None: how many rows) added up per answer group the
        filters keep (a row's in each of its groups); in a breakdown, also under TOTAL (each kept
        row's once). Row by row, not tuple by tuple: a slice of a year by week has far fewer rows
        than there are tuples; a year's rows are not copied when every one of them is kept."""
        grouping = self.dims.grouped(self.shape)
        if grouping.lookup is not None:
            group = grouping.lookup[codes]
            kept = group >= 0
            rows = None if kept.all() else np.flatnonzero(kept)
            group = group if rows is None else group[rows]
        else:
            rows, group = grouping.row_groups(codes)
            kept = grouping.count[codes] > 0
        sums = np.stack([np.bincount(group, weights=None if c is None else c if rows is None else c[rows],
                                     minlength=len(grouping.names)).astype(np.float64) for c in columns], axis=1)
        yield from zip(grouping.names, sums, strict=True)
        if self.shape.by is not None:
            every = bool(kept.all())
            yield TOTAL, np.array([float(np.count_nonzero(kept)) if c is None else c.sum() if every else c[kept].sum()
                                   for c in columns])


class _Counts(_PerTuple):
    """How many measurements each answer group has (a tallied row: as many as its number), of
    those passing `test`."""

    def __init__(self, shape: _Shape, tallied: bool, test: Callable[[np.ndarray], np.ndarray] | None) -> None:
        super().__init__(shape)
        self.tallied, self.test = tallied, test
        self.counts: dict[str, int] = defaultdict(int)

    def _add(self, codes: np.ndarray, values: np.ndarray) -> None:
        weights = values[:, 0] if self.tallied else None
        if self.test is not None:
            passed = self.test(values)
            weights = passed.astype(np.float64) if weights is None else weights * passed
        for key, (n,) in self._per_group(codes, [weights]):
            if n:
                self.counts[key] += int(n)  # whole numbers added up: exact


class _Sums(_PerTuple):
    """How many measurements each answer group has and the sum of each of their numbers."""

    def __init__(self, shape: _Shape) -> None:
        super().__init__(shape)
        self.sums: dict[str, np.ndarray] = {}

    def _add(self, codes: np.ndarray, values: np.ndarray) -> None:
        for key, sums in self._per_group(codes, [None, *values.T]):
            if sums[0]:
                self.sums[key] = self.sums.get(key, 0) + sums


def _joined(arrays: list[np.ndarray], empty: tuple[int, ...]) -> np.ndarray:
    """The arrays one after the other; a single one as it is (a year read at once is not copied)."""
    return arrays[0] if len(arrays) == 1 else np.concatenate(arrays) if arrays else np.empty(empty)


def _raw(session: Session, measure: Measure, start: datetime, end: datetime, conditions: Sequence[ColumnElement[bool]],
         calendar: BusinessCalendar | None) -> dict[tuple[str | None, ...], np.ndarray]:
    """Rows of one stretch straight from the tickets, grouped by their attributes."""
    dialect = session.get_bind().dialect.name
    values = measure.values(dialect)
    source = T if measure.table is T else measure.table.join(T, T.c.key == measure.table.c.ticket_key)
    dims = measure.dims
    where = (*measure.where, measure.moment >= start, measure.moment < end, T.c.removed.is_(None), *conditions)
    if measure.tallied:  # counted by the database: a day's messages are thousands of rows
        tallies = select(*dims, func.count()).select_from(source).where(*where).group_by(*dims)
        return {tuple(row[:-1]): np.array([[float(row[-1])]]) for row in session.execute(tallies)}
    rows: dict[tuple[str | None, ...], list[Sequence[Any]]] = defaultdict(list)
    for row in session.execute(select(*dims, *values).select_from(source).where(*where)):
        rows[tuple(row[:len(dims)])].append(row[len(dims):])
    return {dims: read(measure, found, len(values), calendar) for dims, found in rows.items()}


def read(measure: Measure, rows: Sequence[Sequence[Any]], width: int, calendar: BusinessCalendar | None) -> np.ndarray:
    """The numbers of rows as the measure's query gave them, in the form daily measures keep."""
    values = matrix(rows, width)
    if measure.business is not None and values.shape[0]:
        measure.business(values, calendar)
    return values


def matrix(rows: Sequence[Sequence[Any]], width: int) -> np.ndarray:
    if width == 0:
        return np.empty((len(rows), 0))
    return np.array(rows, dtype=np.float64).reshape(-1, width)  # NULL (None) becomes NaN


# --- building -------------------------------------------------------------------------------


def mark_stale(session: Session, folded: Iterable[Ticket]) -> None:
    """Mark the UTC days changed tickets can have measurements on as stale stretches of time
    (called whenever tickets are stored): the days of any zone they overlap are read raw."""
    days = set().union(*(t.event_days for t in folded))
    midnights = [datetime.combine(day, time(), UTC) for day in sorted(days)]
    if midnights:
        session.connection().execute(StaleSpan.__table__.insert(), [
            {"starts_at": m, "ends_at": m + timedelta(days=1)} for m in midnights])


def build_day(session: Session, day: date, *, now: datetime, zone: ZoneInfo,
              calendar: BusinessCalendar | None = None) -> None:
    """(Re)build one finished day of `zone` from the tickets, clearing the stale marks over it
    read first; business time under `calendar`, in this release's LAYOUT."""
    if session.get_bind().dialect.name == "postgresql":  # replicas building one day take turns
        session.execute(select(func.pg_advisory_xact_lock(func.hashtext(f"rollup:{day.isoformat()}"))))
    start, end = _midnight(day, zone), _midnight(day + timedelta(days=1), zone)
    seen = session.execute(select(StaleSpan.id, StaleSpan.starts_at, StaleSpan.ends_at).where(
        StaleSpan.starts_at < end, StaleSpan.ends_at > start)).all()
    found = {measure.name: _raw(session, measure, start, end, (), calendar) for measure in MEASURES.values()}
    ids = _dim_ids(session, {dims for by_dims in found.values() for dims in by_dims})
    rows = []
    for measure in MEASURES.values():
        data = _pack([(ids[dims], values) for dims, values in found[measure.name].items()],
                     width=measure.width)
        rows.append({"measure": measure.name, "day": day, "rows": int(data.shape[0]), "data": data.tobytes()})
    session.execute(delete(DailyMeasure).where(DailyMeasure.day == day))
    session.execute(DailyMeasure.__table__.insert(), rows)
    session.execute(delete(RollupDay).where(RollupDay.day == day))
    session.execute(RollupDay.__table__.insert(), [{"day": day, "zone": zone.key, "built_at": now, "layout": LAYOUT,
                                                    "calendar": calendar.fingerprint if calendar else None}])
    _clear_marks(session, seen, start, end)


def _clear_marks(session: Session, seen: Sequence[Any], start: datetime, end: datetime) -> None:
    """Delete the marks seen over the day [start, end), putting back once each part of them
    outside it: the neighbouring days stay stale until they are built."""
    ids = [mark.id for mark in seen]
    for first in range(0, len(ids), 500):
        session.execute(delete(StaleSpan).where(StaleSpan.id.in_(ids[first:first + 500])))
    rest = {(mark.starts_at, start) for mark in seen if mark.starts_at < start}
    rest |= {(end, mark.ends_at) for mark in seen if mark.ends_at > end}
    if rest:
        session.execute(StaleSpan.__table__.insert(), [{"starts_at": a, "ends_at": b} for a, b in sorted(rest)])


def _pack(groups: list[tuple[int, np.ndarray]], *, width: int) -> np.ndarray:
    """One matrix: each row's measure_dims id, then its numbers."""
    if not groups:
        return np.empty((0, width + 1))
    return np.concatenate([np.column_stack([np.full(len(v), float(code)), v]) for code, v in groups])


def _dim_ids(session: Session, wanted: set[tuple[str | None, ...]]) -> dict[tuple[str | None, ...], int]:
    """The measure_dims id of each attribute tuple, adding the new ones (replicas may race: the
    unique key keeps one row per tuple)."""
    keys = {json.dumps(list(dims)): dims for dims in wanted}
    ids: dict[tuple[str | None, ...], int] = {}

    def look_up() -> None:
        missing = [key for key, dims in keys.items() if dims not in ids]
        for first in range(0, len(missing), 500):
            for i, key in session.execute(select(MeasureDims.id, MeasureDims.key)
                                          .where(MeasureDims.key.in_(missing[first:first + 500]))):
                ids[keys[key]] = i

    look_up()
    new = [{"key": key} for key, dims in keys.items() if dims not in ids]
    if new:
        session.execute(dialect_insert(session, MeasureDims).on_conflict_do_nothing(index_elements=["key"]), new)
        look_up()
    return ids


def build_missing(sessions: sessionmaker[Session], *, now: datetime, zone: ZoneInfo,
                  calendar: BusinessCalendar | None = None, limit: int | None = None,
                  progress: Callable[[int, int], None] | None = None) -> int:
    """Build the missing and stale finished days of `zone` (with a calendar, also those built
    under another), one transaction a day (short write locks); returns how many were built."""
    with unit_of_work(sessions) as session:
        days = days_to_build(session, now=now, zone=zone, calendar=calendar)[:limit]
    for done, day in enumerate(days, 1):
        with unit_of_work(sessions) as session:
            build_day(session, day, now=now, zone=zone, calendar=calendar)
        if progress is not None:
            progress(done, len(days))
    return len(days)


def days_to_build(session: Session, *, now: datetime, zone: ZoneInfo,
                  calendar: BusinessCalendar | None = None) -> list[date]:
    """Finished days of `zone` with tickets whose measures are missing or stale, or built in
    another zone, layout or under another business calendar than `calendar` (none: any will do),
    the most recent first."""
    earliest = session.scalar(select(func.min(T.c.created_at)))
    if earliest is None:
        return []
    last = now.astimezone(zone).date() - timedelta(days=1)
    first = earliest.astimezone(zone).date()
    if last < first:
        return []
    built = set(session.scalars(select(RollupDay.day).where(
        RollupDay.zone == zone.key, RollupDay.layout == LAYOUT,
        *([RollupDay.calendar == calendar.fingerprint] if calendar is not None else []))))
    stale = _stale_days(session, first, last, zone)
    wanted = [last - timedelta(days=i) for i in range((last - first).days + 1)]
    return [day for day in wanted if day not in built or day in stale]
