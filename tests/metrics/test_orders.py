"""Converted tickets and retention from literal stories (docs/metrics.md, "Converted tickets" and
"Retention"); the week is Mon 16 - Sun 22 Nov 2026, Berlin."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from metrics.catalog import METRICS, Context, MetricQuery, answer
from metrics.dimensions import Dimension, Filter
from metrics.orders import (
    Contact,
    Purchase,
    Refund,
    attribute,
    conversion_figures,
    retention,
    retention_figures,
    standing,
)
from metrics.periods import day_range
from tests.support.tickets import BERLIN, WEEK, ticket, when

THE_WEEK = day_range(WEEK.date(), WEEK.date() + timedelta(days=6), BERLIN, label="the week")
FIVE_DAYS = timedelta(days=5)
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def bought(customer: str, at: str, total: float = 50.0, currency: str = "EUR", order: str | None = None) -> Purchase:
    return Purchase(order or f"{customer}@{at}", customer, when(at), total, currency)


def test_an_order_within_five_days_of_a_ticket_converts_it() -> None:
    contacts = [Contact("t1", "cleo@example.com", when("Mon 09:00")),
                Contact("t2", "noah@example.com", when("Mon 10:00"))]
    orders = [bought("cleo@example.com", "Wed 12:00"),  # two days later: converts t1
              bought("noah@example.com", "2026-11-21 10:00")]  # five days to the minute: too late
    assert attribute(contacts, orders, FIVE_DAYS) == {"t1": [orders[0]]}


def test_an_order_before_the_ticket_converts_nothing() -> None:
    contacts = [Contact("t1", "cleo@example.com", when("Tue 09:00"))]
    assert attribute(contacts, [bought("cleo@example.com", "Mon 18:00")], FIVE_DAYS) == {}


def test_the_latest_ticket_before_the_order_gets_the_credit() -> None:
    contacts = [Contact("asked", "cleo@example.com", when("Mon 09:00")),
                Contact("asked-again", "cleo@example.com", when("Tue 09:00")),
                Contact("after", "cleo@example.com", when("Fri 09:00"))]
    orders = [bought("cleo@example.com", "Wed 12:00"), bought("cleo@example.com", "Thu 08:00")]
    assert attribute(contacts, orders, FIVE_DAYS) == {"asked-again": orders}


def test_conversion_rate_is_over_every_new_ticket_and_sales_need_one_currency() -> None:
    orders = {"t1": [bought("a", "Tue 10:00", 40.0)], "t2": [bought("b", "Tue 11:00", 10.5),
                                                           bought("b", "Wed 11:00", 9.5)]}
    figures = conversion_figures(["t1", "t2", "t3", "t4"], orders)
    assert figures == {"converted": 2, "tickets": 4, "rate": 50.0, "orders": 3, "sales": 60.0}
    orders["t2"].append(bought("b", "Thu 11:00", 5.0, currency="USD"))
    assert conversion_figures(["t1", "t2"], orders)["sales"] is None  # euros and dollars do not add up
    assert conversion_figures([], {})["rate"] is None


def test_converted_tickets_through_the_catalog_ignore_filters_when_crediting_an_order() -> None:
    """Cleo asked by chat on Monday and by email on Tuesday, then bought on Wednesday: the email
    ticket converted, whether the question is about email, chat or every channel."""
    tickets = [ticket("Mon 09:00", channel="chat", requester="cleo@example.com").build(),
               ticket("Tue 09:00", channel="email", requester="cleo@example.com").build(),
               ticket("Tue 10:00", channel="chat", requester="noah@example.com").build(),
               ticket("Tue 11:00", channel="chat").build()]  # no requester: can never convert
    context = Context(now=NOW, purchases=(bought("cleo@example.com", "Wed 12:00", 80.0),
                                          bought("noah@example.com", "Fri 09:00", 20.0)))
    conversions = METRICS["conversions"]

    def ask(*filters: Filter, by: Dimension | None = None) -> dict[str, dict[str, float | None]]:
        result = answer(MetricQuery(conversions, THE_WEEK, by, filters), tickets, context)
        return {"all": result.total.figures, **{row.key: row.figures for row in result.rows}}

    assert ask()["all"] == {"converted": 2, "tickets": 4, "rate": 50.0, "orders": 2, "sales": 100.0}
    by_channel = ask(by=Dimension.CHANNEL)
    assert (by_channel["email"]["converted"], by_channel["chat"]["converted"]) == (1, 1)
    assert by_channel["chat"]["tickets"] == 3
    assert ask(Filter(Dimension.CHANNEL, "chat"))["all"]["converted"] == 1  # Noah's, not Cleo's Monday chat


def test_retention_is_the_seed_formula() -> None:
    """Seed 002: 350 customers at the start, 300 at the end, 76 of them new: 64%."""
    assert retention_figures(350, 300, 76) == {"rate": 64.0, "at_start": 350, "at_end": 300, "new": 76}
    assert retention_figures(0, 5, 5)["rate"] is None


def test_retention_counts_customers_who_ordered_within_the_lapse_window() -> None:
    lapse = timedelta(days=30)
    orders = [
        bought("kept", "2026-11-01 10:00"), bought("kept", "Wed 10:00"),  # ordered before and during
        bought("quiet", "2026-11-01 10:00"),  # a customer at the start, still one at the end (within 30 days)
        bought("lapsed", "2026-10-18 10:00"),  # counted at the start (29 days before), lapsed by the end
        bought("gone", "2026-10-01 10:00"),  # lapsed before the week: counted nowhere
        bought("new", "Thu 15:00"),  # first order ever in the week
        bought("back", "2026-09-01 10:00"), bought("back", "Fri 10:00"),  # a win-back: at the end, not new
    ]
    figures = retention(orders, THE_WEEK, lapse)
    # at the start: kept, quiet, lapsed; at the end: kept, quiet, new, back; new: new
    assert figures == {"rate": pytest.approx(100 * (4 - 1) / 3), "at_start": 3, "at_end": 4, "new": 1}


# --- cancelled and refunded orders (docs/metrics.md, "Cancelled and refunded orders") ------------


def test_a_customer_asks_buys_within_five_days_then_cancels_the_ticket_is_not_converted() -> None:
    contacts = [Contact("t1", "cleo@example.com", when("Mon 09:00"))]
    order = bought("cleo@example.com", "Wed 12:00", 80.0, order="shop:1001")
    assert attribute(contacts, [order], FIVE_DAYS) == {"t1": [order]}  # until the cancellation
    kept = standing([order], cancelled={"shop:1001"}, refunds=[])
    assert kept == [] and attribute(contacts, kept, FIVE_DAYS) == {}


def test_a_cancellation_leaves_the_customers_other_orders_alone() -> None:
    """Cleo cancels Wednesday's order and buys again on Friday: the ticket converts through Friday's."""
    contacts = [Contact("t1", "cleo@example.com", when("Mon 09:00"))]
    cancelled = bought("cleo@example.com", "Wed 12:00", 80.0, order="shop:1")
    again = bought("cleo@example.com", "Fri 12:00", 60.0, order="shop:2")
    converted = attribute(contacts, standing([cancelled, again], cancelled={"shop:1"}, refunds=[]), FIVE_DAYS)
    assert converted == {"t1": [again]}
    assert conversion_figures(["t1"], converted)["sales"] == 60.0


def test_refunds_lower_sales_and_a_full_refund_undoes_the_order() -> None:
    orders = [bought("a", "Tue 10:00", 80.0, order="shop:1"), bought("b", "Tue 11:00", 50.0, order="shop:2"),
              bought("c", "Tue 12:00", 40.0, order="shop:3"), bought("d", "Tue 13:00", 30.0, order="shop:4")]
    refunds = [Refund("shop:1", 20.0, "EUR"), Refund("shop:1", 10.0, "EUR"),  # two partial refunds: 50 left
               Refund("shop:2", 30.0, "EUR"), Refund("shop:2", 19.999, "EUR"),  # all of it, to half a cent
               Refund("shop:3", 40.0, "USD"),  # another currency: not subtracted
               Refund("shop:4", 0.0, None)]  # items restocked, no money back
    kept = standing(orders, cancelled=set(), refunds=refunds)
    assert [(p.order, p.total) for p in kept] == [("shop:1", 50.0), ("shop:3", 40.0), ("shop:4", 30.0)]


def test_a_cancelled_order_makes_no_customer() -> None:
    """Mia's only order of the week was cancelled: she is no new customer; Noah's cancelled order
    before the week leaves him no customer at the start."""
    lapse = timedelta(days=30)
    orders = [bought("mia", "Thu 15:00", order="shop:1"), bought("noah", "2026-11-01 10:00", order="shop:2"),
              bought("cleo", "2026-11-01 10:00", order="shop:3")]
    kept = standing(orders, cancelled={"shop:1", "shop:2"}, refunds=[])
    assert retention(kept, THE_WEEK, lapse) == {"rate": 100.0, "at_start": 1, "at_end": 1, "new": 0}
