"""The demo team looks like a real small team, and its history passes the real pipeline."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.demo import DEMO_TIMEZONE, demo_history, demo_orders
from metrics.model import Channel, Csat, Event, OrderPlaced, TicketEvent, customer_key
from metrics.orders import LAPSE_DAYS, Contact, Purchase, attribute, retention
from metrics.periods import Period
from metrics.tickets import Ticket, fold_ticket
from storage.ingest.adapters.contract import Delivery
from storage.ingest.adapters.deskpulse import to_events

END = datetime(2026, 11, 23, 7, 30, tzinfo=UTC)


def _read(body: dict[str, object]) -> list[Event]:
    return to_events(Delivery(headers={}, body=b"", payload=body, hint=None, received_at=END))


@pytest.fixture(scope="module")
def history() -> tuple[list[Ticket], list[OrderPlaced]]:
    folded, bought = [], []
    for ticket in demo_history(end=END, days=90, seed=7):
        events = [e for body in ticket.deliveries for e in _read(body)]
        facts = [e for e in events if isinstance(e, TicketEvent)]
        assert all(e.occurred_at <= END for e in facts)
        folded.append(fold_ticket(facts))
        bought += [e for e in events if isinstance(e, OrderPlaced)]
    shop = [e for body in demo_orders(end=END, days=90, seed=7) for e in _read(body)]
    assert shop and all(isinstance(e, OrderPlaced) and e.placed_at <= END for e in shop)
    return folded, bought + shop  # type: ignore[operator]


@pytest.fixture(scope="module")
def team(history: tuple[list[Ticket], list[OrderPlaced]]) -> list[Ticket]:
    return history[0]


def test_product_questions_turn_into_sales_more_often_than_other_tickets(
        history: tuple[list[Ticket], list[OrderPlaced]]) -> None:
    tickets, bought = history
    live = [t for t in tickets if t.removed is None]
    converted = attribute([Contact(t.key, customer_key(t.source, t.requester) or "", t.created_at) for t in live],
                          [Purchase(o.order_id, o.customer_key or "", o.placed_at) for o in bought],
                          timedelta(days=5))

    def rate(tickets: list[Ticket]) -> float:
        return sum(t.key in converted for t in tickets) / len(tickets)

    questions = [t for t in live if "product-question" in t.tags]
    others = [t for t in live if "product-question" not in t.tags]
    assert 0.05 <= rate(live) <= 0.4
    assert rate(questions) > 2 * rate(others)


def test_some_buyers_of_over_a_year_ago_lapse_so_retention_is_below_a_hundred(
        history: tuple[list[Ticket], list[OrderPlaced]]) -> None:
    _, bought = history
    purchases = [Purchase(o.order_id, o.customer_key or "", o.placed_at) for o in bought]
    last_month = Period(END - timedelta(days=30), END, "the last 30 days")
    figures = retention(purchases, last_month, timedelta(days=LAPSE_DAYS))
    assert figures["at_start"] > 1000 and figures["new"] > 0
    assert 80 < (figures["rate"] or 0) < 100


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
