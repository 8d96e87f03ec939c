"""Converted tickets and retention over the stored tickets and orders (docs/metrics.md); the
arithmetic and the attribution of orders to tickets are metrics.orders' own."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import distinct, exists, func, select
from sqlalchemy.orm import aliased

from metrics.dimensions import Dimension
from metrics.orders import Contact, attribute, conversion_figures, retention_figures
from metrics.periods import Period
from storage.orders import ORDERS as O
from storage.orders import purchase_columns, purchases
from storage.tables import TicketRow

if TYPE_CHECKING:
    from storage.figures import StoredSource

Figures = dict[str, float | None]
T = TicketRow.__table__


def conversions(source: StoredSource, period: Period, by: Dimension | None) -> dict[str, Figures]:
    """Tickets created in the period, each converted when an order went to it. An order goes to the
    customer's latest ticket at or before it whatever the question's filters, so only the
    customer's tickets from the period's start on are read: an earlier one can never be the latest."""
    window = source.context.conversion_window
    created = [T.c.created_at >= period.start, T.c.created_at < period.end]
    counted: dict[str, list[str]] = defaultdict(list)
    for key, (ticket,) in source.rows(by, [T.c.key], T, created):
        counted[key].append(ticket)
    customers = select(T.c.requester_key).where(*created, T.c.removed.is_(None), T.c.requester_key.is_not(None))
    horizon = period.end + window
    contacts = [Contact(r.key, r.requester_key, r.created_at) for r in source.session.execute(
        select(T.c.key, T.c.requester_key, T.c.created_at).where(
            T.c.requester_key.in_(customers), T.c.removed.is_(None),
            T.c.created_at >= period.start, T.c.created_at < horizon))]
    bought = purchases(source.session, purchase_columns().where(
        O.c.customer_key.in_(customers), O.c.placed_at >= period.start, O.c.placed_at < horizon))
    converted = attribute(contacts, bought, window)
    found = {key: conversion_figures(tickets, converted) for key, tickets in counted.items()}
    if by is None:
        found.setdefault("all", conversion_figures([], converted))
    return found


def retention(source: StoredSource, period: Period, by: Dimension | None) -> dict[str, Figures]:
    """Customers who ordered within the lapse window before the start and before the end, and
    customers whose first order fell in the period (no ticket filter applies: of_customers)."""
    lapse = source.context.lapse

    def active(moment: datetime) -> int:
        return source.session.scalar(select(func.count(distinct(O.c.customer_key))).where(
            O.c.customer_key.is_not(None), O.c.placed_at >= moment - lapse, O.c.placed_at < moment)) or 0

    earlier = aliased(O)
    new = source.session.scalar(select(func.count(distinct(O.c.customer_key))).where(
        O.c.customer_key.is_not(None), O.c.placed_at >= period.start, O.c.placed_at < period.end,
        ~exists(select(earlier.c.id).where(earlier.c.customer_key == O.c.customer_key,
                                           earlier.c.placed_at < period.start)))) or 0
    return {"all": retention_figures(active(period.start), active(period.end), new)}
