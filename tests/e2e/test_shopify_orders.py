"""A shop's orders over real HTTP: Shopify's signed orders/create webhooks and deskpulse's own
order.placed events turn tickets into converted tickets, in the answers and in the digest;
orders/cancelled, refunds/create and order.cancelled undo them, in whatever order they come."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.ask import ask
from bot.digest.compose import compose
from bot.render.digest import headline_line
from bot.settings import Settings
from metrics.catalog import Answer
from metrics.periods import Unit, calendar_period
from storage.tables import OrderChangeRow, OrderRow, RawDelivery
from tests.support.server import RunningServer
from tests.support.signing import signed_request

NOW = datetime.now(ZoneInfo("UTC")).replace(microsecond=0)
MONDAY = calendar_period(NOW, Unit.WEEK, back=1, label="last week").start  # last week's Monday, 00:00 UTC


def at(hours: float) -> str:
    return (MONDAY + timedelta(hours=hours)).isoformat()


def asked(ticket_id: str, hours: float, email: str, channel: str) -> dict[str, Any]:
    return {"id": f"created-{ticket_id}", "type": "ticket.created", "ticket_id": ticket_id, "occurred_at": at(hours),
            "ticket": {"channel": channel, "status": "new", "subject": "Does it come in blue?",
                       "requester": {"id": f"c-{ticket_id}", "email": email}}}


def shopify_order(order_id: int, hours: float, email: str | None, total: str, **extra: Any) -> dict[str, Any]:
    """An Order as Shopify sends it with orders/create (the fields deskpulse reads, and a few more)."""
    customer = {"id": 7000 + order_id, "email": email, "first_name": "Cleo", "last_name": "Meyer"}
    return {"id": order_id, "name": f"#{order_id}", "email": email, "created_at": at(hours), "processed_at": at(hours),
            "total_price": total, "currency": "EUR", "financial_status": "paid", "test": False,
            "customer": customer, **extra}


def post_shopify(server: RunningServer, order: dict[str, Any]) -> Any:
    body, signed = signed_request("shopify", order)
    return server.post("/webhooks/shopify", body, signed)


def test_a_purchase_after_a_ticket_converts_it_once_whatever_shopify_repeats(server: RunningServer) -> None:
    tickets = {"version": 1, "events": [asked("1", 9, "cleo@example.com", "chat"),
                                        asked("2", 10, "noah@example.com", "email"),
                                        asked("3", 11, "mia@example.com", "email")]}
    body, headers = signed_request("deskpulse", tickets)
    assert server.post("/webhooks/deskpulse", body, headers).status_code == 202

    cleo = shopify_order(1001, 30, "Cleo@Example.com", "59.90")  # the next day, the e-mail in other case
    body, signed = signed_request("shopify", cleo)
    assert server.post("/webhooks/shopify", body, signed).status_code == 202
    retried = server.post("/webhooks/shopify", body, signed)  # Shopify retries with the same webhook id
    assert retried.json()["status"] == "duplicate"
    resent = post_shopify(server, cleo)  # another webhook sending the same order: stored, counted once
    assert resent.status_code == 202
    test_order = shopify_order(1002, 40, "noah@example.com", "10.00", test=True)
    assert post_shopify(server, test_order).json()["status"] == "ignored"  # a test order is no purchase
    assert post_shopify(server, shopify_order(1003, 156, "mia@example.com", "25.00")).status_code == 202  # 6 days on
    ours = {"id": "o-1", "type": "order.placed",
            "order": {"id": "A-77", "placed_at": at(12), "total": 15, "currency": "EUR",
                      "customer": {"email": "noah@example.com"}}}  # Noah bought through another shop
    body, headers = signed_request("deskpulse", ours)
    assert server.post("/webhooks/deskpulse", body, headers).status_code == 202
    body, headers = signed_request("shopify", cleo, secret="not-the-signing-key")
    assert server.post("/webhooks/shopify", body, headers).status_code == 401
    server.wait_processed()

    with server.sessions() as session:
        assert session.scalar(select(func.count()).select_from(OrderRow)) == 3
        fates = dict(session.execute(select(RawDelivery.fate, func.count()).group_by(RawDelivery.fate)).all())
    assert fates == {"processed": 5, "ignored": 1, "duplicate": 1}

    settings = Settings()
    result = ask(server.sessions, settings, "conversions last week by channel", now=NOW)
    assert isinstance(result, Answer)
    assert result.total.figures == {"converted": 2, "tickets": 3, "rate": 100 * 2 / 3, "orders": 2, "sales": 74.9}
    rows = {row.key: row.figures["converted"] for row in result.rows}
    assert rows == {"chat": 1, "email": 1}

    digest = compose(server.sessions, settings, cadence="weekly", period=result.query.period, filters="",
                     now=NOW, with_agents=False)
    lines = {h.metric: headline_line(h, digest) for h in digest.headlines}
    assert lines["conversions"].startswith("*Converted tickets so far:* 2 (66.7% of 3 new tickets)")
    # customers at the start of last week: none had ordered before, so no retention rate yet
    assert lines["retention"].startswith("*Customer retention:* —")
    by_channel = next(d for d in digest.details if d.query.metric.name == "conversions")  # in the thread
    assert {row.key: row.figures["converted"] for row in by_channel.rows} == {"chat": 1, "email": 1}


def post_topic(server: RunningServer, topic: str, payload: dict[str, Any]) -> Any:
    """A signed delivery of another topic (X-Shopify-Topic is not part of the signature)."""
    body, signed = signed_request("shopify", payload)
    return server.post("/webhooks/shopify", body, {**signed, "x-shopify-topic": topic})


def shopify_refund(refund_id: int, order_id: int, hours: float, amount: str) -> dict[str, Any]:
    """A Refund as Shopify sends it with refunds/create (the fields deskpulse reads, and a few more)."""
    return {"id": refund_id, "order_id": order_id, "created_at": at(hours), "processed_at": at(hours),
            "note": None, "restock": True, "refund_line_items": [],
            "transactions": [{"id": refund_id * 10, "order_id": order_id, "kind": "refund", "status": "success",
                              "amount": amount, "currency": "EUR", "gateway": "shopify_payments", "test": False}]}


def test_a_customer_asks_buys_within_five_days_then_cancels_and_the_ticket_is_not_converted(
        server: RunningServer) -> None:
    """Cleo asks Monday, buys Tuesday, cancels Wednesday. Noah's cancellation arrives before his order
    (Shopify does not promise the order of topics). Mia keeps her order but gets 20 of 59.90 back; Ola
    gets all of it back. Only Mia's ticket converts, for 39.90."""
    tickets = {"version": 1, "events": [asked("1", 9, "cleo@example.com", "chat"),
                                        asked("2", 10, "noah@example.com", "email"),
                                        asked("3", 11, "mia@example.com", "email"),
                                        asked("4", 12, "ola@example.com", "chat")]}
    body, headers = signed_request("deskpulse", tickets)
    assert server.post("/webhooks/deskpulse", body, headers).status_code == 202

    cleo = shopify_order(2001, 30, "cleo@example.com", "80.00")
    assert post_shopify(server, cleo).status_code == 202
    cancelled = {**cleo, "cancelled_at": at(50), "cancel_reason": "customer", "financial_status": "refunded"}
    body, signed = signed_request("shopify", cancelled)
    signed = {**signed, "x-shopify-topic": "orders/cancelled"}
    assert server.post("/webhooks/shopify", body, signed).status_code == 202
    assert server.post("/webhooks/shopify", body, signed).json()["status"] == "duplicate"  # Shopify retries
    assert post_topic(server, "orders/cancelled", {**cancelled, "updated_at": at(51)}).status_code == 202  # again

    noah = shopify_order(2002, 34, "noah@example.com", "45.00")
    assert post_topic(server, "orders/cancelled", {**noah, "cancelled_at": at(40)}).status_code == 202
    assert post_shopify(server, noah).status_code == 202  # the order itself comes afterwards

    assert post_shopify(server, shopify_order(2003, 35, "mia@example.com", "59.90")).status_code == 202
    assert post_topic(server, "refunds/create", shopify_refund(3001, 2003, 60, "20.00")).status_code == 202
    ola = shopify_order(2004, 36, "ola@example.com", "30.00")
    assert post_topic(server, "refunds/create", shopify_refund(3002, 2004, 62, "30.00")).status_code == 202
    assert post_shopify(server, ola).status_code == 202
    ours = {"version": 1, "events": [
        {"id": "o-9", "type": "order.cancelled", "order": {"id": "B-1", "cancelled_at": at(20)}},  # before its order
        {"id": "o-8", "type": "order.placed", "order": {"id": "B-1", "placed_at": at(14), "total": 99,
                                                         "currency": "EUR", "customer": {"email": "ola@example.com"}}}]}
    body, headers = signed_request("deskpulse", ours)
    assert server.post("/webhooks/deskpulse", body, headers).status_code == 202
    server.wait_processed()

    with server.sessions() as session:
        assert session.scalar(select(func.count()).select_from(OrderRow)) == 5  # every order is kept
        assert session.scalar(select(func.count()).select_from(OrderChangeRow)) == 5  # cancelled once each
    result = ask(server.sessions, Settings(), "conversions last week", now=NOW)
    assert isinstance(result, Answer)
    assert result.total.figures == {"converted": 1, "tickets": 4, "rate": 25.0, "orders": 1,
                                    "sales": pytest.approx(39.9)}
    # no order of last week stands but Mia's: one new customer, none before
    retention = ask(server.sessions, Settings(), "retention last week", now=NOW)
    assert isinstance(retention, Answer) and retention.total.figures["new"] == 1
