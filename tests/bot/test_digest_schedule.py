"""When a digest is due, what it covers, and which earlier days are "usual" (pure)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.digest.commands import DigestList, DigestOff, SetDigest, parse_digest_command
from bot.digest.compose import earlier_same_periods
from bot.digest.schedule import due_digest
from storage.subscriptions import DigestPlan

BERLIN = ZoneInfo("Europe/Berlin")
GRACE = timedelta(hours=6)
DAILY = DigestPlan(channel_id="C1", cadence="daily", at_time="09:00", timezone="Europe/Berlin",
                   created_at=datetime(2026, 10, 1, tzinfo=BERLIN))
WEEKLY = DigestPlan(channel_id="C1", cadence="weekly", at_time="08:30", timezone="Europe/Berlin", weekday=0,
                    created_at=datetime(2026, 10, 1, tzinfo=BERLIN))


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def test_the_daily_digest_at_nine_covers_the_day_before() -> None:
    due = due_digest(DAILY, berlin(2026, 11, 24, 9, 0, 30), grace=GRACE)
    assert due is not None and due.key == "2026-11-23"
    assert (due.period.start, due.period.end) == (berlin(2026, 11, 23), berlin(2026, 11, 24))
    assert due.slot == berlin(2026, 11, 24, 9, 0)


def test_before_nine_nothing_new_is_due_and_yesterdays_grace_has_run_out() -> None:
    assert due_digest(DAILY, berlin(2026, 11, 24, 8, 59), grace=GRACE) is None


def test_a_slot_missed_while_down_is_due_until_the_grace_period_ends() -> None:
    assert due_digest(DAILY, berlin(2026, 11, 24, 14, 59), grace=GRACE) is not None
    assert due_digest(DAILY, berlin(2026, 11, 24, 15, 1), grace=GRACE) is None


def test_a_subscription_made_after_todays_slot_starts_tomorrow() -> None:
    made_at_ten = DigestPlan(**{**DAILY.__dict__, "created_at": berlin(2026, 11, 24, 10, 0)})
    assert due_digest(made_at_ten, berlin(2026, 11, 24, 10, 1), grace=GRACE) is None
    assert due_digest(made_at_ten, berlin(2026, 11, 25, 9, 0), grace=GRACE) is not None


def test_the_day_clocks_go_back_is_25_hours_long() -> None:
    due = due_digest(DAILY, berlin(2026, 10, 26, 9, 0), grace=GRACE)
    assert due is not None and due.period.seconds == 25 * 3600 and due.key == "2026-10-25"


def test_the_weekly_digest_on_monday_covers_the_last_whole_week() -> None:
    due = due_digest(WEEKLY, berlin(2026, 11, 23, 8, 31), grace=GRACE)
    assert due is not None and due.key == "2026-11-16/week"
    assert (due.period.start, due.period.end) == (berlin(2026, 11, 16), berlin(2026, 11, 23))
    assert due_digest(WEEKLY, berlin(2026, 11, 24, 8, 31), grace=GRACE) is None  # Tuesday: not due


def test_the_usual_day_leaves_holidays_out() -> None:
    christmas = DigestPlan(**{**DAILY.__dict__})
    due = due_digest(christmas, berlin(2026, 12, 31, 9, 0), grace=GRACE)  # covers Wednesday 30 December
    assert due is not None
    holidays = {date(2026, 12, 23): "Made-up holiday"}
    earlier = earlier_same_periods(due.period, "daily", holidays)
    assert [p.start.date() for p in earlier] == [date(2026, 12, 16), date(2026, 12, 9), date(2026, 12, 2),
                                                date(2026, 11, 25)]


@pytest.mark.parametrize("text, command", [
    ("digest daily 09:00", SetDigest("daily", "09:00", None, "", None)),
    ("digest daily 9am channel:chat", SetDigest("daily", "09:00", None, "channel:chat", None)),
    ("digest daily 12am", SetDigest("daily", "00:00", None, "", None)),
    ("digest daily 5:30pm tz:America/New_York", SetDigest("daily", "17:30", None, "", "America/New_York")),
    ("digest weekly Friday 16:00 tag:shipping", SetDigest("weekly", "16:00", 4, "tag:shipping", None)),
    ("digest off", DigestOff(None)), ("digest off weekly", DigestOff("weekly")),
    ("digest", DigestList()), ("digest list", DigestList()),
])
def test_digest_commands(text: str, command: object) -> None:
    assert parse_digest_command(text) == command
