"""A question of a quarter or longer reads its period and the comparison period at the same time,
each on a session of its own, and the answer is the one read one period after the other."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from bot.ask import answer_query
from bot.grammar import parse_query
from bot.settings import Settings
from metrics.catalog import METRICS, MetricQuery, Source, answer_from
from metrics.model import Channel
from metrics.periods import Period
from storage import figures as stored_figures
from storage import tickets as ticket_store
from storage.db import unit_of_work
from storage.figures import StoredSource
from tests.support.tickets import TicketStory

UTC_ZONE = ZoneInfo("UTC")
NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
THIS_YEAR = Period(datetime(2025, 11, 9, tzinfo=UTC), datetime(2026, 11, 9, tzinfo=UTC), "this year")
LAST_YEAR = THIS_YEAR.previous()
THIS_WEEK = Period(datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 9, tzinfo=UTC), "this week")
FRT = METRICS["frt"]


@pytest.fixture
def sessions(store: tuple[str, Any]) -> Any:
    """Last year three first responses (10, 20 and 30 min), this year two (5 and 50 min), both
    this week."""
    _, sessions = store
    stories = [(LAST_YEAR.start, 10), (LAST_YEAR.start + timedelta(days=100), 20), (LAST_YEAR.start, 30),
               (THIS_WEEK.start, 5), (THIS_WEEK.start + timedelta(days=2), 50)]
    events = []
    for n, (day, minutes) in enumerate(stories):
        story = TicketStory(day + timedelta(hours=10), f"t{n}", channel=Channel.CHAT if n % 2 else Channel.EMAIL)
        events += story.replied(f"+{minutes}m").events
    with unit_of_work(sessions) as session:
        ticket_store.save_events_many(session, [(None, events)])
        ticket_store.store(session, ticket_store.fold_with(session, events).tickets)
    return sessions


def _frt_and_lane(source: Source, period: Period) -> tuple[float | None, str, int]:
    assert isinstance(source, StoredSource)
    median = source.figures(FRT, period, None)["all"]["median"]
    return median, threading.current_thread().name, id(source.session)


def test_the_comparison_period_is_read_on_a_second_lane_with_its_own_session(sessions: Any) -> None:
    started = threading.Event()

    def work(source: Source, period: Period) -> tuple[float | None, str, int]:
        if period == THIS_YEAR:  # the first lane waits until the second has begun: both run at once
            assert started.wait(10)
        else:
            started.set()
        return _frt_and_lane(source, period)

    with sessions() as session:
        source = StoredSource(session, [], Settings().metric_context(NOW), sessions=sessions)
        (now, now_thread, now_session), (before, before_thread, before_session) = \
            source.side_by_side(work, [THIS_YEAR, LAST_YEAR])
    assert (now, before) == (27.5 * 60, 20 * 60)
    assert now_thread == threading.current_thread().name and before_thread.startswith("deskpulse-lane")
    assert now_session == id(session) != before_session


def test_when_no_second_lane_is_free_the_caller_reads_every_period(sessions: Any) -> None:
    release = threading.Event()
    busy = [stored_figures._SECOND_LANE.submit(release.wait, 10) for _ in range(2)]  # both pooled threads
    try:
        with sessions() as session:
            source = StoredSource(session, [], Settings().metric_context(NOW), sessions=sessions)
            read = source.side_by_side(_frt_and_lane, [THIS_YEAR, LAST_YEAR])
    finally:
        release.set()
        [f.result() for f in busy]
    assert [median for median, _, _ in read] == [27.5 * 60, 20 * 60]
    assert {lane for _, lane, _ in read} == {threading.current_thread().name}
    assert {session_id for _, _, session_id in read} == {id(session)}


def test_a_week_is_read_on_one_lane(sessions: Any) -> None:
    """A second session costs about what it saves on short periods (bench/query.py)."""
    with sessions() as session:
        source = StoredSource(session, [], Settings().metric_context(NOW), sessions=sessions)
        read = source.side_by_side(_frt_and_lane, [THIS_WEEK, THIS_WEEK.previous()])
    assert [median for median, _, _ in read] == [27.5 * 60, None]
    assert {(lane, session_id) for _, lane, session_id in read} == {(threading.current_thread().name, id(session))}


def test_an_error_in_the_second_lane_reaches_the_question(sessions: Any) -> None:
    def work(source: Source, period: Period) -> float | None:
        if period == LAST_YEAR:
            raise RuntimeError("the comparison period could not be read")
        return source.figures(FRT, period, None)["all"]["median"]

    with sessions() as session:
        source = StoredSource(session, [], Settings().metric_context(NOW), sessions=sessions)
        with pytest.raises(RuntimeError, match="comparison period"):
            source.side_by_side(work, [THIS_YEAR, LAST_YEAR])


@pytest.mark.parametrize("text", ["frt 2025-11-09..2026-11-08", "frt 2025-11-09..2026-11-08 by channel",
                                  "agents 2025-11-09..2026-11-08", "level 2025-11-09..2026-11-08",
                                  "volume 2025-11-09..2026-11-08 by week", "frt 2026-11-02..2026-11-08"])
def test_two_lanes_give_the_answer_of_one(sessions: Any, text: str) -> None:
    query = parse_query(text, now=NOW, tz=UTC_ZONE)
    assert isinstance(query, MetricQuery)
    settings = Settings(timezone="UTC")
    context = settings.metric_context(NOW)
    with sessions() as session:
        one_lane = answer_from(query, StoredSource(session, query.filters, context), context)
    assert answer_query(sessions, settings, query, now=NOW) == one_lane
    assert one_lane.total.figures != {} and one_lane.total.previous is not None


def _parallel_workers(source: Source, period: Period) -> str | None:
    assert isinstance(source, StoredSource)
    if source.dialect != "postgresql":
        return None
    return str(source.session.execute(text("SHOW max_parallel_workers_per_gather")).scalar())


def test_the_slices_of_a_period_are_read_without_parallel_workers_on_both_lanes(sessions: Any) -> None:
    """Each slice's edge is a small read, where starting PostgreSQL's workers costs more than it saves."""
    slices = [Period(THIS_YEAR.start + timedelta(weeks=n), THIS_YEAR.start + timedelta(weeks=n + 1), "week")
              for n in range(52)]
    with sessions() as session:
        source = StoredSource(session, [], Settings().metric_context(NOW), sessions=sessions)
        before = _parallel_workers(source, THIS_YEAR)
        with source.reading(THIS_YEAR):
            during = source.side_by_side(_parallel_workers, slices)
        after = _parallel_workers(source, THIS_YEAR)
    if source.dialect == "postgresql":
        assert before == after != "0"
        assert set(during) == {"0"}
    else:
        assert set(during) == {None}
