"""The demo team looks like a real small team, and its history passes the real pipeline."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.demo import DEMO_TIMEZONE, demo_history
from metrics.model import Channel, Csat
from metrics.tickets import Ticket, fold_ticket
from storage.ingest.adapters.contract import Delivery
from storage.ingest.adapters.deskpulse import to_events

END = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def team() -> list[Ticket]:
    folded = []
    for ticket in demo_history(end=END, days=90, seed=7):
        events = [e for body in ticket.deliveries for e in to_events(
            Delivery(headers={}, body=b"", payload=body, hint=None, received_at=END))]
        assert all(e.occurred_at <= END for e in events)
        folded.append(fold_ticket(events))
    return folded


def test_the_same_seed_gives_the_same_history() -> None:
    first = [t.deliveries for t in demo_history(end=END, days=5, seed=3)]
    assert first == [t.deliveries for t in demo_history(end=END, days=5, seed=3)]
    assert first != [t.deliveries for t in demo_history(end=END, days=5, seed=4)]


def test_chat_is_answered_faster_than_email(team: list[Ticket]) -> None:
    def median_frt(channel: Channel) -> float:
        return statistics.median(t.first_response_seconds for t in team
                                 if t.channel == channel and t.first_response_seconds is not None)

    assert median_frt(Channel.CHAT) < median_frt(Channel.SOCIAL) < median_frt(Channel.EMAIL)


def test_weekends_are_quiet(team: list[Ticket]) -> None:
    zone = ZoneInfo(DEMO_TIMEZONE)
    days = Counter(t.created_at.astimezone(zone).date() for t in team if t.removed is None)
    weekend = [n for day, n in days.items() if day.weekday() >= 5]
    weekday = [n for day, n in days.items() if day.weekday() < 5]
    assert statistics.median(weekend) < 0.5 * statistics.median(weekday)


def test_ratings_reopens_abandonment_backlog_and_one_touch_are_plausible(team: list[Ticket]) -> None:
    live = [t for t in team if t.removed is None]
    rated = [t for t in live if t.csat is not None]
    resolved = [t for t in live if t.is_resolved]
    assert 0.7 <= sum(t.csat == Csat.GOOD for t in rated) / len(rated) <= 0.95
    assert any(t.reopens for t in live) and any(t.abandoned for t in resolved)
    assert 10 <= len(live) - len(resolved) <= 100
    assert 0.4 <= sum(t.one_touch for t in resolved) / len(resolved) <= 0.8
    assert len({a for t in live for a in t.agents}) == 8
