"""Daily measures follow the team's days: in Berlin, "yesterday" is Berlin's yesterday, built
once and read whole, also on the 23- and 25-hour days DST makes; a late change marks the
instants it touched, so every day of any zone over them is read raw until rebuilt."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from sqlalchemy import func, select, text, update

from bot.ask import answer_query
from bot.grammar import parse_query
from bot.settings import Settings
from metrics.catalog import MetricQuery
from metrics.model import TicketEvent
from storage import rollups
from storage.db import unit_of_work
from storage.migrate import alembic_config, upgrade
from storage.tables import DailyMeasure, RollupDay, StaleSpan
from tests.storage.conftest import store_events
from tests.support.tickets import BERLIN, TicketStory

IN_BERLIN = Settings(timezone="Europe/Berlin")
UTC_ZONE = ZoneInfo("UTC")


def _answered(ticket_id: str, at: datetime) -> list[TicketEvent]:
    """A ticket opened 10 minutes before `at` and first answered at `at`."""
    return TicketStory(at.astimezone(UTC) - timedelta(minutes=10), ticket_id).replied("+10m").events


def _frt_count(sessions: Any, question: str, now: datetime, settings: Settings = IN_BERLIN) -> Any:
    query = parse_query(question, now=now, tz=settings.zone)
    assert isinstance(query, MetricQuery)
    return answer_query(sessions, settings, query, now=now).total.figures["count"]


def _packed_rows(sessions: Any, measure: str) -> dict[date, int]:
    with unit_of_work(sessions) as session:
        return {day: rows for day, rows in session.execute(select(DailyMeasure.day, DailyMeasure.rows).where(
            DailyMeasure.measure == measure, DailyMeasure.rows > 0))}


def _empty_day(sessions: Any, measure: str, day: date) -> None:
    with unit_of_work(sessions) as session:
        session.execute(update(DailyMeasure).where(DailyMeasure.measure == measure, DailyMeasure.day == day)
                        .values(rows=0, data=b""))


def test_a_berlin_team_gets_berlin_days_built_and_its_yesterday_read_from_one_of_them(sessions: Any) -> None:
    """Answered at 23:30 and at 00:30 Berlin time, both on 2 November in UTC: one falls on
    Berlin's 2 November, the other on its 3 November."""
    store_events(sessions, _answered("late", datetime(2026, 11, 2, 23, 30, tzinfo=BERLIN))
           + _answered("early", datetime(2026, 11, 3, 0, 30, tzinfo=BERLIN)))
    now = datetime(2026, 11, 4, 10, tzinfo=BERLIN)
    assert rollups.build_missing(sessions, now=now, zone=BERLIN) == 2  # 2 and 3 November, Berlin
    assert _packed_rows(sessions, "frt") == {date(2026, 11, 2): 1, date(2026, 11, 3): 1}
    assert _frt_count(sessions, "frt yesterday", now) == 1
    _empty_day(sessions, "frt", date(2026, 11, 3))
    assert _frt_count(sessions, "frt yesterday", now) == 0  # the whole day came from its built measures
    # asked in UTC, Berlin's days do not fit: its 2 November (one answer, from 23:00 UTC) is read raw
    assert _frt_count(sessions, "frt yesterday", now, Settings(timezone="UTC")) == 0
    assert _frt_count(sessions, "frt 2026-11-02", now, Settings(timezone="UTC")) == 2


def _stale_marks(session: Any) -> list[tuple[datetime, datetime]]:
    return sorted(tuple(mark) for mark in session.execute(select(StaleSpan.starts_at, StaleSpan.ends_at)))


@pytest.mark.parametrize(("day", "hours"), [(date(2026, 3, 29), 23), (date(2026, 10, 25), 25)])
def test_days_that_dst_shortens_or_lengthens_are_built_whole(sessions: Any, day: date, hours: int) -> None:
    """Tickets answered five minutes into the day and five minutes before its end, and one on
    each side of it: the day's measures hold its own two."""
    midnight = datetime.combine(day, time(), BERLIN)
    length = datetime.combine(day + timedelta(days=1), time(), BERLIN).astimezone(UTC) - midnight.astimezone(UTC)
    assert length == timedelta(hours=hours)
    events: list[TicketEvent] = []
    for name, minutes in (("before", -5), ("first", 5), ("last", hours * 60 - 5), ("after", hours * 60 + 5)):
        events += _answered(name, midnight.astimezone(UTC) + timedelta(minutes=minutes))
    store_events(sessions, events)
    now = datetime.combine(day + timedelta(days=2), time(12), BERLIN)
    rollups.build_missing(sessions, now=now, zone=BERLIN)
    assert _packed_rows(sessions, "frt") == {day - timedelta(days=1): 1, day: 2, day + timedelta(days=1): 1}
    assert _frt_count(sessions, f"frt {day.isoformat()}", now) == 2
    _empty_day(sessions, "frt", day)
    assert _frt_count(sessions, f"frt {day.isoformat()}", now) == 0  # read whole from its built day


def test_a_late_change_on_a_utc_day_leaves_both_berlin_days_over_it_stale_until_each_is_built(sessions: Any) -> None:
    """A reply arriving late for 3 November 10:00 UTC marks that UTC day; it overlaps Berlin's
    3 November (from 00:00 UTC) and 4 November (from 23:00 UTC)."""
    for day in (2, 3, 4):
        store_events(sessions, _answered(f"t{day}", datetime(2026, 11, day, 12, tzinfo=BERLIN)))
    now = datetime(2026, 11, 6, 10, tzinfo=BERLIN)
    rollups.build_missing(sessions, now=now, zone=BERLIN)  # 2 to 5 November
    with unit_of_work(sessions) as session:
        assert rollups.days_to_build(session, now=now, zone=BERLIN) == []
        assert _stale_marks(session) == []
    store_events(sessions, TicketStory(datetime(2026, 11, 3, 10, tzinfo=UTC), "late").replied("+5m").events)
    with unit_of_work(sessions) as session:
        assert rollups.days_to_build(session, now=now, zone=BERLIN) == [date(2026, 11, 4), date(2026, 11, 3)]
        rollups.build_day(session, date(2026, 11, 3), now=now, zone=BERLIN)
    with unit_of_work(sessions) as session:  # what is left of the mark: the hour of Berlin's 4 November
        assert rollups.days_to_build(session, now=now, zone=BERLIN) == [date(2026, 11, 4)]
        assert _stale_marks(session) == [(datetime(2026, 11, 3, 23, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC))]
        rollups.build_day(session, date(2026, 11, 4), now=now, zone=BERLIN)
    with unit_of_work(sessions) as session:
        assert rollups.days_to_build(session, now=now, zone=BERLIN) == []
        assert session.scalar(select(func.count()).select_from(StaleSpan)) == 0
    assert _frt_count(sessions, "frt 2026-11-02..2026-11-05", now) == 4


def test_days_built_in_another_zone_are_read_raw_and_built_again(sessions: Any) -> None:
    """A team that moves from UTC to Berlin: its UTC days answer nothing in Berlin until the
    builder has built Berlin's."""
    for day in (2, 3, 4):
        store_events(sessions, _answered(f"t{day}", datetime(2026, 11, day, 12, tzinfo=BERLIN)))
    now = datetime(2026, 11, 5, 10, tzinfo=BERLIN)
    assert rollups.build_missing(sessions, now=now, zone=UTC_ZONE) == 3
    for day in (2, 3, 4):
        _empty_day(sessions, "frt", date(2026, 11, day))
    assert _frt_count(sessions, "frt 2026-11-02..2026-11-04", now) == 3  # from the tickets
    with unit_of_work(sessions) as session:
        assert rollups.days_to_build(session, now=now, zone=BERLIN) == [date(2026, 11, d) for d in (4, 3, 2)]
    assert rollups.build_missing(sessions, now=now, zone=BERLIN) == 3
    with unit_of_work(sessions) as session:
        assert set(session.scalars(select(RollupDay.zone))) == {"Europe/Berlin"}
    assert _frt_count(sessions, "frt 2026-11-02..2026-11-04", now) == 3


def test_migration_0016_keeps_built_days_as_utc_days_and_turns_stale_days_into_their_stretch(
        database_url: str, sessions: Any) -> None:
    store_events(sessions, _answered("t1", datetime(2026, 11, 2, 12, tzinfo=UTC)))
    now = datetime(2026, 11, 4, 10, tzinfo=UTC)
    rollups.build_missing(sessions, now=now, zone=UTC_ZONE)
    command.downgrade(alembic_config(database_url), "0015")
    with unit_of_work(sessions) as session:
        session.execute(text("INSERT INTO stale_days (day) VALUES ('2026-11-03'), ('2026-11-03')"))
    command.upgrade(alembic_config(database_url), "0016")
    with unit_of_work(sessions) as session:
        assert {tuple(row) for row in session.execute(select(RollupDay.day, RollupDay.zone))} == {
            (date(2026, 11, 2), "UTC"), (date(2026, 11, 3), "UTC")}
        assert _stale_marks(session) == [(datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC))]
    upgrade(database_url)  # 0017 drops every built day: their tuples lack the tags
    with unit_of_work(sessions) as session:
        assert rollups.days_to_build(session, now=now, zone=UTC_ZONE) == [date(2026, 11, 3), date(2026, 11, 2)]
