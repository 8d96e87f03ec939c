"""Each server process builds the business-hours clock as it starts, so no question waits for it."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.runtime import warm_business_clock
from bot.settings import Settings
from metrics import business_hours

NOW = datetime(2026, 11, 23, 9, tzinfo=UTC)


def test_the_clock_of_the_configured_business_hours_is_built_on_a_thread_at_start() -> None:
    settings = Settings(timezone="Europe/Berlin", business_hours="mon-fri 08:00-18:00")
    business_hours._clock.cache_clear()
    thread = warm_business_clock(settings, NOW)
    assert thread is not None
    thread.join()
    calendar = settings.calendar()
    assert calendar is not None
    assert business_hours._clock.cache_info().currsize == 1
    assert business_hours._clock(calendar).index.holds(2025, 2027)  # yesterday's question needs no year built


def test_without_business_hours_there_is_no_clock_to_build() -> None:
    assert warm_business_clock(Settings(), NOW) is None
