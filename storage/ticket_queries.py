"""One customer's tickets (`/customer`), whether there is anything yet, and how fresh it is;
period metrics read through storage/figures.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session

from metrics.tickets import Ticket
from storage.tables import RawDelivery, TicketRow
from storage.tickets import with_details


def customer_tickets(session: Session, customer: str) -> list[Ticket]:
    """A customer's tickets, found by email (any case), helpdesk id or exact name."""
    wanted = customer.strip()
    t = TicketRow
    # three indexed equalities: /customer must not scan every ticket
    query = select(t).where(or_(t.requester_key == wanted.lower(), t.requester_id == wanted,
                                t.requester_name == wanted)).order_by(t.created_at)
    return with_details(session, list(session.scalars(query)))


def has_tickets(session: Session) -> bool:
    return bool(session.scalar(select(exists().where(TicketRow.removed.is_(None)))))


def data_as_of(session: Session) -> datetime | None:
    """When deskpulse last heard from a helpdesk: the latest delivery received, or, for history
    imported without deliveries, the latest ticket activity (both read off an index)."""
    received = session.scalar(select(func.max(RawDelivery.received_at)))
    return received or session.scalar(select(func.max(TicketRow.last_activity_at)))
