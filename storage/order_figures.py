"""Converted tickets and retention over the stored tickets and orders (docs/metrics.md); the
arithmetic and the attribution of orders to tickets are metrics.orders' own."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import distinct, exists, func, select
from sqlalchemy.orm import aliased

from metrics.dimensions import Dimension
from metrics.orders import Contact, Purchase, attribute, conversion_tally, retention_figures
from metrics.periods import Period
from storage.orders import ORDERS as O
from storage.orders import purchase_columns, purchases, still_standing
from storage.tables import TicketRow

if TYPE_CHECKING:
    from storage.figures import StoredSource

Figures = dict[str, float | None]
T = TicketRow.__table__


def conversions(source: StoredSource, period: Period, by: Dimension | None,
                created_tickets: Mapping[str, int]) -> dict[str, Figures]:
    """Tickets created in the period (`created_tickets` counts them per group), each converted when
    an order went to it. An order goes to the customer's latest ticket at or before it whatever the
    question's filters, so only the tickets from the period's start on of customers who ordered are
    read: an earlier ticket can never be the latest, and a customer without an order converts nothing."""
    window = source.context.conversion_window
    created = [T.c.created_at >= period.start, T.c.created_at < period.end]
    horizon = period.end + window
    contacted = aliased(T)  # the customer opened a ticket in the period: checked per order, never per ticket
    customers = exists(select(contacted.c.key).where(
        contacted.c.requester_key == O.c.customer_key, contacted.c.created_at >= period.start,
        contacted.c.created_at < period.end, contacted.c.removed.is_(None)))
    buyers = select(O.c.customer_key).where(customers, O.c.placed_at >= period.start, O.c.placed_at < horizon,
                                            still_standing())
    bought = purchases(source.session, purchase_columns().where(customers, O.c.placed_at >= period.start,
                                                                O.c.placed_at < horizon))
    contacts = [Contact(r.key, r.requester_key, r.created_at) for r in source.session.execute(
        select(T.c.key, T.c.requester_key, T.c.created_at).where(
            T.c.requester_key.in_(buyers), T.c.removed.is_(None),
            T.c.created_at >= period.start, T.c.created_at < horizon))] if bought else []
    converted = attribute(contacts, bought, window)
    won: dict[str, list[list[Purchase]]] = defaultdict(list)
    keys = list(converted)
    for first in range(0, len(keys), 500):  # only the converted tickets are read one by one
        chunk = T.c.key.in_(keys[first:first + 500])
        for key, (ticket,) in source.rows(by, [T.c.key], T, [*created, chunk]):
            won[key].append(converted[ticket])
    return {key: conversion_tally(n, won[key]) for key, n in created_tickets.items()}


def retention(source: StoredSource, period: Period, by: Dimension | None) -> dict[str, Figures]:
    """Customers who ordered within the lapse window before the start and before the end, and
    customers whose first order fell in the period (no ticket filter applies: of_customers); only
    orders that still stand count (storage.orders.still_standing)."""
    lapse = source.context.lapse

    def active(moment: datetime) -> int:
        return source.session.scalar(select(func.count(distinct(O.c.customer_key))).where(
            O.c.customer_key.is_not(None), O.c.placed_at >= moment - lapse, O.c.placed_at < moment,
            still_standing())) or 0

    earlier = aliased(O)
    new = source.session.scalar(select(func.count(distinct(O.c.customer_key))).where(
        O.c.customer_key.is_not(None), O.c.placed_at >= period.start, O.c.placed_at < period.end, still_standing(),
        ~exists(select(earlier.c.id).where(earlier.c.customer_key == O.c.customer_key,
                                           earlier.c.placed_at < period.start, still_standing(earlier))))) or 0
    return {"all": retention_figures(active(period.start), active(period.end), new)}
