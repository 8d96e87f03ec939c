"""Shopify `orders/create` webhooks (written from Shopify's documented headers and Order resource)
become `OrderPlaced` facts, `orders/cancelled` `OrderCancelled`, `refunds/create` (the Refund
resource) `OrderRefunded`; every other topic, and test orders, are kept and ignored."""

from __future__ import annotations

import base64
import dataclasses
import enum
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from metrics.model import OrderCancelled, OrderFact, OrderPlaced, OrderRefunded, Person, TicketEvent, TimeSource
from storage.ingest.adapters import ADAPTERS, shopify
from storage.ingest.adapters.contract import AuthError, Delivery, PayloadError
from tests.support.adapter_cases import case_delivery as delivery
from tests.support.adapter_cases import load_case, subset

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks" / "shopify"
CASES = sorted(FIXTURES.glob("*.json"))
FIXTURE_SECRET = "shopify-fixture-secret"  # what the fixtures' X-Shopify-Hmac-Sha256 headers were made with
load = partial(load_case, "shopify")
NOW = datetime(2026, 11, 16, 10, 15, 4, tzinfo=UTC)
CANCELLED_AT = datetime(2026, 11, 18, 8, 30, 3, tzinfo=UTC)  # received, two days on
REFUNDED_AT = datetime(2026, 11, 19, 13, 2, 12, tzinfo=UTC)  # received, three days on


def as_json(fact: OrderFact) -> dict[str, Any]:
    """An order fact as the fixtures write it (a Person lists only the fields it has)."""
    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, enum.Enum):
            return value.value
        if isinstance(value, Person):
            return {k: v for k, v in dataclasses.asdict(value).items() if v is not None}
        return value
    return {f.name: plain(getattr(fact, f.name)) for f in dataclasses.fields(fact)}


def order_delivery(body: Any, *, topic: str | None = "orders/create", hint: str | None = None,
                   received_at: datetime = NOW, **headers: str) -> Delivery:
    given = {"x-shopify-topic": topic} if topic is not None else {}
    return Delivery(headers={**given, **headers}, body=json.dumps(body).encode(), payload=body, hint=hint,
                    received_at=received_at)


def facts_of(given: Delivery) -> list[OrderFact]:
    """What the adapter read, known to be about orders (a shop gives no ticket facts)."""
    facts = shopify.to_events(given)
    assert not any(isinstance(f, TicketEvent) for f in facts)
    return [f for f in facts if not isinstance(f, TicketEvent)]


def orders(given: Delivery) -> list[OrderPlaced]:
    """The orders placed among what the adapter read."""
    return [f for f in facts_of(given) if isinstance(f, OrderPlaced)]


def order(**fields: Any) -> dict[str, Any]:
    return {**load("01_order_with_customer.json")["body"], **fields}


# --- the fixtures: Shopify's deliveries in, order facts out -------------------------------


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_fixture_becomes_the_expected_facts(path: Path) -> None:
    case = json.loads(path.read_text())
    if "expect_error" in case:
        with pytest.raises(PayloadError) as caught:
            shopify.to_events(delivery(case))
        assert {"code": caught.value.code, "status": caught.value.status} == case["expect_error"]
        assert caught.value.detail
        return
    facts = [as_json(e) for e in facts_of(delivery(case))]
    assert [subset(f, e) for f, e in zip(facts, case["expect"], strict=True)] == case["expect"]
    assert all(f["source"] == "shopify" for f in facts)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_every_fixture_carries_a_valid_shopify_signature(path: Path) -> None:
    case = json.loads(path.read_text())
    shopify.verify(case["headers"], json.dumps(case["body"]).encode(), FIXTURE_SECRET, NOW, 300)


def test_an_order_is_a_fact_about_a_customer_not_a_ticket() -> None:
    [placed] = orders(delivery(load("01_order_with_customer.json")))
    assert placed == OrderPlaced(source="shopify", order_id="6120458733601",
                                 placed_at=datetime(2026, 11, 16, 10, 15, tzinfo=UTC),
                                 customer=Person(id="7265103200545", name="Cleo Customer", email="cleo@example.com"),
                                 total=59.8, currency="EUR", time_source=TimeSource.PAYLOAD, time_suspect=False)
    assert placed.customer_key == "cleo@example.com"  # what a ticket's requester is matched on


# --- authentication ---------------------------------------------------------------------


def test_signatures_follow_the_documented_recipe() -> None:
    """Base64 of HMAC-SHA256 over the raw body, keyed with the client secret or the admin's signing key."""
    body = b'{"id": 6120458733601, "total_price": "59.80"}'
    documented = base64.b64encode(hmac.new(b"my-client-secret", body, hashlib.sha256).digest()).decode()
    assert shopify.sign("my-client-secret", body) == documented
    shopify.verify({"x-shopify-hmac-sha256": documented}, body, "my-client-secret", NOW, 300)


def test_nothing_dated_is_signed_so_there_is_no_replay_window() -> None:
    body = b'{"id": 1}'
    headers = shopify.signed_headers("s3cret", body, NOW)
    shopify.verify(headers, body, "s3cret", NOW + timedelta(days=30), 300)
    shopify.verify({**headers, "x-shopify-triggered-at": "2001-01-01T00:00:00Z"}, body, "s3cret", NOW, 300)


@pytest.mark.parametrize(("headers", "code"), [
    ({}, "missing_signature"),
    ({"x-shopify-hmac-sha256": ""}, "missing_signature"),
    ({"x-shopify-topic": "orders/create"}, "missing_signature"),
    ({"x-shopify-hmac-sha256": shopify.sign("another secret", b'{"id": 1}')}, "bad_signature"),
    ({"x-shopify-hmac-sha256": shopify.sign("s3cret", b'{"id": 1} ')}, "bad_signature"),  # another body
    ({"x-shopify-hmac-sha256": hmac.new(b"s3cret", b'{"id": 1}', hashlib.sha256).hexdigest()}, "bad_signature"),
])
def test_a_missing_or_wrong_signature_is_refused(headers: dict[str, str], code: str) -> None:
    with pytest.raises(AuthError) as caught:
        shopify.verify(headers, b'{"id": 1}', "s3cret", NOW, 300)
    assert caught.value.code == code and caught.value.detail


def test_the_adapters_own_signed_headers_are_what_it_accepts() -> None:
    body = json.dumps(load("01_order_with_customer.json")["body"]).encode()
    headers = shopify.ADAPTER.signed_headers("s3cret", body, NOW)
    assert ADAPTERS["shopify"] is shopify.ADAPTER and shopify.ADAPTER.secret_setting == "SHOPIFY_WEBHOOK_SECRET"
    shopify.ADAPTER.verify(headers, body, "s3cret", NOW, 300)
    with pytest.raises(AuthError):
        shopify.ADAPTER.verify(headers, body, "another secret", NOW, 300)
    assert headers["content-type"] == "application/json"
    assert headers["x-shopify-topic"] == "orders/create"
    assert headers["x-shopify-triggered-at"] == "2026-11-16T10:15:04.000000Z"
    assert headers["x-shopify-webhook-id"] and headers == shopify.signed_headers("s3cret", body, NOW)  # pure
    assert shopify.signed_headers("s3cret", body, NOW + timedelta(seconds=1))["x-shopify-webhook-id"] != \
        headers["x-shopify-webhook-id"]
    signed = Delivery(headers=headers, body=body, payload=json.loads(body), hint=None, received_at=NOW)
    assert [e.order_id for e in orders(signed)] == ["6120458733601"]


# --- delivery keys ----------------------------------------------------------------------


def test_delivery_keys_prefer_the_event_id_then_the_webhook_id_each_with_the_topic() -> None:
    case = load("01_order_with_customer.json")
    assert shopify.delivery_key(delivery(case)) == \
        "shopify:event:orders/create:98880550-7158-44d4-b7cd-2c97c8a09001"
    without_event = {k: v for k, v in case["headers"].items() if k != "x-shopify-event-id"}
    assert shopify.delivery_key(delivery(case, without_event)) == \
        "shopify:webhook:orders/create:3f0c2a7e-5b1d-4c8e-9a61-0d2e4b7c9001"
    updated = {**case["headers"], "x-shopify-topic": "orders/updated"}
    assert shopify.delivery_key(delivery(case, updated)) != shopify.delivery_key(delivery(case))
    assert shopify.delivery_key(delivery(case, {**without_event, "x-shopify-webhook-id": " "})) is None
    assert shopify.delivery_key(delivery(case, {})) is None  # the pipeline hashes the body


def test_a_retry_has_the_same_key_and_the_same_order_id() -> None:
    case = load("01_order_with_customer.json")
    later = {**case, "received_at": "2026-11-16T10:45:00Z",
             "headers": {**case["headers"], "x-shopify-triggered-at": "2026-11-16T10:44:59.100000Z"}}
    assert shopify.delivery_key(delivery(case)) == shopify.delivery_key(delivery(later))
    assert [e.order_id for e in orders(delivery(case))] == \
        [e.order_id for e in orders(delivery(later))]


# --- topics -----------------------------------------------------------------------------


@pytest.mark.parametrize(("topic", "hint", "counted"), [
    ("orders/create", None, True),
    ("Orders/Create", None, True),
    (None, "orders-create", True),
    (None, "orders/create", True),
    (None, "orders_create", True),
    ("orders/create", "customers-create", True),  # the header wins over the URL
    ("orders/updated", "orders-create", False),
    ("orders/paid", None, False),
    ("orders/cancelled", None, False),
    ("customers/create", None, False),
    (None, "orders-updated", False),
])
def test_only_order_creation_places_an_order(topic: str | None, hint: str | None, counted: bool) -> None:
    facts = orders(order_delivery(order(), topic=topic, hint=hint))
    assert len(facts) == (1 if counted else 0)


def test_without_any_topic_the_delivery_fails_with_a_clear_error() -> None:
    with pytest.raises(PayloadError) as caught:
        shopify.to_events(order_delivery(order(), topic=None))
    assert caught.value.code == "missing_topic" and "orders-create" in caught.value.detail


# --- who bought, when, for how much -------------------------------------------------------


@pytest.mark.parametrize(("fields", "person"), [
    ({"customer": {"id": 5, "email": "a@example.com", "first_name": "Ann", "last_name": "Lee"},
      "email": "b@example.com"}, Person(id="5", name="Ann Lee", email="a@example.com")),
    ({"customer": {"id": 5, "email": "", "first_name": "Ann", "last_name": None}, "email": "b@example.com"},
     Person(id="5", name="Ann", email="b@example.com")),
    ({"customer": {"id": 5, "first_name": " ", "last_name": "Lee"}, "email": None, "contact_email": "c@example.com"},
     Person(id="5", name="Lee", email="c@example.com")),
    ({"customer": None, "email": None, "contact_email": None}, Person()),
    ({"customer": {"id": "gid-less-5"}, "email": None, "contact_email": None}, Person(id="gid-less-5")),
])
def test_the_buyers_email_comes_from_the_customer_then_the_order(fields: dict[str, Any], person: Person) -> None:
    [placed] = orders(order_delivery(order(**fields)))
    assert placed.customer == person


def test_order_times() -> None:
    def placed(**fields: Any) -> tuple[datetime, TimeSource, bool]:
        [fact] = orders(order_delivery(order(**fields)))
        return fact.placed_at, fact.time_source, fact.time_suspect

    assert placed(processed_at="2026-11-16T05:10:00-05:00") == \
        (datetime(2026, 11, 16, 10, 10, tzinfo=UTC), TimeSource.PAYLOAD, False)
    # An imported order keeps the date of the sale, not of its import.
    assert placed(processed_at="2026-10-01T12:00:00+00:00", created_at="2026-11-16T10:15:00+00:00")[0] == \
        datetime(2026, 10, 1, 12, tzinfo=UTC)
    assert placed(processed_at=None, created_at=None) == (NOW, TimeSource.RECEIVED, False)
    assert placed(processed_at="2099-01-01T00:00:00Z") == (NOW, TimeSource.RECEIVED, True)
    assert placed(processed_at="yesterday") == (NOW, TimeSource.RECEIVED, True)


@pytest.mark.parametrize(("total_price", "total"), [
    ("59.80", 59.8), ("0.00", 0.0), (12, 12.0), (None, None), ("", None),
])
def test_totals(total_price: Any, total: float | None) -> None:
    [placed] = orders(order_delivery(order(total_price=total_price)))
    assert placed.total == total


def test_an_order_created_already_cancelled_is_placed_and_cancelled_at_once() -> None:
    placed, cancelled = facts_of(order_delivery(order(cancelled_at="2026-11-16T10:20:00+00:00",
                                                      cancel_reason="inventory")))
    assert isinstance(placed, OrderPlaced) and placed.order_id == "6120458733601"
    assert cancelled == OrderCancelled(source="shopify", order_id="6120458733601", reason="inventory",
                                       cancelled_at=datetime(2026, 11, 16, 10, 20, tzinfo=UTC))


# --- cancellations and refunds ------------------------------------------------------------


@pytest.mark.parametrize(("topic", "hint"), [("orders/cancelled", None), (None, "orders-cancelled"),
                                             (None, "orders_cancelled"), ("Orders/Cancelled", "orders-create")])
def test_a_cancellation_names_the_order_when_and_why(topic: str | None, hint: str | None) -> None:
    body = order(cancelled_at="2026-11-18T09:30:00+01:00", cancel_reason="customer")
    assert facts_of(order_delivery(body, topic=topic, hint=hint, received_at=CANCELLED_AT)) == [OrderCancelled(
        source="shopify", order_id="6120458733601", cancelled_at=datetime(2026, 11, 18, 8, 30, tzinfo=UTC),
        reason="customer")]


def test_a_cancellation_without_its_time_falls_back_to_the_update_then_the_receipt() -> None:
    [fact] = facts_of(order_delivery(order(cancelled_at=None, updated_at="2026-11-18T08:29:00Z"),
                                     topic="orders/cancelled", received_at=CANCELLED_AT))
    assert isinstance(fact, OrderCancelled) and fact.cancelled_at == datetime(2026, 11, 18, 8, 29, tzinfo=UTC)
    [fact] = facts_of(order_delivery(order(cancelled_at=None, updated_at=None), topic="orders/cancelled",
                                     received_at=CANCELLED_AT))
    assert isinstance(fact, OrderCancelled)
    assert (fact.cancelled_at, fact.time_source) == (CANCELLED_AT, TimeSource.RECEIVED)


def test_a_test_orders_cancellation_is_ignored() -> None:
    assert facts_of(order_delivery(order(test=True, cancelled_at="2026-11-18T08:30:00Z"),
                                   topic="orders/cancelled")) == []


def refund(*transactions: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = load("11_partial_refund.json")["body"]
    return {**body, **fields, **({"transactions": list(transactions)} if transactions else {})}


def paid_back(kind: str = "refund", status: str = "success", amount: str = "10.00", **more: Any) -> dict[str, Any]:
    return {"kind": kind, "status": status, "amount": amount, "currency": "EUR", **more}


@pytest.mark.parametrize(("transactions", "back"), [
    ([paid_back(amount="17.28")], 17.28),
    ([paid_back(amount="10.00"), paid_back(amount="5.50", status="pending")], 15.5),  # decided, paid later
    ([paid_back(status="failure"), paid_back(status="error"), paid_back(amount="2.00")], 2.0),
    ([paid_back(kind="sale"), paid_back(kind="capture"), paid_back(amount="1.00")], 1.0),
    ([paid_back(test=True)], 0.0),  # a test transaction gives nothing back
    ([], 0.0),  # items restocked, no money back
])
def test_a_refund_is_the_money_its_refund_transactions_gave_back(transactions: list[dict[str, Any]],
                                                                  back: float) -> None:
    [fact] = facts_of(order_delivery(refund(transactions=transactions), topic="refunds/create",
                                     received_at=REFUNDED_AT))
    assert isinstance(fact, OrderRefunded)
    assert (fact.order_id, fact.refund_id, fact.amount) == ("6120458733601", "941215711521", pytest.approx(back))
    assert fact.refunded_at == datetime(2026, 11, 19, 13, 2, 11, tzinfo=UTC)


@pytest.mark.parametrize(("body", "code"), [
    ({"id": 1, "transactions": []}, "missing_id"),  # no order_id
    ({"order_id": 1, "transactions": []}, "missing_id"),
    ({"id": 1, "order_id": 1, "transactions": {"amount": "1.00"}}, "wrong_type"),
    ({"id": 1, "order_id": 1, "transactions": [paid_back(amount="1,00")]}, "wrong_type"),
    ({"id": 1, "order_id": 1, "transactions": [paid_back(), {**paid_back(), "currency": "USD"}]}, "wrong_type"),
])
def test_refunds_that_cannot_be_read(body: dict[str, Any], code: str) -> None:
    with pytest.raises(PayloadError) as caught:
        shopify.to_events(order_delivery(body, topic="refunds/create"))
    assert caught.value.code == code and caught.value.detail


def test_orders_updated_is_not_read_even_when_it_says_refunded_or_cancelled() -> None:
    """refunds/create and orders/cancelled say it once each; orders/updated repeats it with every edit."""
    body = order(financial_status="refunded", cancelled_at="2026-11-18T08:30:00Z")
    assert facts_of(order_delivery(body, topic="orders/updated")) == []


def test_test_orders_are_ignored_whatever_else_they_say() -> None:
    assert orders(order_delivery(order(test=True))) == []
    assert orders(order_delivery(order(test=True, total_price="not a price"))) == []
    assert len(orders(order_delivery(order(test=False)))) == 1


@pytest.mark.parametrize(("body", "code"), [
    ([{"id": 1}], "wrong_type"),
    ("an order", "wrong_type"),
    ({"email": "a@example.com", "total_price": "1.00"}, "missing_id"),
    ({"id": None}, "missing_id"),
    ({"id": ""}, "missing_id"),
    ({"id": 1.5}, "wrong_type"),
    ({"id": 1, "total_price": "59,80"}, "wrong_type"),
    ({"id": 1, "total_price": "NaN"}, "wrong_type"),
    ({"id": 1, "total_price": "Infinity"}, "wrong_type"),
    ({"id": 1, "total_price": True}, "wrong_type"),
    ({"id": 1, "total_price": {"amount": "1.00"}}, "wrong_type"),
    ({"id": 1, "customer": "cleo@example.com"}, "wrong_type"),
    ({"id": 1, "customer": {"id": True}}, "missing_id"),
    ({"id": 1, "email": ["a@example.com"]}, "wrong_type"),
    ({"id": 1, "currency": {"code": "EUR"}}, "wrong_type"),
])
def test_payloads_that_cannot_be_read(body: Any, code: str) -> None:
    with pytest.raises(PayloadError) as caught:
        shopify.to_events(order_delivery(body))
    assert caught.value.code == code and caught.value.detail


def test_a_body_that_is_not_an_object_is_refused_whatever_the_topic() -> None:
    with pytest.raises(PayloadError) as caught:
        shopify.to_events(order_delivery([], topic="customers/create"))
    assert caught.value.code == "wrong_type"


def test_no_handshake_exists() -> None:
    assert shopify.ADAPTER.handshake(order_delivery(order())) is None
