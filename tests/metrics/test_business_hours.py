"""Business hours and holidays (metrics/business_hours.py; docs/metrics.md, "Business hours")."""

from __future__ import annotations

import random
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from metrics import business_hours
from metrics.business_hours import BusinessCalendar, Shift, WeeklySchedule, holiday_dates, parse_schedule

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
HOUR = 3600.0


def berlin(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


def hours(calendar: BusinessCalendar, start: str, end: str) -> float:
    return calendar.business_seconds(berlin(start), berlin(end)) / HOUR


OFFICE = BusinessCalendar(BERLIN, parse_schedule("mon-fri 09:00-17:00"))


def test_a_ticket_over_the_weekend_waits_two_business_hours() -> None:
    assert hours(OFFICE, "2026-11-20 16:00", "2026-11-23 10:00") == 2.0  # Friday 16:00 -> Monday 10:00


def test_outside_hours_counts_nothing_and_reversed_spans_are_zero() -> None:
    assert hours(OFFICE, "2026-11-21 10:00", "2026-11-22 18:00") == 0.0  # the weekend
    assert hours(OFFICE, "2026-11-23 12:00", "2026-11-23 11:00") == 0.0


def test_lunch_break_splits_a_day() -> None:
    calendar = BusinessCalendar(BERLIN, parse_schedule("mon-fri 08:00-12:00,13:00-17:00"))
    assert hours(calendar, "2026-11-23 11:00", "2026-11-23 14:00") == 2.0
    assert not calendar.is_open(berlin("2026-11-23 12:30"))
    assert calendar.is_open(berlin("2026-11-23 13:00"))


def test_overnight_shift_runs_into_the_next_morning() -> None:
    nights = BusinessCalendar(BERLIN, parse_schedule("sun-thu 22:00-06:00"))
    assert hours(nights, "2026-11-22 21:00", "2026-11-23 08:00") == 8.0  # Sunday night
    assert hours(nights, "2026-11-20 21:00", "2026-11-21 08:00") == 0.0  # no Friday night shift
    assert hours(nights, "2026-11-27 00:00", "2026-11-27 08:00") == 6.0  # Thursday's shift ends Friday 06:00
    assert nights.is_open(berlin("2026-11-24 03:00"))


def test_a_holiday_closes_the_day_it_falls_on() -> None:
    german = holiday_dates("DE", years=[2026])
    assert date(2026, 12, 25) in german and date(2026, 12, 24) not in german
    calendar = BusinessCalendar(BERLIN, parse_schedule("mon-fri 09:00-17:00"), german)
    assert hours(calendar, "2026-12-24 09:00", "2026-12-28 10:00") == 9.0  # Thu 8 h, Fri 25th closed, Mon 1 h
    assert calendar.is_holiday(date(2026, 12, 25)) and not calendar.is_open(berlin("2026-12-25 10:00"))


def test_holidays_by_subdivision_and_custom_dates() -> None:
    assert date(2026, 1, 6) in holiday_dates("DE", subdivision="BY", years=[2026])  # Epiphany in Bavaria
    assert date(2026, 1, 6) not in holiday_dates("DE", subdivision="BE", years=[2026])
    assert date(2026, 12, 24) in holiday_dates("DE", years=[2026], extra=[date(2026, 12, 24)])
    with pytest.raises(ValueError, match="XX"):
        holiday_dates("XX", years=[2026])


def test_a_night_shift_begun_before_a_holiday_runs_to_its_end() -> None:
    calendar = BusinessCalendar(BERLIN, parse_schedule("mon-sun 22:00-06:00"), frozenset({date(2026, 12, 25)}))
    assert hours(calendar, "2026-12-24 22:00", "2026-12-26 06:00") == 8.0  # the 24th's night only


def test_dst_days_last_the_real_time() -> None:
    always = BusinessCalendar(BERLIN, WeeklySchedule.always(), frozenset({date(2000, 1, 1)}))  # no shortcut
    assert hours(always, "2026-03-29 00:00", "2026-03-30 00:00") == 23.0
    assert hours(always, "2026-10-25 00:00", "2026-10-26 00:00") == 25.0
    early = BusinessCalendar(BERLIN, parse_schedule("sun 01:00-04:00"))
    assert hours(early, "2026-03-29 00:00", "2026-03-30 00:00") == 2.0  # 02:00-03:00 does not exist
    assert hours(early, "2026-10-25 00:00", "2026-10-26 00:00") == 4.0  # 02:00-03:00 happens twice
    new_york = BusinessCalendar(NEW_YORK, parse_schedule("sun 00:00-24:00"))
    start = datetime(2026, 3, 8, tzinfo=NEW_YORK)
    assert new_york.business_seconds(start, start + timedelta(days=2)) / HOUR == 23.0


def test_always_open_is_the_wall_clock() -> None:
    always = BusinessCalendar(BERLIN, parse_schedule("24/7"))
    start, end = berlin("2026-03-28 10:00"), berlin("2026-04-02 09:30")
    assert always.business_seconds(start, end) == (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds()


def test_a_year_long_wait_is_counted_whole() -> None:
    assert hours(OFFICE, "2025-11-23 00:00", "2026-11-23 00:00") == 52 * 5 * 8  # 52 weeks and a Sunday


@pytest.mark.parametrize(("text", "word"), [
    ("mon-fro 09:00-17:00", "'fro'"),
    ("mon-fri 9-17", "'9-17'"),
    ("mon-fri 25:00-26:00", "not a time of day"),
    ("mon-fri", "give times"),
    ("", "empty"),
])
def test_unreadable_schedules_say_what_is_wrong(text: str, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        parse_schedule(text)


def test_matches_a_minute_by_minute_count() -> None:
    """Random spans against a slow reference that steps through every minute."""
    calendar = BusinessCalendar(BERLIN, parse_schedule("mon-fri 08:00-12:00,13:00-18:30; sat 22:00-02:00"),
                                frozenset({date(2026, 3, 30)}))
    rng = random.Random(11)
    base = datetime(2026, 3, 26, tzinfo=UTC)  # spans the spring DST change and a holiday
    for _ in range(25):
        start = base + timedelta(minutes=rng.randrange(0, 6 * 24 * 60))
        end = start + timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
        minutes = sum(calendar.is_open(start + timedelta(minutes=i)) for i in range(int((end - start).seconds / 60
                                                                                    + (end - start).days * 1440)))
        assert calendar.business_seconds(start, end) == pytest.approx(minutes * 60)


def test_a_wall_time_skipped_by_dst_is_read_with_the_offset_before_the_change() -> None:
    late_start = BusinessCalendar(BERLIN, parse_schedule("sun 02:30-05:00"))
    assert hours(late_start, "2026-03-29 00:00", "2026-03-30 00:00") == 1.5  # 02:30 reads as 03:30 CEST
    in_the_gap = BusinessCalendar(BERLIN, parse_schedule("sun 02:15-02:45"))
    assert hours(in_the_gap, "2026-03-29 00:00", "2026-03-30 00:00") == 0.5  # runs 03:15-03:45 CEST
    across_the_gap = BusinessCalendar(BERLIN, parse_schedule("sun 02:30-03:15"))
    assert hours(across_the_gap, "2026-03-29 00:00", "2026-03-30 00:00") == 0.0  # 03:30 start, 03:15 end
    twice = BusinessCalendar(BERLIN, parse_schedule("sun 02:30-05:00"))
    assert hours(twice, "2026-10-25 00:00", "2026-10-26 00:00") == 3.5  # from the first 02:30 (summer time)


def test_new_york_fall_back_day_has_25_hours() -> None:
    new_york = BusinessCalendar(NEW_YORK, parse_schedule("sun 00:00-24:00; sun 01:00-02:00"))  # overlap: union
    start = datetime(2026, 10, 31, tzinfo=NEW_YORK)
    assert new_york.business_seconds(start, start + timedelta(days=3)) / HOUR == 25.0


def test_is_open_reads_any_time_zone() -> None:
    assert OFFICE.is_open(datetime(2026, 11, 23, 8, 0, tzinfo=UTC))  # 09:00 in Berlin
    assert not OFFICE.is_open(datetime(2026, 11, 23, 16, 0, tzinfo=UTC))  # 17:00 in Berlin: closed
    assert not OFFICE.is_open(datetime(2026, 11, 23, 2, 59, tzinfo=NEW_YORK))  # 08:59 in Berlin


def test_a_span_in_the_repeated_hour_counts_real_time() -> None:
    always = BusinessCalendar(BERLIN, WeeklySchedule.always())
    summer = datetime(2026, 10, 25, 2, 45, tzinfo=BERLIN)
    winter = datetime(2026, 10, 25, 2, 15, fold=1, tzinfo=BERLIN)  # half an hour later, on the second pass
    assert always.business_seconds(summer, winter) == 30 * 60


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="time-zone-aware"):
        OFFICE.business_seconds(datetime(2026, 11, 23, 9), datetime(2026, 11, 23, 10))
    with pytest.raises(ValueError, match="time-zone-aware"):
        OFFICE.is_open(datetime(2026, 11, 23, 9))


def test_schedules_read_as_people_write_them() -> None:
    weekdays = parse_schedule("mon-fri 09:00-17:00")
    assert parse_schedule("Monday - Friday 09:00-17:00") == weekdays
    assert parse_schedule("mon, wed, fri 09:00-17:00") == parse_schedule("mon,wed,fri 09:00-17:00")
    assert parse_schedule("24/7") == WeeklySchedule.always()
    with pytest.raises(ValueError, match="name the days"):
        parse_schedule("09:00-17:00")


def test_unknown_holiday_regions_are_named() -> None:
    assert holiday_dates("de", subdivision="by", years=[2026]) == holiday_dates("DE", subdivision="BY", years=[2026])
    with pytest.raises(ValueError, match="country 'XX'"):
        holiday_dates("XX", years=[2026])
    with pytest.raises(ValueError, match="DE has no subdivision 'XY'"):
        holiday_dates("DE", subdivision="XY", years=[2026])


def _open_by_the_wall_clock(calendar: BusinessCalendar, moment: datetime) -> bool:
    """The rule read off a wall clock: a shift of today since its start, or last night's still running."""
    wall = moment.astimezone(calendar.tz)
    today, now = wall.date(), wall.time().replace(tzinfo=None, fold=0)
    yesterday = today - timedelta(days=1)
    for s in calendar.schedule.shifts:
        overnight = s.end <= s.start
        started_today = s.weekday == today.weekday() and not calendar.is_holiday(today) and s.start <= now
        if started_today and (overnight or now < s.end):
            return True
        if overnight and s.weekday == yesterday.weekday() and not calendar.is_holiday(yesterday) and now < s.end:
            return True
    return False


def test_random_schedules_match_the_wall_clock_minute_by_minute() -> None:
    """Independent of the implementation's instants; shift edges avoid 01:00-03:00, where DST repeats or skips."""
    edges = [time(h, m) for h in [0, *range(3, 24)] for m in (0, 15, 30, 45)]
    zones = [BERLIN, NEW_YORK, ZoneInfo("Australia/Sydney"), ZoneInfo("Asia/Kolkata")]
    around = [datetime(2026, 3, 26, tzinfo=UTC), datetime(2026, 10, 29, tzinfo=UTC), datetime(2026, 12, 29, tzinfo=UTC)]
    rng = random.Random(7)
    for _ in range(40):
        shifts = tuple(Shift(rng.randrange(7), rng.choice(edges), rng.choice(edges)) for _ in range(rng.randint(1, 5)))
        base = rng.choice(around)
        closed = frozenset((base + timedelta(days=rng.randrange(-1, 5))).date() for _ in range(rng.randint(0, 2)))
        calendar = BusinessCalendar(rng.choice(zones), WeeklySchedule(shifts), closed)
        start = base + timedelta(minutes=rng.randrange(0, 3 * 1440))
        minutes = rng.randrange(0, 3 * 1440)
        expected = 60 * sum(_open_by_the_wall_clock(calendar, start + timedelta(minutes=i)) for i in range(minutes))
        assert calendar.business_seconds(start, start + timedelta(minutes=minutes)) == pytest.approx(expected)


def test_threads_reading_a_new_clock_at_once_get_the_readings_of_one_thread() -> None:
    """A question reads its two periods in two threads (storage/figures.py); both may be the first
    to need a year of the shared clock."""
    calendar = BusinessCalendar(BERLIN, parse_schedule("mon-fri 09:00-17:00; sat 10:00-14:00"))
    rng = random.Random(7)
    spans = [[(start, start + rng.uniform(0, 40 * 86_400)) for start in
              (datetime(year, 1, 1, tzinfo=UTC).timestamp() + rng.uniform(0, 365 * 86_400) for _ in range(200))]
             for year in range(2001, 2049, 3)]
    expected = [calendar.business_seconds_many(*zip(*each, strict=True)) for each in spans]
    def read(each: list[tuple[float, float]], together: threading.Barrier) -> list[float]:
        together.wait()
        return calendar.business_seconds_many(*zip(*each, strict=True))

    for _ in range(3):
        business_hours._clock.cache_clear()  # a new clock: every year is yet to be built
        together = threading.Barrier(len(spans))
        with ThreadPoolExecutor(len(spans)) as pool:
            assert list(pool.map(read, spans, [together] * len(spans))) == expected
