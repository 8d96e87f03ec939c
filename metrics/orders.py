"""Converted tickets and retention: what support does for sales (docs/metrics.md, "Converted
tickets", "Retention", "Cancelled and refunded orders"). Plain data in, figures out; customers are
the keys storage matches (a ticket's requester_key, an order's customer_key: the lower-case e-mail).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from metrics.periods import Period

Figures = dict[str, float | None]

CONVERSION_DAYS = 5  # seed 003: "tickets that lead to a purchase within 5 days"
LAPSE_DAYS = 365  # a customer with no order for this long is no longer counted as one


@dataclass(frozen=True)
class Purchase:
    order: str  # "<source>:<order id>"
    customer: str
    placed_at: datetime
    total: float | None = None
    currency: str | None = None


@dataclass(frozen=True)
class Refund:
    """Money given back on an order (`Purchase.order`), in `currency` when known."""

    order: str
    amount: float
    currency: str | None = None


# Refunds within half a cent of the order's total refund all of it (totals are decimal strings).
FULL_REFUND_TOLERANCE = 0.005


def refundable(purchase_currency: str | None, refund_currency: str | None) -> bool:
    """Whether a refund can be weighed against an order: the same currency, or one of them unknown."""
    return purchase_currency is None or refund_currency is None or purchase_currency == refund_currency


def standing(purchases: Iterable[Purchase], *, cancelled: Collection[str],
             refunds: Iterable[Refund]) -> list[Purchase]:
    """The purchases that still stand (docs/metrics.md, "Cancelled and refunded orders"): a cancelled
    order is none; nor is one whose refunds add up to its total; a partly refunded one counts with
    its total less the refunds. A refund in another currency than its order's is not subtracted."""
    back: dict[str, list[Refund]] = defaultdict(list)
    for r in refunds:
        back[r.order].append(r)
    kept = []
    for p in purchases:
        if p.order in cancelled:
            continue
        refunded = sum(r.amount for r in back.get(p.order, ()) if refundable(p.currency, r.currency))
        if p.total is not None and refunded > 0 and refunded >= p.total - FULL_REFUND_TOLERANCE:
            continue
        kept.append(p if p.total is None or not refunded else replace(p, total=p.total - refunded))
    return kept


@dataclass(frozen=True)
class Contact:
    """A ticket as conversion sees it: who opened it and when."""

    ticket: str
    customer: str
    created_at: datetime


def attribute(contacts: Iterable[Contact], purchases: Iterable[Purchase],
              window: timedelta) -> dict[str, list[Purchase]]:
    """Each purchase goes to its customer's most recently created ticket at or before it, when that
    ticket was created less than `window` earlier; a customer's earlier tickets get none of it
    (the ticket closest to the sale gets the credit). Ticket key -> the purchases it converted."""
    by_customer: dict[str, list[Contact]] = defaultdict(list)
    for c in contacts:
        by_customer[c.customer].append(c)
    opened = {}
    for customer, tickets in by_customer.items():
        tickets.sort(key=lambda c: (c.created_at, c.ticket))
        opened[customer] = [c.created_at for c in tickets]
    converted: dict[str, list[Purchase]] = defaultdict(list)
    for p in sorted(purchases, key=lambda p: (p.placed_at, p.order)):
        if p.customer not in by_customer:
            continue
        i = bisect.bisect_right(opened[p.customer], p.placed_at) - 1
        ticket = by_customer[p.customer][i]
        if i >= 0 and p.placed_at - ticket.created_at < window:
            converted[ticket.ticket].append(p)
    return dict(converted)


def conversion_figures(tickets: Sequence[str], converted: Mapping[str, Sequence[Purchase]]) -> Figures:
    """`tickets`: the keys of the tickets created in the period (each once); `converted`: from
    `attribute`. Sales are added up only when every converting order is in one currency."""
    return conversion_tally(len(tickets), [converted[t] for t in tickets if t in converted])


def conversion_tally(tickets: int, won: Sequence[Sequence[Purchase]]) -> Figures:
    """`conversion_figures` from the number of tickets and the purchases of each converted one."""
    orders = [p for purchases in won for p in purchases]
    currencies = {p.currency for p in orders}
    sales = sum(p.total or 0.0 for p in orders) if orders and len(currencies) == 1 else None
    return {"converted": float(len(won)), "tickets": float(tickets),
            "rate": 100.0 * len(won) / tickets if tickets else None,
            "orders": float(len(orders)), "sales": sales}


def retention_figures(at_start: int, at_end: int, new: int) -> Figures:
    """(customers at the end − new customers) / customers at the start × 100."""
    return {"rate": 100.0 * (at_end - new) / at_start if at_start else None, "at_start": float(at_start),
            "at_end": float(at_end), "new": float(new)}


def retention(purchases: Sequence[Purchase], period: Period, lapse: timedelta) -> Figures:
    """The reference: a customer counts at a moment when they ordered within `lapse` before it;
    a new customer is one whose first order ever falls in the period."""
    first: dict[str, datetime] = {}
    for p in purchases:
        first[p.customer] = min(p.placed_at, first.get(p.customer, p.placed_at))

    def active(moment: datetime) -> int:
        return len({p.customer for p in purchases if moment - lapse <= p.placed_at < moment})

    new = sum(period.contains(at) for at in first.values())
    return retention_figures(active(period.start), active(period.end), new)
