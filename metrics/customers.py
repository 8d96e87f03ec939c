"""One customer's history (docs/metrics.md, "Customer")."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from metrics.model import Csat, Role
from metrics.tickets import Ticket


@dataclass(frozen=True)
class CustomerHistory:
    customer: str
    name: str | None
    tickets: list[Ticket]  # newest first
    open: int
    first_contact: datetime | None
    last_contact: datetime | None  # the customer's latest public message, else ticket creation
    agents: list[str]  # who replied, most replies first
    csat: float | None  # share of good ratings
    ratings: int


def customer_history(customer: str, tickets: Sequence[Ticket]) -> CustomerHistory:
    live = sorted((t for t in tickets if t.removed is None), key=lambda t: t.created_at, reverse=True)
    contacts = [m.at for t in live for m in t.messages if m.role is Role.CUSTOMER] + [t.created_at for t in live]
    replies: dict[str, int] = {}
    for t in live:
        for m in t.messages:
            if m.role is Role.AGENT and m.author:
                replies[m.author] = replies.get(m.author, 0) + 1
    rated = [t.csat for t in live if t.csat is not None]
    name = next((t.requester.name for t in live if t.requester and t.requester.name), None)
    return CustomerHistory(
        customer=customer, name=name, tickets=live, open=sum(not t.is_resolved for t in live),
        first_contact=min((t.created_at for t in live), default=None), last_contact=max(contacts, default=None),
        agents=sorted(replies, key=lambda a: (-replies[a], a)),
        csat=100.0 * rated.count(Csat.GOOD) / len(rated) if rated else None, ratings=len(rated))
