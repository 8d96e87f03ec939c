"""A shop's orders (metrics.model.OrderPlaced), kept once each, read back as metrics.orders facts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from metrics.model import OrderPlaced
from metrics.orders import Purchase
from storage.db import dialect_insert
from storage.tables import OrderRow

ORDERS = OrderRow.__table__
O = ORDERS  # noqa: E741


def save_many(session: Session, delivered: Sequence[tuple[int | None, Sequence[OrderPlaced]]]) -> int:
    """Store each order once: an order delivered again (a retry, a replay, an import) changes nothing."""
    rows = [_row(order, delivery_id) for delivery_id, orders in delivered for order in orders]
    if not rows:
        return 0
    insert = dialect_insert(session, ORDERS).on_conflict_do_nothing(index_elements=["source", "order_id"])
    return session.execute(insert, rows).rowcount or 0


def _row(order: OrderPlaced, delivery_id: int | None) -> dict[str, Any]:
    return {"source": order.source, "order_id": order.order_id[:160], "placed_at": order.placed_at,
            "customer_key": order.customer_key, "customer_id": order.customer.id, "customer_name": order.customer.name,
            "total": order.total, "currency": (order.currency or "")[:8] or None,
            "time_suspect": order.time_suspect, "delivery_id": delivery_id}


def purchase_columns() -> Select[Any]:
    return select(O.c.source, O.c.order_id, O.c.customer_key, O.c.placed_at, O.c.total, O.c.currency)


def purchases(session: Session, query: Select[Any]) -> list[Purchase]:
    """The rows of a `purchase_columns()` query as metrics.orders facts."""
    return [Purchase(f"{r.source}:{r.order_id}", r.customer_key, r.placed_at, r.total, r.currency)
            for r in session.execute(query)]


def all_purchases(session: Session) -> list[Purchase]:
    """Every order with a known customer (for the in-memory reference)."""
    return purchases(session, purchase_columns().where(O.c.customer_key.is_not(None)))


def any_orders(session: Session) -> bool:
    """Whether a shop is connected at all: without orders, conversion figures mean nothing."""
    return session.scalar(select(O.c.id).limit(1)) is not None
