"""The words after a slash command, for a fixed `now` (bot/grammar.py; docs/metrics.md, "Periods")."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.grammar import COMPARISONS, DIMENSIONS, FILTERS, PERIODS, CustomerQuery, QueryError, help_text, parse_query
from metrics.catalog import METRICS, Compare, MetricQuery
from metrics.dimensions import Dimension, Filter
from metrics.periods import Unit
from tests.support.tickets import BERLIN

MONDAY = datetime(2026, 11, 23, 10, 30, tzinfo=BERLIN)


def ask(text: str, now: datetime = MONDAY, week_start: int = 0) -> MetricQuery:
    query = parse_query(text, now=now, tz=BERLIN, week_start=week_start)
    assert isinstance(query, MetricQuery)
    return query


@pytest.mark.parametrize(("text", "start", "end"), [
    ("csat today", "2026-11-23 00:00", "2026-11-23 10:30"),
    ("csat yesterday", "2026-11-22 00:00", "2026-11-23 00:00"),
    ("csat this week", "2026-11-23 00:00", "2026-11-23 10:30"),
    ("csat last week", "2026-11-16 00:00", "2026-11-23 00:00"),
    ("csat this month", "2026-11-01 00:00", "2026-11-23 10:30"),
    ("csat last month", "2026-10-01 00:00", "2026-11-01 00:00"),
    ("csat last quarter", "2026-07-01 00:00", "2026-10-01 00:00"),
    ("csat this year", "2026-01-01 00:00", "2026-11-23 10:30"),
    ("csat last year", "2025-01-01 00:00", "2026-01-01 00:00"),
    ("csat last hour", "2026-11-23 09:30", "2026-11-23 10:30"),
    ("csat last 24 hours", "2026-11-22 10:30", "2026-11-23 10:30"),
    ("csat last 7 days", "2026-11-16 00:00", "2026-11-23 00:00"),
    ("csat past 2 weeks", "2026-11-09 00:00", "2026-11-23 00:00"),
    ("csat last 3 months", "2026-08-01 00:00", "2026-11-01 00:00"),
    ("csat since 2026-11-01", "2026-11-01 00:00", "2026-11-23 10:30"),
    ("csat 2026-10-01..2026-10-31", "2026-10-01 00:00", "2026-11-01 00:00"),
    ("csat 2026-10-01 to 2026-10-31", "2026-10-01 00:00", "2026-11-01 00:00"),
    ("csat 2026-10-15", "2026-10-15 00:00", "2026-10-16 00:00"),
    ("csat 2026-02", "2026-02-01 00:00", "2026-03-01 00:00"),
    ("csat friday", "2026-11-20 00:00", "2026-11-21 00:00"),
    ("csat monday", "2026-11-23 00:00", "2026-11-23 10:30"),
    ("csat last monday", "2026-11-16 00:00", "2026-11-17 00:00"),
    ("csat", "2026-11-16 00:00", "2026-11-23 00:00"),  # default: the last 7 days
])
def test_periods(text: str, start: str, end: str) -> None:
    period = ask(text).period
    assert period.start.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M") == start
    assert period.end.astimezone(BERLIN).strftime("%Y-%m-%d %H:%M") == end


def test_weeks_can_start_on_sunday() -> None:
    assert ask("volume this week", week_start=6).period.start == datetime(2026, 11, 22, tzinfo=BERLIN)


def test_a_day_across_the_spring_dst_change_has_23_hours() -> None:
    query = ask("frt yesterday", now=datetime(2026, 3, 30, 9, 0, tzinfo=BERLIN))
    assert query.period.seconds == 23 * 3600
    assert query.comparison is not None and query.comparison.seconds == 24 * 3600  # Saturday 28 March


def test_a_day_across_the_autumn_dst_change_has_25_hours() -> None:
    assert ask("frt yesterday", now=datetime(2026, 10, 26, 9, 0, tzinfo=BERLIN)).period.seconds == 25 * 3600


def test_a_week_across_dst_starts_and_ends_at_local_midnight() -> None:
    period = ask("volume last week", now=datetime(2026, 3, 30, 9, 0, tzinfo=BERLIN)).period
    assert period.start.astimezone(UTC) == datetime(2026, 3, 22, 23, 0, tzinfo=UTC)
    assert period.end.astimezone(UTC) == datetime(2026, 3, 29, 22, 0, tzinfo=UTC)


def test_month_so_far_is_compared_with_the_same_stretch_of_the_month_before() -> None:
    query = ask("volume this month", now=datetime(2026, 3, 31, 12, 0, tzinfo=BERLIN))
    assert query.comparison is not None
    assert query.comparison.start == datetime(2026, 2, 1, tzinfo=BERLIN)
    assert query.comparison.end == datetime(2026, 3, 1, tzinfo=BERLIN)  # February has no 31st: all of it


def test_year_end() -> None:
    new_year = datetime(2027, 1, 1, 8, 0, tzinfo=BERLIN)
    assert ask("csat last year", now=new_year).period.start == datetime(2026, 1, 1, tzinfo=BERLIN)
    assert ask("csat this week", now=new_year).period.start == datetime(2026, 12, 28, tzinfo=BERLIN)
    assert ask("csat yesterday", now=new_year).period.start == datetime(2026, 12, 31, tzinfo=BERLIN)


@pytest.mark.parametrize(("text", "compare", "start"), [
    ("volume last week", Compare.PREVIOUS, "2026-11-09"),
    ("volume this month vs last year", Compare.YEAR, "2025-11-01"),
    ("volume last week vs last month", Compare.MONTH, "2026-10-16"),
    ("volume yesterday vs last week", Compare.WEEK, "2026-11-15"),
    ("volume last 7 days vs previous", Compare.PREVIOUS, "2026-11-09"),
])
def test_comparisons(text: str, compare: Compare, start: str) -> None:
    query = ask(text)
    assert query.compare is compare
    assert query.comparison is not None and query.comparison.start.strftime("%Y-%m-%d") == start


def test_no_comparison() -> None:
    assert ask("volume last week vs none").comparison is None


def test_breakdowns_filters_and_metric_aliases() -> None:
    query = ask("first-response yesterday by channel priority:urgent tag:shipping")
    assert query.metric is METRICS["frt"] and query.group_by is Dimension.CHANNEL
    assert query.filters == (Filter(Dimension.PRIORITY, "urgent"), Filter(Dimension.TAG, "shipping"))
    assert ask("resolution 2026-10-01..2026-10-31 channel:email").filters == (Filter(Dimension.CHANNEL, "email"),)
    assert ask("frt yesterday chat").filters == (Filter(Dimension.CHANNEL, "chat"),)
    assert ask("volume this month by day").group_by is Unit.DAY
    assert ask("agents last 7 days").metric is METRICS["agents"]
    assert ask("one-touch last month").metric is METRICS["outcomes"]
    assert ask("backlog").metric.at_end


def test_customer_questions() -> None:
    assert parse_query("customer jane@example.com", now=MONDAY, tz=BERLIN) == CustomerQuery("jane@example.com")


@pytest.mark.parametrize(("text", "word", "suggestion"), [
    ("csta last week", "csta", "csat"),
    ("frt fortnite", "fortnite", None),
    ("csat lst week", "lst", "last week"),
    ("csat yestrday by channel", "yestrday", "yesterday"),
    ("frt last week by chanel", "chanel", "channel"),
    ("frt last week chanel:email", "chanel:email", "channel"),
    ("frt last week channel:emial", "channel:emial", "email"),
    ("frt last week yesterday", "yesterday", None),
    ("frt last week vs last decade", "last decade", "last year"),
    ("frt 2026-02-30", "2026-02-30", None),
    ("frt 2026-10-31..2026-10-01", "2026-10-31 .. 2026-10-01", None),
    ("frt since 2027-01-01", "since 2027-01-01", None),
    ("frt last 0 days", "last 0 days", None),
    ("frt 2026-13", "2026-13", None),
    ("", "", None),
    ("customer", "customer", None),
])
def test_unreadable_queries_name_the_word_and_a_close_match(text: str, word: str, suggestion: str | None) -> None:
    with pytest.raises(QueryError) as caught:
        parse_query(text.replace(" .. ", ".."), now=MONDAY, tz=BERLIN)
    error = caught.value
    assert error.word.replace("..", " .. ") == word or error.word == word.replace(" .. ", "..")
    assert error.suggestion == suggestion
    assert str(error)  # a sentence for the user, never empty


def test_help_is_generated_from_the_parser_tables() -> None:
    text = help_text("/deskpulse")
    for word in [*METRICS, *PERIODS, *DIMENSIONS, *FILTERS, *COMPARISONS]:
        assert word in text
    for metric in METRICS.values():  # every example in the help parses
        ask(metric.example)
