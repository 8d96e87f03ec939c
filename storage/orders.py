"""A shop's orders (metrics.model.OrderPlaced), kept once each, and their cancellations and refunds
(OrderCancelled, OrderRefunded), kept once each too; read back as the metrics.orders purchases that
still stand (docs/metrics.md, "Cancelled and refunded orders")."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from metrics.model import OrderCancelled, OrderFact, OrderPlaced, OrderRefunded
from metrics.orders import FULL_REFUND_TOLERANCE, Purchase, Refund, standing
from storage.db import dialect_insert
from storage.tables import OrderChangeRow, OrderRow

ORDERS = OrderRow.__table__
O = ORDERS  # noqa: E741
CHANGES = OrderChangeRow.__table__
C = CHANGES
CANCELLED = "cancelled"
REFUND = "refund"


def save_many(session: Session, delivered: Sequence[tuple[int | None, Sequence[OrderFact]]]) -> int:
    """Store each order, cancellation and refund once: delivered again (a retry, a replay, an import,
    another topic saying the same), it changes nothing. Each is stored whether or not the others
    have arrived, so the order they come in does not matter."""
    placed = [_row(fact, delivery_id) for delivery_id, facts in delivered for fact in facts
              if isinstance(fact, OrderPlaced)]
    changes = [_change(fact, delivery_id) for delivery_id, facts in delivered for fact in facts
               if isinstance(fact, OrderCancelled | OrderRefunded)]
    stored = 0
    if placed:
        insert = dialect_insert(session, ORDERS).on_conflict_do_nothing(index_elements=["source", "order_id"])
        stored += session.execute(insert, placed).rowcount or 0
    if changes:
        insert = dialect_insert(session, CHANGES).on_conflict_do_nothing(
            index_elements=["source", "order_id", "change"])
        stored += session.execute(insert, changes).rowcount or 0
    return stored


def _row(order: OrderPlaced, delivery_id: int | None) -> dict[str, Any]:
    return {"source": order.source, "order_id": order.order_id[:160], "placed_at": order.placed_at,
            "customer_key": order.customer_key, "customer_id": order.customer.id, "customer_name": order.customer.name,
            "total": order.total, "currency": _currency(order.currency),
            "time_suspect": order.time_suspect, "delivery_id": delivery_id}


def _change(fact: OrderCancelled | OrderRefunded, delivery_id: int | None) -> dict[str, Any]:
    common = {"source": fact.source, "order_id": fact.order_id[:160], "time_suspect": fact.time_suspect,
              "delivery_id": delivery_id}
    if isinstance(fact, OrderCancelled):
        return {**common, "change": CANCELLED, "kind": CANCELLED, "happened_at": fact.cancelled_at,
                "amount": None, "currency": None, "reason": fact.reason}
    return {**common, "change": f"{REFUND}:{fact.refund_id[:200]}", "kind": REFUND, "happened_at": fact.refunded_at,
            "amount": fact.amount, "currency": _currency(fact.currency), "reason": None}


def _currency(code: str | None) -> str | None:
    return (code or "")[:8] or None


# --- reading: the SQL twin of metrics.orders.standing -------------------------------------------


def _of_the_order(order: Any) -> ColumnElement[bool]:
    return and_(C.c.source == order.c.source, C.c.order_id == order.c.order_id)


def refunded(order: Any = O) -> Any:
    """Per order row: the refunds that can be weighed against it (metrics.orders.refundable), added up."""
    same_currency = or_(order.c.currency.is_(None), C.c.currency.is_(None), C.c.currency == order.c.currency)
    return select(func.coalesce(func.sum(case((same_currency, C.c.amount), else_=0.0)), 0.0)).where(
        _of_the_order(order), C.c.kind == REFUND).scalar_subquery()


def still_standing(order: Any = O) -> ColumnElement[bool]:
    """The rows of `order` (the orders table or an alias of it) that are purchases: not cancelled,
    not refunded in full."""
    back = refunded(order)
    cancelled = exists(select(C.c.id).where(_of_the_order(order), C.c.kind == CANCELLED))
    refunded_in_full = and_(order.c.total.is_not(None), back > 0, back >= order.c.total - FULL_REFUND_TOLERANCE)
    return and_(~cancelled, not_(refunded_in_full))


def purchase_columns() -> Select[Any]:
    """The orders that still stand, with what was refunded on each (add filters with `.where`)."""
    return select(O.c.source, O.c.order_id, O.c.customer_key, O.c.placed_at, O.c.total, O.c.currency,
                  refunded().label("refunded")).where(still_standing())


def purchases(session: Session, query: Select[Any]) -> list[Purchase]:
    """The rows of a `purchase_columns()` query as metrics.orders facts, totals less their refunds."""
    return [Purchase(f"{r.source}:{r.order_id}", r.customer_key, r.placed_at,
                     r.total - r.refunded if r.total is not None and r.refunded else r.total, r.currency)
            for r in session.execute(query)]


def all_purchases(session: Session) -> list[Purchase]:
    """The in-memory reference: every order with a known customer, its cancellations and refunds read
    as they are stored and applied by metrics.orders.standing (not by the SQL above)."""
    every = [Purchase(f"{r.source}:{r.order_id}", r.customer_key, r.placed_at, r.total, r.currency)
             for r in session.execute(select(O.c.source, O.c.order_id, O.c.customer_key, O.c.placed_at,
                                              O.c.total, O.c.currency).where(O.c.customer_key.is_not(None)))]
    changes = session.execute(select(C.c.source, C.c.order_id, C.c.kind, C.c.amount, C.c.currency)).all()
    cancelled = {f"{c.source}:{c.order_id}" for c in changes if c.kind == CANCELLED}
    refunds = [Refund(f"{c.source}:{c.order_id}", c.amount or 0.0, c.currency) for c in changes if c.kind == REFUND]
    return standing(every, cancelled=cancelled, refunds=refunds)


def any_orders(session: Session) -> bool:
    """Whether a shop is connected at all: without orders, conversion figures mean nothing."""
    return session.scalar(select(O.c.id).limit(1)) is not None
