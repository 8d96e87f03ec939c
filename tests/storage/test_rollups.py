"""Daily measures: long questions read each finished day's packed measurements, and a late
change to an old day never leaves a stale number behind."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from alembic import command
from sqlalchemy import delete, func, select, update

from bot.ask import answer_query
from bot.grammar import parse_query
from bot.settings import Settings
from metrics.catalog import MetricQuery
from metrics.model import Channel, TicketEvent
from storage import rollups
from storage.db import unit_of_work
from storage.migrate import alembic_config, upgrade
from storage.tables import DailyMeasure, RollupDay, StaleSpan
from tests.storage.conftest import store_events
from tests.support.tickets import TicketStory

UTC_ZONE = ZoneInfo("UTC")
NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC_ZONE)


def _marks(session: Any) -> list[tuple[datetime, datetime]]:
    """The stretches of time marked stale."""
    return sorted(tuple(mark) for mark in session.execute(select(StaleSpan.starts_at, StaleSpan.ends_at)))


def _frt(sessions: Any, text: str = "frt 2026-11-01..2026-11-09") -> tuple[float | None, float | None]:
    query = parse_query(text, now=NOW, tz=UTC_ZONE)
    assert isinstance(query, MetricQuery)
    figures = answer_query(sessions, Settings(timezone="UTC"), query, now=NOW).total.figures
    return figures["median"], figures["count"]


def _first_responses(*minutes: int) -> list[TicketEvent]:
    events: list[TicketEvent] = []
    for day, wait in enumerate(minutes, start=2):
        events += TicketStory(datetime(2026, 11, day, 10, tzinfo=UTC), f"t{day}").replied(f"+{wait}m").events
    return events


def test_finished_days_are_built_once_and_then_read_instead_of_the_tickets(sessions: Any) -> None:
    store_events(sessions, _first_responses(10, 20, 30))  # first answered on 2, 3 and 4 November
    assert rollups.build_missing(sessions, now=NOW, zone=UTC_ZONE) == 8  # 2 … 9 November; the 10th is not over
    assert rollups.build_missing(sessions, now=NOW, zone=UTC_ZONE) == 0
    assert _frt(sessions) == (20 * 60, 3)
    with unit_of_work(sessions) as session:  # empty 3 November's packed first responses
        session.execute(update(DailyMeasure).where(DailyMeasure.measure == "frt",
                                                   DailyMeasure.day == datetime(2026, 11, 3).date())
                        .values(rows=0, data=b""))
    assert _frt(sessions) == (20 * 60, 2)  # (10 + 30) / 2: the built day was read, not the tickets


def test_a_late_event_makes_its_day_read_raw_until_it_is_built_again(sessions: Any) -> None:
    store_events(sessions, _first_responses(10, 20, 30))
    rollups.build_missing(sessions, now=NOW, zone=UTC_ZONE)
    late = TicketStory(datetime(2026, 11, 3, 10, tzinfo=UTC), "t3").replied("+5m", by="ben").events[-1:]
    store_events(sessions, late)  # an earlier reply to the 3 November ticket arrives a week late
    assert _frt(sessions) == (10 * 60, 3)  # 10, 5, 30 minutes
    with unit_of_work(sessions) as session:
        assert _marks(session) == [(datetime(2026, 11, 3, tzinfo=UTC), datetime(2026, 11, 4, tzinfo=UTC))]
    assert rollups.build_missing(sessions, now=NOW, zone=UTC_ZONE) == 1
    assert _frt(sessions) == (10 * 60, 3)
    with unit_of_work(sessions) as session:
        assert session.scalar(select(func.count()).select_from(StaleSpan)) == 0
        assert session.scalar(select(func.count()).select_from(RollupDay)) == 8


def test_a_ticket_taken_out_of_spam_a_week_later_counts_again_on_its_own_days(sessions: Any) -> None:
    store_events(sessions, _first_responses(10, 30))  # 2 and 3 November
    flagged = TicketStory(datetime(2026, 11, 4, 10, tzinfo=UTC), "t4").replied("+20m").spam("+1h")
    store_events(sessions, flagged.events)
    rollups.build_missing(sessions, now=NOW, zone=UTC_ZONE)
    assert _frt(sessions) == (20 * 60, 2)  # 10 and 30 minutes: the spam is left out
    store_events(sessions, flagged.not_spam("+6d").events[-1:])  # restored on 10 November
    with unit_of_work(sessions) as session:  # the ticket's old day is read raw again
        assert (datetime(2026, 11, 4, tzinfo=UTC), datetime(2026, 11, 5, tzinfo=UTC)) in _marks(session)
    assert _frt(sessions) == (20 * 60, 3)  # 10, 20, 30 minutes
    rollups.build_missing(sessions, now=NOW, zone=UTC_ZONE)
    assert _frt(sessions) == (20 * 60, 3)


def _frt_rows(sessions: Any, text: str, segments: str = "") -> dict[str, tuple[Any, Any]]:
    """(median, count) of each row of a breakdown, and of its total."""
    query = parse_query(text, now=NOW, tz=UTC_ZONE)
    assert isinstance(query, MetricQuery)
    answer = answer_query(sessions, Settings(timezone="UTC", segments=segments), query, now=NOW)
    return {row.key: (row.figures["median"], row.figures["count"]) for row in [*answer.rows, answer.total]}


def _empty_day(sessions: Any, measure: str, day: int) -> None:
    with unit_of_work(sessions) as session:
        session.execute(update(DailyMeasure).where(DailyMeasure.measure == measure,
                                                   DailyMeasure.day == datetime(2026, 11, day).date())
                        .values(rows=0, data=b""))


def _tagged_first_responses() -> list[TicketEvent]:
    """First responses of 10 minutes (billing, 2 November), 20 (billing and refund, 3 November)
    and 30 (no tag, 4 November)."""
    stories = [TicketStory(datetime(2026, 11, 2, 10, tzinfo=UTC), "b", tags=("billing",)).replied("+10m"),
               TicketStory(datetime(2026, 11, 3, 10, tzinfo=UTC), "br", tags=("refund", "billing")).replied("+20m"),
               TicketStory(datetime(2026, 11, 4, 10, tzinfo=UTC), "n").replied("+30m")]
    return [e for story in stories for e in story.events]


def test_a_breakdown_by_tag_reads_the_daily_measures_and_counts_each_ticket_under_each_tag(sessions: Any) -> None:
    store_events(sessions, _tagged_first_responses())
    rollups.build_missing(sessions, now=NOW, zone=UTC_ZONE)
    text = "frt 2026-11-01..2026-11-09 by tag"
    assert _frt_rows(sessions, text) == {"billing": (15 * 60, 2), "refund": (20 * 60, 1), "(none)": (30 * 60, 1),
                                         "all": (20 * 60, 3)}  # the total counts each ticket once
    assert _frt(sessions, "frt 2026-11-01..2026-11-09 tag:billing") == (15 * 60, 2)
    assert _frt(sessions, "frt 2026-11-01..2026-11-09 tag:(none)") == (30 * 60, 1)
    _empty_day(sessions, "frt", 3)
    assert _frt_rows(sessions, text) == {"billing": (10 * 60, 1), "(none)": (30 * 60, 1), "all": (20 * 60, 2)}


def test_a_tag_added_a_week_later_moves_the_ticket_once_its_days_are_read_again(sessions: Any) -> None:
    store_events(sessions, _tagged_first_responses())
    rollups.build_missing(sessions, now=NOW, zone=UTC_ZONE)
    late = TicketStory(datetime(2026, 11, 4, 10, tzinfo=UTC), "n").tagged("+5d", "refund").events[-1:]
    store_events(sessions, late)  # the untagged ticket gets "refund" on 9 November
    expected = {"billing": (15 * 60, 2), "refund": (25 * 60, 2), "all": (20 * 60, 3)}
    assert _frt_rows(sessions, "frt 2026-11-01..2026-11-09 by tag") == expected  # 4 November read raw
    assert rollups.build_missing(sessions, now=NOW, zone=UTC_ZONE) == 2  # 4 and 9 November
    assert _frt_rows(sessions, "frt 2026-11-01..2026-11-09 by tag") == expected


def test_a_segment_of_tags_reads_the_daily_measures_and_one_of_organisations_the_tickets(sessions: Any) -> None:
    acme = TicketStory(datetime(2026, 11, 5, 10, tzinfo=UTC), "acme", organization="Acme").replied("+40m").events
    store_events(sessions, _tagged_first_responses() + acme)
    rollups.build_missing(sessions, now=NOW, zone=UTC_ZONE)
    segments = "refunds=tag:refund;key=org:Acme,tag:vip"
    for day in (3, 5):
        _empty_day(sessions, "frt", day)  # only questions read from the tickets still see them
    assert _frt_rows(sessions, "frt 2026-11-01..2026-11-09 segment:refunds", segments)["all"] == (None, 0)
    assert _frt_rows(sessions, "frt 2026-11-01..2026-11-09 segment:key", segments)["all"] == (40 * 60, 1)
    # the rows from the tickets; the total, which names no segment, from the days
    assert _frt_rows(sessions, "frt 2026-11-01..2026-11-09 by segment", segments) == {
        "refunds": (20 * 60, 1), "key": (40 * 60, 1), "(none)": (20 * 60, 2), "all": (20 * 60, 2)}


def _agents(sessions: Any, text: str = "agents 2026-11-01..2026-11-09") -> dict[str, tuple[Any, ...]]:
    query = parse_query(text, now=NOW, tz=UTC_ZONE)
    assert isinstance(query, MetricQuery)
    found = answer_query(sessions, Settings(timezone="UTC"), query, now=NOW)
    lines = {row.key: row.figures for row in found.rows} | {"team": found.total.figures}
    return {who: (f["replies"], f["handled"], f["closed"], f["ratings"]) for who, f in lines.items()}


def test_agents_read_the_daily_measures_and_count_a_conversation_once_across_days(sessions: Any) -> None:
    """Ana replies to one ticket on 2 and 4 November, Ben on the 4th: one conversation each,
    one for the team, however many days the replies are spread over."""
    story = TicketStory(datetime(2026, 11, 2, 10, tzinfo=UTC), "t1").assigned("+1m", "ana").replied("+5m")
    story = story.replied("+2880m", by="ben").replied("+2881m").solved("+2882m").rated("+2883m", 5)
    store_events(sessions, story.events)
    expected = {"ana": (2.0, 1.0, 1.0, 1.0), "ben": (1.0, 1.0, 0.0, 0.0), "team": (3.0, 1.0, 1.0, 1.0)}
    assert _agents(sessions) == expected  # read from the tickets
    rollups.build_missing(sessions, now=NOW, zone=UTC_ZONE)
    assert _agents(sessions) == expected  # read from the daily measures
    assert _agents(sessions, "agents 2026-11-04..2026-11-09") == {
        "ana": (1.0, 1.0, 1.0, 1.0), "ben": (1.0, 1.0, 0.0, 0.0), "team": (2.0, 1.0, 1.0, 1.0)}
    with unit_of_work(sessions) as session:  # empty 4 November's packed replies
        session.execute(update(DailyMeasure).where(DailyMeasure.measure == "replies",
                                                   DailyMeasure.day == datetime(2026, 11, 4).date())
                        .values(rows=0, data=b""))
    assert _agents(sessions)["team"][0] == 1.0  # only 2 November's reply: the built days were read


SHORT_DAYS, LONG_DAYS = "mon-fri 09:00-17:00", "mon-fri 09:00-19:00"


def _business_frt(sessions: Any, hours: str) -> tuple[float | None, float | None]:
    query = parse_query("frt 2026-11-01..2026-11-09", now=NOW, tz=UTC_ZONE)
    assert isinstance(query, MetricQuery)
    figures = answer_query(sessions, Settings(timezone="UTC", business_hours=hours), query, now=NOW).total.figures
    return figures["business_median"], figures["business_count"]


def test_business_time_is_read_from_days_built_under_the_same_business_hours(sessions: Any) -> None:
    """A ticket from Monday 16:00 answered at 18:00 waited 1 business hour while the team works
    until 17:00, 2 when it works until 19:00. Days keep the business seconds of the hours they were
    built under; asked under other hours, they are read from the tickets until built again."""
    store_events(sessions, TicketStory(datetime(2026, 11, 2, 16, tzinfo=UTC), "t1").replied("+2h").events)
    short = Settings(business_hours=SHORT_DAYS).calendar()
    long = Settings(business_hours=LONG_DAYS).calendar()
    assert rollups.build_missing(sessions, now=NOW, zone=UTC_ZONE, calendar=short) == 8
    assert _business_frt(sessions, SHORT_DAYS) == (3600, 1)
    assert _business_frt(sessions, LONG_DAYS) == (7200, 1)
    with unit_of_work(sessions) as session:
        assert len(rollups.days_to_build(session, now=NOW, zone=UTC_ZONE, calendar=long)) == 8
        assert rollups.days_to_build(session, now=NOW, zone=UTC_ZONE, calendar=short) == []
        assert rollups.days_to_build(session, now=NOW, zone=UTC_ZONE) == []  # no business hours: any built day will do
        session.execute(update(DailyMeasure).where(DailyMeasure.measure == "frt",
                                                   DailyMeasure.day == datetime(2026, 11, 2).date())
                        .values(rows=0, data=b""))  # empty 2 November's packed first responses
    assert _business_frt(sessions, SHORT_DAYS) == (None, 0)  # the day built under these hours was read
    assert _business_frt(sessions, LONG_DAYS) == (7200, 1)  # under other hours the tickets were
    assert rollups.build_missing(sessions, now=NOW, zone=UTC_ZONE, calendar=long) == 8
    assert _business_frt(sessions, LONG_DAYS) == (7200, 1)
    assert _business_frt(sessions, SHORT_DAYS) == (3600, 1)


def _answer_and_reads(sessions: Any, text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, list[str]]:
    """The answer and the measure of each read of the daily measures it made."""
    query = parse_query(text, now=NOW, tz=UTC_ZONE)
    assert isinstance(query, MetricQuery)
    reads: list[str] = []
    read_days = rollups._packed_days

    def counted_read(session: Any, name: str, days: Any) -> Any:
        reads.append(name)
        return read_days(session, name, days)

    with monkeypatch.context() as patch:
        patch.setattr(rollups, "_packed_days", counted_read)
        return answer_query(sessions, Settings(timezone="UTC"), query, now=NOW), reads


def _daily_reads(sessions: Any, text: str, monkeypatch: pytest.MonkeyPatch) -> tuple[dict[str, Any], list[str]]:
    """The answer's total and the measure of each read of the daily measures it made."""
    answer, reads = _answer_and_reads(sessions, text, monkeypatch)
    return answer.total.figures | {"previous": answer.total.previous}, reads


def test_a_breakdown_gives_its_total_from_the_same_read_of_each_day(
        sessions: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """'frt by channel' reads each period's packed first responses once, for the rows and the
    total alike; the total is the one 'frt' alone gives."""
    chat = TicketStory(datetime(2026, 11, 3, 10, tzinfo=UTC), "c1", channel=Channel.CHAT).replied("+2m").events
    store_events(sessions, _first_responses(10, 20, 30) + chat)
    rollups.build_missing(sessions, now=NOW, zone=UTC_ZONE)
    alone, _ = _daily_reads(sessions, "frt 2026-11-01..2026-11-09", monkeypatch)
    total, reads = _daily_reads(sessions, "frt 2026-11-01..2026-11-09 by channel", monkeypatch)
    assert total == alone
    assert (total["median"], total["count"]) == (15 * 60, 4)  # 2, 10, 20, 30 minutes
    assert reads == ["frt"]  # this period's built days once (the period before has none built)
    level, reads = _daily_reads(sessions, "level 2026-11-01..2026-11-09", monkeypatch)  # rows per channel, always
    assert level["frt_median"] == 15 * 60
    assert sorted(reads) == ["csat", "frt"]  # once each


def test_a_breakdown_by_day_reads_each_measure_of_its_days_once(
        sessions: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """'frt ... by day' reads the period's built days once, for the total and all nine days' rows,
    not once a day; each day's row has its own first response."""
    store_events(sessions, _first_responses(10, 20, 30))  # 2, 3 and 4 November
    rollups.build_missing(sessions, now=NOW, zone=UTC_ZONE)
    answer, reads = _answer_and_reads(sessions, "frt 2026-11-01..2026-11-09 by day", monkeypatch)
    assert reads == ["frt"]  # the period before has no built day
    assert [(row.label, row.figures["median"]) for row in answer.rows][:5] == [
        ("2026-11-01", None), ("2026-11-02", 600), ("2026-11-03", 1200), ("2026-11-04", 1800), ("2026-11-05", None)]


def test_a_breakdown_by_week_on_two_lanes_reads_the_period_once(
        sessions: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nineteen weeks by week: this thread reads the period once for its total and first ten
    weeks, and the second lane takes its last nine from that same read."""
    answered = [TicketStory(datetime(2026, month, 2, 10, tzinfo=UTC), f"m{month}").replied("+10m").events
                for month in range(7, 12)]
    store_events(sessions, [e for events in answered for e in events])
    rollups.build_missing(sessions, now=NOW, zone=UTC_ZONE)
    answer, reads = _answer_and_reads(sessions, "frt 2026-06-29..2026-11-08 by week", monkeypatch)
    assert reads == ["frt"]
    assert sum(row.figures["count"] for row in answer.rows) == 5 == answer.total.figures["count"]


def test_a_read_of_some_days_takes_their_rows_and_names_the_days_it_lacks() -> None:
    nov = [datetime(2026, 11, day).date() for day in range(1, 6)]
    found = [(nov[0], _packed((1, 10))), (nov[1], _packed((1, 20), (1, 21))), (nov[3], _packed((1, 40)))]
    where, packed = rollups._unpacked(iter(found), {nov[0]: 1, nov[1]: 2, nov[3]: 1}, 1)
    days = rollups._DaysRead(where, np.zeros(len(packed), dtype=np.int32), packed, rollups._Dims())
    missing, codes, rows = days.rows(nov[1:4])
    assert missing == [nov[2]] and rows[:, 1].tolist() == [20, 21, 40] and len(codes) == 3
    missing, _, rows = days.rows(nov[:2])
    assert missing == [] and rows[:, 1].tolist() == [10, 20, 21] and rows.base is not None  # a view: no copy


def _volume(sessions: Any) -> tuple[Any, Any]:
    query = parse_query("volume 2026-11-01..2026-11-09", now=NOW, tz=UTC_ZONE)
    assert isinstance(query, MetricQuery)
    figures = answer_query(sessions, Settings(timezone="UTC"), query, now=NOW).total.figures
    return figures["incoming"], figures["outgoing"]


def test_messages_are_kept_as_a_number_per_day_and_built_days_are_converted_by_the_migration(
        database_url: str, sessions: Any) -> None:
    """Volume only counts messages: a day keeps how many each kind of ticket got, not a row each.
    Migration 0015 turns days packed a row per message into that, and back on a downgrade (0017
    then drops them all, to be built again with their tags)."""
    story = TicketStory(datetime(2026, 11, 2, 10, tzinfo=UTC), "t1").wrote("+0m").replied("+5m").wrote("+1h")
    store_events(sessions, story.replied("+2h").events + _first_responses(10, 20))  # t2 and t3 get one reply each
    assert _volume(sessions) == (2, 4)  # from the tickets
    rollups.build_missing(sessions, now=NOW, zone=UTC_ZONE)
    assert _volume(sessions) == (2, 4)

    def packed(day: int) -> dict[str, int]:
        with unit_of_work(sessions) as session:
            found = session.execute(select(DailyMeasure.measure, DailyMeasure.rows).where(
                DailyMeasure.measure.in_(["incoming", "outgoing", "incoming_count", "outgoing_count",
                                          "incoming_by_tag", "outgoing_by_tag"]),
                DailyMeasure.day == datetime(2026, 11, day).date()))
            return {measure: rows for measure, rows in found}

    # 2 November's messages: alike tickets, with their tags too
    assert packed(2) == {"incoming_count": 1, "outgoing_count": 1, "incoming_by_tag": 1, "outgoing_by_tag": 1}
    command.downgrade(alembic_config(database_url), "0014")
    assert packed(2) == {"incoming": 2, "outgoing": 3}  # the older layout: a row per message
    command.upgrade(alembic_config(database_url), "0015")
    assert packed(2) == {"incoming_count": 1, "outgoing_count": 1}
    upgrade(database_url)  # 0017 drops every built day: their tuples lack the tags
    assert packed(2) == {}
    assert _volume(sessions) == (2, 4)
    rollups.build_missing(sessions, now=NOW, zone=UTC_ZONE)
    with unit_of_work(sessions) as session:
        assert session.scalar(select(func.count()).select_from(StaleSpan)) == 0
        session.execute(update(DailyMeasure).where(DailyMeasure.measure == "outgoing_count",
                                                   DailyMeasure.day == datetime(2026, 11, 2).date())
                        .values(rows=0, data=b""))
    assert _volume(sessions) == (2, 1)  # the built days were read


def test_a_built_day_without_a_measure_is_read_from_the_tickets(sessions: Any) -> None:
    """A replica still on an older release may build a day while a newer one runs: a measure that
    release did not keep is missing from that day, and questions read the day raw, not as empty."""
    store_events(sessions, _first_responses(10, 20, 30))
    rollups.build_missing(sessions, now=NOW, zone=UTC_ZONE)
    with unit_of_work(sessions) as session:
        session.execute(delete(DailyMeasure).where(DailyMeasure.measure == "frt",
                                                   DailyMeasure.day == datetime(2026, 11, 3).date()))
    assert _frt(sessions) == (20 * 60, 3)


def _packed(*rows: tuple[float, float]) -> bytes:
    return np.array(rows, dtype=np.float64).tobytes()  # each row: its attributes' id, then its number


def test_a_day_rebuilt_between_counting_its_rows_and_reading_them_loses_no_row() -> None:
    """A read counts each day's rows, sizes one array, then streams the days into it. Another
    process may rebuild a day in between: 3 November grew from 2 rows to 3 and 4 November shrank
    to none; every row read is kept, none is made up."""
    nov2, nov3, nov4 = (datetime(2026, 11, day).date() for day in (2, 3, 4))
    found = [(nov2, _packed((1, 10), (1, 20))), (nov3, _packed((2, 30), (2, 40), (2, 50)))]
    where, packed = rollups._unpacked(iter(found), {nov2: 2, nov3: 2, nov4: 1}, 1)
    assert packed[:, 1].tolist() == [10, 20, 30, 40, 50]
    assert where == {nov2: (0, 2), nov3: (2, 5)}  # each day's rows, for a read of some of the days
    where, packed = rollups._unpacked(iter(found[::-1]), {nov2: 1, nov3: 3}, 1)  # 2 November counted 1 row, read 2
    assert packed[:, 1].tolist() == [30, 40, 50, 10, 20]
    assert where == {nov3: (0, 3), nov2: (3, 5)}
