"""When a digest is due and which period it covers (pure: `now` is an argument).

A daily digest at 09:00 covers the local day before; a weekly one covers the last whole
week (weeks start on the configured weekday). A slot missed while deskpulse was down is
still due within the grace period, once; slots before the subscription was made are not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from metrics.periods import Period, Unit, day_range, local
from storage.subscriptions import DigestPlan

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Due:
    slot: datetime  # when the digest was due
    period: Period
    key: str  # one key per period: a digest is posted once per key


def due_digest(plan: DigestPlan, now: datetime, *, grace: timedelta, week_start: int = 0) -> Due | None:
    """The digest to post at `now`, if its latest slot has passed within the grace period."""
    slot = latest_slot(plan, now)
    if slot is None or now - slot > grace or (plan.created_at is not None and slot < plan.created_at):
        return None
    return Due(slot, *covered(plan, slot.astimezone(ZoneInfo(plan.timezone)).date(), week_start=week_start))


def latest_slot(plan: DigestPlan, now: datetime) -> datetime | None:
    """The last moment at or before `now` when the digest was due."""
    tz = ZoneInfo(plan.timezone)
    at = time.fromisoformat(plan.at_time)
    today = now.astimezone(tz).date()
    for back in range(8):
        day = today - timedelta(days=back)
        if plan.cadence == "weekly" and day.weekday() != plan.weekday:
            continue
        slot = local(day, tz, at)
        if slot <= now:
            return slot
    return None


def covered(plan: DigestPlan, slot_day: date, *, week_start: int = 0) -> tuple[Period, str]:
    """The period a digest posted on `slot_day` reports, and its key."""
    tz = ZoneInfo(plan.timezone)
    if plan.cadence == "weekly":
        this_week = slot_day - timedelta(days=(slot_day.weekday() - week_start) % 7)
        first = this_week - timedelta(days=7)
        period = day_range(first, first + timedelta(days=6), tz, label=f"the week of {first:%d %b}")
        return Period(period.start, period.end, period.label, Unit.WEEK, 1), f"{first.isoformat()}/week"
    day = slot_day - timedelta(days=1)
    return day_range(day, day, tz, label=f"{WEEKDAY_NAMES[day.weekday()]} {day:%d %b}"), day.isoformat()


def describe(plan: DigestPlan) -> str:
    """`daily at 09:00 (Europe/Berlin): the day before, only channel:chat`, as the channel reads it."""
    when = f"every {WEEKDAY_NAMES[plan.weekday or 0]}" if plan.cadence == "weekly" else "every day"
    covers = "last week's numbers" if plan.cadence == "weekly" else "yesterday's numbers"
    only = f", only `{plan.filters}`" if plan.filters else ""
    return f"{plan.cadence} digest {when} at {plan.at_time} ({plan.timezone}): {covers}{only}"
