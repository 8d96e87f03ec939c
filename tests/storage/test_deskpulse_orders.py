"""deskpulse's own order events (docs/webhook-format.md): order.placed, order.cancelled and
order.refunded become the same facts Shopify's webhooks give."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from metrics.model import OrderCancelled, OrderRefunded, TimeSource
from storage.ingest.adapters import deskpulse
from storage.ingest.adapters.contract import Delivery, PayloadError

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def read(*events: dict[str, Any]) -> list[Any]:
    payload = {"version": 1, "events": list(events)}
    return deskpulse.to_events(Delivery(headers={}, body=json.dumps(payload).encode(), payload=payload, hint=None,
                                        received_at=NOW))


def test_a_cancellation_names_the_order_when_and_why() -> None:
    assert read({"id": "e1", "type": "order.cancelled",
                 "order": {"id": "1001", "cancelled_at": "2026-11-26T09:00:00Z", "reason": "customer"}}) == [
        OrderCancelled(source="deskpulse", order_id="1001", cancelled_at=datetime(2026, 11, 26, 9, tzinfo=UTC),
                       reason="customer")]
    [bare] = read({"id": "e2", "type": "order.cancelled", "order": {"id": 1002}})
    assert (bare.order_id, bare.cancelled_at, bare.time_source) == ("1002", NOW, TimeSource.RECEIVED)


def test_a_refund_names_the_order_the_refund_and_the_money() -> None:
    assert read({"id": "e3", "type": "order.refunded", "order": {"id": "1001"},
                 "refund": {"id": "r-1", "amount": "15.00", "currency": "EUR",
                            "refunded_at": "2026-11-27T10:00:00Z"}}) == [
        OrderRefunded(source="deskpulse", order_id="1001", refund_id="r-1", amount=15.0, currency="EUR",
                      refunded_at=datetime(2026, 11, 27, 10, tzinfo=UTC))]


@pytest.mark.parametrize(("event", "code"), [
    ({"type": "order.cancelled", "order": {}}, "missing_id"),
    ({"type": "order.cancelled"}, "wrong_type"),
    ({"type": "order.refunded", "order": {"id": "1"}, "refund": {"amount": 1}}, "missing_id"),
    ({"type": "order.refunded", "order": {"id": "1"}, "refund": {"id": "r", "amount": -1}}, "out_of_range"),
    ({"type": "order.refunded", "order": {"id": "1"}, "refund": {"id": "r"}}, "out_of_range"),
    ({"type": "order.refunded", "order": {"id": "1"}, "refund": {"id": "r", "amount": "1,00"}}, "wrong_type"),
])
def test_order_changes_that_cannot_be_read(event: dict[str, Any], code: str) -> None:
    with pytest.raises(PayloadError) as caught:
        read({"id": "e", **event})
    assert caught.value.code == code and caught.value.detail
