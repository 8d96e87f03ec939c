"""Shopify: `orders/create` webhooks become `OrderPlaced` facts, `orders/cancelled` ones
`OrderCancelled`, `refunds/create` ones `OrderRefunded` (docs/connect-shopify.md).

Shopify is a shop, not a helpdesk: it tells deskpulse who bought, so a ticket can be seen to be
followed by an order of the same customer (docs/metrics.md, "Converted tickets", "Retention"), and
which orders were undone ("Cancelled and refunded orders").

Authentication: `X-Shopify-Hmac-Sha256` is the base64 HMAC-SHA256 of the raw body, keyed with
the app's client secret, or, for a webhook made in the store admin (Settings > Notifications >
Webhooks), with the signing key shown on that page. Shopify signs no timestamp
(`X-Shopify-Triggered-At` is not part of the signature), so no replay window applies: a replayed
order is harmless because orders are unique by (source, order id), cancellations by order, and
refunds by (order id, refund id).

Event naming: the topic is the `X-Shopify-Topic` header (`orders/create`); without it, the last
URL segment, /webhooks/shopify/orders-create. The body of `orders/create` and `orders/cancelled`
is Shopify's Order resource as JSON (a cancelled one has `cancelled_at` and `cancel_reason`); that
of `refunds/create` is the Refund resource (`id`, `order_id`, `transactions`). Shopify does not
promise to deliver topics in the order things happened, so a cancellation or a refund may arrive
before its order: each is stored on its own and applied whenever both are there.

Quirks: `total_price` is a decimal string ("59.99"). The buyer's e-mail is on the customer, on the
order (`email`) or only in `contact_email` for some guest checkouts. Test orders (`test` true)
are not purchases, and test transactions give nothing back. `orders/updated` is not read: it
comes with every edit of an order, and what it could say (`cancelled_at`, `financial_status`
"refunded") the two other topics say once, as changes with their own ids.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from metrics.model import Event, OrderCancelled, OrderPlaced, OrderRefunded, Person
from storage.ingest.adapters.contract import (
    AuthError,
    Delivery,
    Headers,
    HelpdeskAdapter,
    PayloadError,
    amount,
    b64,
    event_time,
    hmac_sha256,
    optional_text,
    require_object,
    same_signature,
    text_id,
)

SOURCE = "shopify"
ORDERS_CREATE = "orders/create"
ORDERS_CANCELLED = "orders/cancelled"
REFUNDS_CREATE = "refunds/create"
SIGNATURE_HEADER = "x-shopify-hmac-sha256"
TOPIC_HEADER = "x-shopify-topic"
WEBHOOK_ID_HEADER = "x-shopify-webhook-id"
EVENT_ID_HEADER = "x-shopify-event-id"
TRIGGERED_AT_HEADER = "x-shopify-triggered-at"
MAX_KEY_LENGTH = 200


# --- authentication ---------------------------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    """The value of X-Shopify-Hmac-Sha256 for this body."""
    return b64(hmac_sha256(secret, body))


def verify(headers: Headers, body: bytes, secret: str, now: datetime, max_age: int) -> None:
    """The body's HMAC, compared in constant time.

    Shopify signs the body only, never a time, so `now` and `max_age` have nothing to check:
    there is no replay window. A replayed order counts once (orders are unique by source and id).
    """
    signature = headers.get(SIGNATURE_HEADER)
    if not signature:
        raise AuthError("missing_signature", "header X-Shopify-Hmac-Sha256 is missing")
    if not same_signature(sign(secret, body), signature):
        raise AuthError("bad_signature", "X-Shopify-Hmac-Sha256 does not match the body")


def signed_headers(secret: str, body: bytes, now: datetime) -> dict[str, str]:
    """What Shopify sends with an order-creation webhook (the shop's domain and API version aside);
    for another topic, replace X-Shopify-Topic (it is not signed).

    The webhook id is derived from the body and `now`, so the same inputs give the same headers.
    """
    digest = hashlib.sha256(now.isoformat().encode() + b"\n" + body).digest()
    return {"content-type": "application/json", SIGNATURE_HEADER: sign(secret, body),
            TOPIC_HEADER: ORDERS_CREATE, WEBHOOK_ID_HEADER: str(uuid.UUID(bytes=digest[:16])),
            TRIGGERED_AT_HEADER: now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")}


def delivery_key(delivery: Delivery) -> str | None:
    """Shopify's event id (the same on every duplicate of an event), else the webhook id;
    without either the pipeline hashes the body. The topic is part of the key: Shopify does not
    promise that two topics never share an event id."""
    topic = (delivery.headers.get(TOPIC_HEADER) or delivery.hint or "").strip().lower()
    for header, kind in ((EVENT_ID_HEADER, "event"), (WEBHOOK_ID_HEADER, "webhook")):
        value = (delivery.headers.get(header) or "").strip()
        if value:
            return f"{SOURCE}:{kind}:{topic[:40]}:{value[:MAX_KEY_LENGTH]}"
    return None


# --- payload ----------------------------------------------------------------------------


def topic_of(delivery: Delivery) -> str:
    """The topic from the header, else from the URL; raises when neither names one."""
    raw = delivery.headers.get(TOPIC_HEADER) or delivery.hint or ""
    topic = raw.strip().lower()
    if not topic:
        raise PayloadError("missing_topic", "no X-Shopify-Topic header and no topic in the URL "
                                            "(/webhooks/shopify/orders-create)")
    return topic


def _canonical(topic: str) -> str:
    """`orders/create` as Shopify names it, from `orders-create` / `orders_create` in a URL too."""
    return topic.replace("-", "/").replace("_", "/")


def to_events(delivery: Delivery) -> list[Event]:
    body = require_object(delivery.payload, what="the body")
    topic = _canonical(topic_of(delivery))
    if topic == ORDERS_CREATE:
        return _placed(body, delivery.received_at)
    if topic == ORDERS_CANCELLED:
        return _cancelled(body, delivery.received_at, order_id=None)
    if topic == REFUNDS_CREATE:
        return _refunded(body, delivery.received_at)
    return []  # another topic (orders/updated, customers/create, ...): kept, not counted


def _placed(order: dict[str, Any], received_at: datetime) -> list[Event]:
    if order.get("test") is True:
        return []  # a test order is no purchase
    order_id = text_id(order.get("id"), what="id")
    # processed_at is when the sale happened (it differs from created_at for imported orders).
    placed_at, time_source, suspect = event_time(order.get("processed_at") or order.get("created_at"),
                                                 received_at)
    placed = OrderPlaced(source=SOURCE, order_id=order_id, placed_at=placed_at, time_source=time_source,
                         time_suspect=suspect, customer=_customer(order),
                         total=amount(order.get("total_price"), what="total_price"),
                         currency=optional_text(order.get("currency"), what="currency"))
    # An order created already cancelled (an import, say) is undone at once.
    return [placed, *_cancelled(order, received_at, order_id=order_id)] if order.get("cancelled_at") else [placed]


def _cancelled(order: dict[str, Any], received_at: datetime, *, order_id: str | None) -> list[Event]:
    """`orders/cancelled`: the Order with `cancelled_at` (when) and `cancel_reason` (customer, fraud,
    inventory, declined, staff, other)."""
    if order.get("test") is True:
        return []  # a test order was never counted
    order_id = order_id or text_id(order.get("id"), what="id")
    at, time_source, suspect = event_time(order.get("cancelled_at") or order.get("updated_at"), received_at)
    return [OrderCancelled(source=SOURCE, order_id=order_id, cancelled_at=at, time_source=time_source,
                           time_suspect=suspect,
                           reason=optional_text(order.get("cancel_reason"), what="cancel_reason"))]


_FAILED_TRANSACTION = ("failure", "error")


def _refunded(refund: dict[str, Any], received_at: datetime) -> list[Event]:
    """`refunds/create`: the Refund; the money given back is its `transactions` of kind `refund`
    that did not fail (a pending one is counted: the shop has decided to pay it back)."""
    order_id = text_id(refund.get("order_id"), what="order_id")
    refund_id = text_id(refund.get("id"), what="id")
    raw = refund.get("transactions") or []
    if not isinstance(raw, list):
        raise PayloadError("wrong_type", "transactions must be a list")
    back, currencies = 0.0, set()
    for i, t in enumerate(raw):
        t = require_object(t, what=f"transactions[{i}]")
        if t.get("kind") != "refund" or t.get("status") in _FAILED_TRANSACTION or t.get("test") is True:
            continue
        back += amount(t.get("amount"), what=f"transactions[{i}].amount") or 0.0
        currencies.add(optional_text(t.get("currency"), what=f"transactions[{i}].currency"))
    if len(currencies - {None}) > 1:
        raise PayloadError("wrong_type", "the refund's transactions are in several currencies")
    at, time_source, suspect = event_time(refund.get("processed_at") or refund.get("created_at"), received_at)
    return [OrderRefunded(source=SOURCE, order_id=order_id, refund_id=refund_id, refunded_at=at, amount=back,
                          currency=next(iter(currencies - {None}), None), time_source=time_source,
                          time_suspect=suspect)]


def _customer(order: dict[str, Any]) -> Person:
    """The buyer; a guest checkout has no customer object, only the order's e-mail."""
    raw = order.get("customer")
    customer = {} if raw is None else require_object(raw, what="customer")
    ident = customer.get("id")
    names = [optional_text(customer.get(part), what=f"customer.{part}") for part in ("first_name", "last_name")]
    name = " ".join(n.strip() for n in names if n and n.strip())
    emails = (optional_text(customer.get("email"), what="customer.email"),
              optional_text(order.get("email"), what="email"),
              optional_text(order.get("contact_email"), what="contact_email"))
    email = next((e.strip() for e in emails if e and e.strip()), None)
    return Person(id=None if ident in (None, "") else text_id(ident, what="customer.id"),
                  name=name or None, email=email)


ADAPTER = HelpdeskAdapter(source=SOURCE, verify=verify, to_events=to_events, delivery_key=delivery_key,
                          signed_headers=signed_headers)
