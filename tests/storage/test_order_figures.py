"""Converted tickets and retention read from SQLite and PostgreSQL equal the plain-Python
reference (metrics/orders.py over every ticket and order in memory), for random histories of a
few customers who write, buy, sometimes write again, and sometimes cancel or get money back
(stored before their orders, and delivered twice)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from bot.ask import answer_query
from bot.grammar import parse_query
from bot.settings import Settings
from metrics.catalog import MetricQuery, answer
from metrics.model import Channel, OrderCancelled, OrderFact, OrderPlaced, OrderRefunded, Person, TicketEvent
from metrics.tickets import fold_ticket
from storage import orders as order_store
from storage import tickets as ticket_store
from storage.db import unit_of_work
from storage.tables import OrderChangeRow, OrderRow, TicketEventRow, TicketMessage, TicketRow, TicketSpan, TicketTag
from tests.storage.test_metric_reads import comparable
from tests.support.tickets import BERLIN, TicketStory

NOW = datetime(2026, 11, 23, 10, 30, tzinfo=BERLIN)
START = datetime(2026, 10, 1, tzinfo=UTC)
CUSTOMERS = ["cleo@example.com", "Noah@Example.com", "mia@example.com", None]  # None: no e-mail known
QUESTIONS = ["conversions last week", "conversions last 3 weeks by channel", "conversions last 2 weeks channel:chat",
             "conversions last 3 weeks by tag", "conversions last 2 weeks by day", "conversions last month",
             "retention last week", "retention last 4 weeks by week", "retention last month"]

tickets = st.lists(st.tuples(
    st.integers(0, 50 * 24 * 60),  # opened, minutes after START
    st.sampled_from([Channel.EMAIL, Channel.CHAT]),
    st.sampled_from(CUSTOMERS),
    st.lists(st.sampled_from(["sizing", "shipping"]), max_size=2, unique=True),
    st.booleans(),  # marked as spam
), max_size=10)
purchases = st.lists(st.tuples(
    st.integers(0, 14),  # the ticket it follows (by index), or none when there is no such ticket
    st.integers(0, 8 * 24 * 60),  # minutes after that ticket's opening
    st.integers(0, 55 * 24 * 60),  # else minutes after START
    st.sampled_from(["cleo@example.com", "NOAH@example.com", "mia@example.com", "ola@example.com"]),
    st.sampled_from([19.5, 80.0]),
    st.lists(st.tuples(  # what happens to it afterwards
        st.sampled_from(["cancelled", "refund"]),
        st.sampled_from([0.0, 5.0, 14.5, 19.5, 80.0]),  # a refund's amount: some equal a total
        st.sampled_from(["EUR", "EUR", "USD", None]),  # a refund's currency
    ), max_size=3),
), max_size=12)


def _ticket(index: int, plan: tuple[Any, ...]) -> list[TicketEvent]:
    opened, channel, customer, tags, spam = plan
    story = TicketStory(START + timedelta(minutes=opened), str(index), channel=channel, tags=tuple(tags),
                        requester=Person(id=f"r{index}", email=customer))
    if spam:
        story.spam("+10m")
    return story.events


def _order(index: int, plan: tuple[Any, ...], tickets: list[tuple[Any, ...]]) -> OrderPlaced:
    """Most orders follow a ticket within days, around the window's edge; the others fall anywhere."""
    follows, delay, placed, customer, total, _ = plan
    minutes = placed
    if follows < len(tickets):
        minutes = tickets[follows][0] + delay
        customer = tickets[follows][2] or customer
    return OrderPlaced(source="shop", order_id=str(index), placed_at=START + timedelta(minutes=minutes),
                       customer=Person(email=customer), total=total, currency="EUR")


def _changes(index: int, plan: tuple[Any, ...]) -> list[OrderFact]:
    """The order's cancellations (any number: one counts) and refunds, a day after it at most."""
    *_, changes = plan
    at = START + timedelta(days=60)
    return [OrderCancelled(source="shop", order_id=str(index), cancelled_at=at) if kind == "cancelled" else
            OrderRefunded(source="shop", order_id=str(index), refund_id=f"r{n}", refunded_at=at, amount=amount,
                          currency=currency)
            for n, (kind, amount, currency) in enumerate(changes)]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plans=tickets, bought=purchases)
def test_stored_conversions_and_retention_equal_the_reference(store: Any, plans: list[tuple[Any, ...]],
                                                              bought: list[tuple[Any, ...]]) -> None:
    url, sessions = store
    histories = [_ticket(i, plan) for i, plan in enumerate(plans)]
    placed = [_order(i, plan, plans) for i, plan in enumerate(bought)]
    with unit_of_work(sessions) as session:
        for table in (TicketTag, TicketMessage, TicketSpan, TicketRow, TicketEventRow, OrderRow, OrderChangeRow):
            session.execute(delete(table))
        events = [e for h in histories for e in h]
        folded, failures, _ = ticket_store.fold_with(session, events)
        assert not failures
        ticket_store.store(session, folded)
        changes = [c for i, plan in enumerate(bought) for c in _changes(i, plan)]
        order_store.save_many(session, [(None, changes)])  # cancellations and refunds before their orders
        order_store.save_many(session, [(None, placed), (None, placed[:2]), (None, changes)])  # re-delivered
    with sessions() as session:
        everything = order_store.all_purchases(session)
    undone = {c.order_id for c in changes if isinstance(c, OrderCancelled)}
    assert len(everything) <= len(placed) - len(undone)
    config = Settings(database_url=url, timezone="Europe/Berlin", customer_lapse_days=21)
    reference = [fold_ticket(h) for h in histories]
    for text in QUESTIONS:
        query = parse_query(text, now=NOW, tz=BERLIN)
        assert isinstance(query, MetricQuery)
        expected = answer(query, reference, replace(config.metric_context(NOW), purchases=tuple(everything)))
        assert comparable(answer_query(sessions, config, query, now=NOW)) == comparable(expected), text
