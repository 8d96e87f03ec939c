"""Business hours and holidays (docs/metrics.md, "Business hours").

A schedule is a set of shifts in the team's local wall time: several per day, and overnight
shifts that end the next morning. A holiday closes the shifts that *start* on it; a night shift
that began the evening before runs to its end. Wall times are turned into instants day by day
with zoneinfo, so a shift across a DST change lasts the real time it lasted (a 01:00-04:00 shift
is 2 h on spring-forward day and 4 h on fall-back day). A wall time the change skips is read with
the offset before the change (zoneinfo's fold=0), so it lands as far after the gap as it was inside
it: in Berlin on 2026-03-29, 02:00 is 03:00 CEST and 02:30 is 03:30 CEST, so a 02:15-02:45 shift
runs 03:15-03:45 and a 02:30-03:15 shift (whose start then reads after its end) counts nothing.
A wall time that happens twice means its first occurrence (summer time). Moments must be
time-zone aware; naive datetimes are refused rather than read in the machine's zone.

Business time is read off a cumulative clock: the business seconds since 1 January 2000 at any
instant, from the calendar's open stretches (built a year at a time, in either direction, and
cached). `business_seconds(start, end)` is the clock's difference, so a ticket that waited a year
costs what one that waited a minute costs, and `business_seconds_many` gives the very same numbers
for whole arrays of waits at once.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from threading import Lock
from zoneinfo import ZoneInfo

import holidays as holiday_data
import numpy as np

from metrics.periods import local

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_EXAMPLE = "mon-fri 09:00-17:00; sat 10:00-14:00"


@dataclass(frozen=True)
class Shift:
    """One opening period in local wall time; `end <= start` runs past midnight (00:00-00:00 is 24 h)."""

    weekday: int  # 0 = Monday
    start: time
    end: time

    @property
    def overnight(self) -> bool:
        return self.end <= self.start


@dataclass(frozen=True)
class WeeklySchedule:
    shifts: tuple[Shift, ...]

    @classmethod
    def always(cls) -> WeeklySchedule:
        return cls(tuple(Shift(day, time(0), time(0)) for day in range(7)))

    def on(self, weekday: int) -> tuple[Shift, ...]:
        return tuple(s for s in self.shifts if s.weekday == weekday)


def parse_schedule(text: str) -> WeeklySchedule:
    """`mon-fri 08:00-12:00,13:00-17:00; sat 10:00-14:00`, `sun-thu 22:00-06:00`, `24/7`."""
    cleaned = text.strip().lower()
    if cleaned in ("24/7", "always"):
        return WeeklySchedule.always()
    shifts: list[Shift] = []
    for part in (p.strip() for p in re.split(r"[;\n]", cleaned) if p.strip()):
        first_digit = re.search(r"\d", part)
        if first_digit is None:
            raise ValueError(f"business hours {part!r}: give times after the days, e.g. {_EXAMPLE}")
        days_text, times_text = part[:first_digit.start()], part[first_digit.start():]
        if not days_text.strip():
            raise ValueError(f"business hours {part!r}: name the days before the times, e.g. {_EXAMPLE}")
        days = _days(re.sub(r"\s*([,-])\s*", r"\1", days_text.strip()), part)
        for span in (s.strip() for s in times_text.replace(" ", "").split(",") if s.strip()):
            start, end = _span(span, part)
            shifts += [Shift(day, start, end) for day in days]
    if not shifts:
        raise ValueError(f"business hours are empty; write them like {_EXAMPLE}")
    return WeeklySchedule(tuple(shifts))


def _day(word: str, part: str) -> int:
    for index, (short, full) in enumerate(zip(DAY_NAMES, _FULL_NAMES, strict=True)):
        if word in (short, full):
            return index
    raise ValueError(f"business hours {part!r}: {word!r} is not a day (mon, tue, … sun), e.g. {_EXAMPLE}")


def _days(text: str, part: str) -> list[int]:
    days: list[int] = []
    for item in (i for i in text.split(",") if i):
        first, dash, last = item.partition("-")
        start = _day(first, part)
        if not dash:
            days.append(start)
            continue
        end = _day(last, part)
        days += [(start + i) % 7 for i in range((end - start) % 7 + 1)]  # fri-mon wraps over the weekend
    return list(dict.fromkeys(days))


def _span(text: str, part: str) -> tuple[time, time]:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})", text)
    if not match:
        raise ValueError(f"business hours {part!r}: {text!r} is not a time range like 09:00-17:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h2 == 24 and m2 == 0:
        h2 = 0  # 24:00 is the next midnight
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"business hours {part!r}: {text!r} is not a time of day")
    return time(h1, m1), time(h2, m2)


def holiday_dates(country: str, *, subdivision: str | None = None, years: Iterable[int],
                  extra: Iterable[date] = ()) -> frozenset[date]:
    """Public holidays of a country (and subdivision) from the `holidays` package, plus custom dates."""
    return frozenset(holiday_names(country, subdivision=subdivision, years=years)) | frozenset(extra)


def holiday_names(country: str, *, subdivision: str | None = None, years: Iterable[int]) -> dict[date, str]:
    """Each public holiday of a country (and subdivision) with its name, from the `holidays` package."""
    known = holiday_data.list_supported_countries()
    code = country.strip().upper()
    if code not in known:
        raise ValueError(f"no public holidays known for country {country!r} (use ISO codes such as DE, US, GB)")
    subdivisions = {name.upper(): name for name in known[code]}  # the package spells a few in mixed case
    if subdivision is not None and subdivision.strip().upper() not in subdivisions:
        raise ValueError(f"{code} has no subdivision {subdivision!r} (known: {', '.join(known[code])})")
    subdiv = subdivisions[subdivision.strip().upper()] if subdivision is not None else None
    return dict(holiday_data.country_holidays(code, subdiv=subdiv, years=list(years)))


@dataclass(frozen=True)
class BusinessCalendar:
    tz: ZoneInfo
    schedule: WeeklySchedule
    holidays: frozenset[date] = frozenset()

    def __hash__(self) -> int:  # computed once: the day caches below look calendars up per call
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = hash((self.tz, self.schedule, self.holidays))
            object.__setattr__(self, "_hash", cached)
        return cached

    def is_holiday(self, day: date) -> bool:
        return day in self.holidays

    def is_open(self, moment: datetime) -> bool:
        at = _timestamp(moment)
        day = moment.astimezone(self.tz).date()
        return any(start <= at < end for start, end in _day_window(self, day))

    def business_seconds(self, start: datetime, end: datetime) -> float:
        """Seconds of business time in [start, end); 0 when end is not after start."""
        begin, finish = _timestamp(start), _timestamp(end)  # same-zone datetimes compare by wall time
        if finish <= begin:
            return 0.0
        if self.always_open:
            return (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds()
        clock = _clock(self)
        return max(0.0, clock.at(finish) - clock.at(begin))

    def business_seconds_many(self, starts: Sequence[float], ends: Sequence[float]) -> list[float]:
        """`business_seconds` for pairs of POSIX timestamps, all at once (the same numbers)."""
        return self.business_seconds_array(starts, ends).tolist()  # type: ignore[no-any-return]

    def business_seconds_array(self, starts: Sequence[float] | np.ndarray,
                               ends: Sequence[float] | np.ndarray) -> np.ndarray:
        """`business_seconds_many` as an array (a year of measurements never becomes a list)."""
        begin, finish = np.asarray(starts, dtype=float), np.asarray(ends, dtype=float)
        if self.always_open:
            seconds = finish - begin
        else:
            clock = _clock(self)
            seconds = np.maximum(0.0, clock.at_many(finish) - clock.at_many(begin))
        return np.where(finish <= begin, 0.0, seconds)

    @property
    def always_open(self) -> bool:
        return not self.holidays and self.schedule == _ALWAYS

    @property
    def fingerprint(self) -> str:
        """A short digest of everything business time depends on (zone, shifts, holidays): numbers
        kept under one calendar are valid under another with the same fingerprint only."""
        cached = self.__dict__.get("_fingerprint")
        if cached is None:
            shifts = sorted((s.weekday, s.start.isoformat(), s.end.isoformat()) for s in self.schedule.shifts)
            text = f"{self.tz.key}|{shifts}|{sorted(d.isoformat() for d in self.holidays)}"
            cached = hashlib.sha256(text.encode()).hexdigest()[:16]
            object.__setattr__(self, "_fingerprint", cached)
        return cached


_ALWAYS = WeeklySchedule.always()
_ORIGIN_YEAR = 2000


class _Clock:
    """Business seconds since local 1 January 2000 at any instant: the open stretches in order,
    each with the business seconds before it. Years are added as instants need them; the origin
    stays put, so adding years never changes a reading.

    One clock serves every thread (a question reads its two periods at once, storage/figures.py):
    years are added under a lock, and the index is replaced as a whole, so a reader sees either the
    old index or the new one, each complete."""

    def __init__(self, calendar: BusinessCalendar) -> None:
        self.calendar = calendar
        self.years: dict[int, tuple[list[float], list[float]]] = {}
        self.offsets = {_ORIGIN_YEAR: 0.0}  # business seconds from the origin to 1 January
        self.index = _ClockIndex((), [], [], [])
        self.lock = Lock()

    def at(self, moment: float) -> float:
        index = self._cover(moment, moment)
        i = bisect_right(index.start_list, moment) - 1
        if i < 0:
            return float(index.before[0]) if len(index.before) else 0.0
        return index.before_list[i] + (min(moment, index.end_list[i]) - index.start_list[i])

    def at_many(self, moments: np.ndarray) -> np.ndarray:
        if not len(moments):
            return moments
        index = self._cover(float(moments.min()), float(moments.max()))
        if not len(index.starts):
            return np.zeros_like(moments)
        i = np.searchsorted(index.starts, moments, side="right") - 1
        safe = np.maximum(i, 0)
        readings = index.before[safe] + (np.minimum(moments, index.ends[safe]) - index.starts[safe])
        return np.where(i < 0, index.before[0], readings)

    def _cover(self, first: float, last: float) -> _ClockIndex:
        """The index, once it holds every local year that could hold an instant in [first, last]
        (a year either side)."""
        low = datetime.fromtimestamp(max(first, 0.0), UTC).year - 1
        high = datetime.fromtimestamp(max(last, 0.0), UTC).year + 1
        index = self.index
        if index.holds(low, high):
            return index
        with self.lock:
            missing = [y for y in range(min(low, _ORIGIN_YEAR), max(high, _ORIGIN_YEAR) + 1) if y not in self.years]
            for year in sorted(y for y in missing if y >= _ORIGIN_YEAR):
                self._add_year(year)
                self.offsets[year + 1] = self.offsets[year] + self._total(year)
            for year in sorted((y for y in missing if y < _ORIGIN_YEAR), reverse=True):
                self._add_year(year)
                self.offsets[year] = self.offsets[year + 1] - self._total(year)
            if missing:
                self.index = self._indexed()
            return self.index

    def _add_year(self, year: int) -> None:
        starts, ends = [], []
        day = date(year, 1, 1)
        while day.year == year:
            for start, end in _day_window(self.calendar, day):
                starts.append(start)
                ends.append(end)
            day += timedelta(days=1)
        self.years[year] = (starts, ends)

    def _total(self, year: int) -> float:
        starts, ends = self.years[year]
        return sum(e - s for s, e in zip(starts, ends, strict=True))

    def _indexed(self) -> _ClockIndex:
        starts: list[float] = []
        ends: list[float] = []
        before: list[float] = []
        for year in sorted(self.years):
            elapsed = self.offsets[year]
            for s, e in zip(*self.years[year], strict=True):
                starts.append(s)
                ends.append(e)
                before.append(elapsed)
                elapsed += e - s
        return _ClockIndex(self.years, starts, ends, before)


class _ClockIndex:
    """The open stretches of the years built so far (always a run of years), in order, as lists
    (one instant) and as arrays (many)."""

    def __init__(self, years: Iterable[int], starts: list[float], ends: list[float], before: list[float]) -> None:
        self.first_year, self.last_year = min(years, default=0), max(years, default=-1)
        self.start_list, self.end_list, self.before_list = starts, ends, before
        self.starts, self.ends, self.before = np.array(starts), np.array(ends), np.array(before)

    def holds(self, low: int, high: int) -> bool:
        return self.first_year <= low and high <= self.last_year


@lru_cache(maxsize=16)
def _clock(calendar: BusinessCalendar) -> _Clock:
    return _Clock(calendar)


def _timestamp(moment: datetime) -> float:
    if moment.utcoffset() is None:  # a naive datetime would silently be read in the machine's zone
        raise ValueError(f"business hours need time-zone-aware datetimes, got {moment.isoformat()}")
    return moment.timestamp()


@lru_cache(maxsize=4096)
def _shift_instants(calendar: BusinessCalendar, day: date) -> tuple[tuple[float, float], ...]:
    """The shifts that start on local `day`, as (start, end) POSIX timestamps; none on a holiday."""
    if day in calendar.holidays:
        return ()
    out = []
    for shift in calendar.schedule.on(day.weekday()):
        start = local(day, calendar.tz, shift.start)
        end = local(day + timedelta(days=1) if shift.overnight else day, calendar.tz, shift.end)
        out.append((start.timestamp(), end.timestamp()))
    return tuple(out)


@lru_cache(maxsize=4096)
def _day_window(calendar: BusinessCalendar, day: date) -> tuple[tuple[float, float], ...]:
    """Open stretches within local `day` (midnight to midnight), overlaps merged: its own shifts
    and the morning part of the night shift that began the day before."""
    lo, hi = local(day, calendar.tz).timestamp(), local(day + timedelta(days=1), calendar.tz).timestamp()
    clipped = sorted((max(s, lo), min(e, hi)) for s, e in
                     _shift_instants(calendar, day - timedelta(days=1)) + _shift_instants(calendar, day)
                     if min(e, hi) > max(s, lo))
    merged: list[tuple[float, float]] = []
    for s, e in clipped:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return tuple(merged)
