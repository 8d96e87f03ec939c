"""Periods: half-open time ranges in the team's time zone (docs/metrics.md, "Periods").

Calendar arithmetic only: no words (bot/grammar.py), no clock (`now` is always an argument).
Every boundary is a local midnight (or a local hour) converted to an instant, so a day across a
DST change is 23 or 25 hours long, as the team lived it.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo


class Unit(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


@dataclass(frozen=True)
class Period:
    """[start, end) in one time zone.

    `unit`/`count` say the period is `count` whole calendar units (a week, 7 days, a month);
    `to_date` marks a unit still running (`this week` ends at `now`). Both decide what the
    previous period is.
    """

    start: datetime
    end: datetime
    label: str
    unit: Unit | None = None
    count: int = 1
    to_date: bool = False

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("a period needs time-zone-aware bounds")
        if self.end < self.start:
            raise ValueError(f"a period cannot end ({self.end}) before it starts ({self.start})")

    @property
    def tz(self) -> ZoneInfo:
        return self.start.tzinfo  # type: ignore[return-value]

    @property
    def seconds(self) -> float:
        return _real(self.start, self.end).total_seconds()

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end

    def previous(self) -> Period:
        """The period just before, of equal length in the team's calendar (docs/metrics.md, "Change")."""
        if self.unit is None:
            length = _real(self.start, self.end)
            start = (self.start.astimezone(_UTC) - length).astimezone(self.tz)
            return Period(start, self.start, f"the {_span_words(length)} before")
        start = shift(self.start, self.unit, -self.count)
        if self.to_date:  # this month so far -> the same stretch of last month
            end = min(_local_plus(start, _wall_elapsed(self.start, self.end)), self.start)
            return Period(start, end, f"the same part of the {self.unit.value} before", self.unit, self.count, True)
        return Period(start, self.start, _previous_label(self.unit, self.count), self.unit, self.count)

    def shifted(self, unit: Unit, label: str) -> Period:
        """The same stretch one `unit` earlier (same period last week, month or year)."""
        start, end = shift(self.start, unit, -1), shift(self.end, unit, -1)
        return replace(self, start=start, end=end, label=label)


_UTC = ZoneInfo("UTC")


def _real(start: datetime, end: datetime) -> timedelta:
    """Elapsed time; subtracting two datetimes of one zone would give wall-clock time across DST."""
    return end.astimezone(_UTC) - start.astimezone(_UTC)


def local(day: date, tz: ZoneInfo, at: time = time()) -> datetime:
    """A local wall time as an instant. A time skipped by DST is read with the offset before the
    change (zoneinfo's fold=0): 02:30 on Berlin's spring-forward day is 03:30 summer time; a time
    that happens twice means its first occurrence."""
    moment = datetime.combine(day, at, tzinfo=tz)
    round_trip = moment.astimezone(ZoneInfo("UTC")).astimezone(tz)
    return round_trip if round_trip.replace(tzinfo=None) != moment.replace(tzinfo=None) else moment


def start_of(moment: datetime, unit: Unit, *, week_start: int = 0) -> datetime:
    """The local start of the hour/day/week/month/quarter/year containing `moment`."""
    tz = moment.tzinfo
    assert isinstance(tz, ZoneInfo), "periods are computed in a named time zone"
    if unit is Unit.HOUR:
        return moment.replace(minute=0, second=0, microsecond=0)
    day = moment.date()
    if unit is Unit.WEEK:
        day -= timedelta(days=(day.weekday() - week_start) % 7)
    elif unit is Unit.MONTH:
        day = day.replace(day=1)
    elif unit is Unit.QUARTER:
        day = day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)
    elif unit is Unit.YEAR:
        day = day.replace(month=1, day=1)
    return local(day, tz)


def shift(moment: datetime, unit: Unit, count: int) -> datetime:
    """`moment` moved by `count` units in local wall time (31 March minus a month is 28/29 February)."""
    tz = moment.tzinfo
    assert isinstance(tz, ZoneInfo), "periods are computed in a named time zone"
    if unit is Unit.HOUR:
        return (moment.astimezone(ZoneInfo("UTC")) + timedelta(hours=count)).astimezone(tz)
    if unit in (Unit.DAY, Unit.WEEK):
        day = moment.date() + timedelta(days=count * (7 if unit is Unit.WEEK else 1))
    else:
        months = count * {Unit.MONTH: 1, Unit.QUARTER: 3, Unit.YEAR: 12}[unit]
        day = _add_months(moment.date(), months)
    return local(day, tz, moment.time().replace(tzinfo=None))


def calendar_period(now: datetime, unit: Unit, *, back: int, label: str, week_start: int = 0) -> Period:
    """The unit containing `now` (back=0, up to now) or the whole unit `back` units earlier."""
    current = start_of(now, unit, week_start=week_start)
    if back == 0:
        return Period(current, now, label, unit, 1, to_date=True)
    start = shift(current, unit, -back)
    return Period(start, shift(start, unit, 1), label, unit, 1)


def last_units(now: datetime, unit: Unit, count: int, *, label: str, week_start: int = 0) -> Period:
    """`last N hours` ends now; `last N days/weeks/months` are N whole units ending before the current one."""
    if unit is Unit.HOUR:
        return Period(shift(now, Unit.HOUR, -count), now, label, unit, count)
    end = start_of(now, unit, week_start=week_start)
    return Period(shift(end, unit, -count), end, label, unit, count)


def earlier_weeks(period: Period, *, count: int, look_back: int,
                  skip: Container[date] = ()) -> list[Period]:
    """The same stretch of the week in up to `count` of the `look_back` weeks before, newest first;
    a stretch starting on a day in `skip` (a holiday) is left out. "Usual" values rest on these."""
    found = []
    for weeks in range(1, look_back + 1):
        start, end = shift(period.start, Unit.WEEK, -weeks), shift(period.end, Unit.WEEK, -weeks)
        if start.date() not in skip:
            found.append(Period(start, end, f"{weeks} weeks before", period.unit, period.count))
        if len(found) == count:
            break
    return found


def day_range(first: date, last: date, tz: ZoneInfo, *, label: str) -> Period:
    """Whole local days from `first` to `last`, both included."""
    if last < first:
        raise ValueError(f"{last} is before {first}")
    count = (last - first).days + 1
    return Period(local(first, tz), local(last + timedelta(days=1), tz), label, Unit.DAY, count)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    next_month = date(year + (month == 12), month % 12 + 1, 1)
    return date(year, month, min(day.day, (next_month - timedelta(days=1)).day))


def _wall_elapsed(start: datetime, end: datetime) -> timedelta:
    """Local wall-clock time between two instants (a DST jump does not move `this week so far`)."""
    return end.replace(tzinfo=None) - start.astimezone(end.tzinfo).replace(tzinfo=None)


def _local_plus(start: datetime, wall: timedelta) -> datetime:
    naive = start.replace(tzinfo=None) + wall
    return local(naive.date(), start.tzinfo, naive.time())  # type: ignore[arg-type]


def _previous_label(unit: Unit, count: int) -> str:
    return f"the {unit.value} before" if count == 1 else f"the {count} {unit.value}s before"


def _span_words(length: timedelta) -> str:
    hours = length.total_seconds() / 3600
    if hours < 48:
        return f"{hours:g} hours"
    return f"{length.days} days" if not length.seconds else f"{hours / 24:.1f} days"
