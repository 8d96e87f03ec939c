"""One customer's tickets (`/customer`); period metrics read through storage/figures.py."""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from metrics.tickets import Ticket
from storage.tables import TicketRow
from storage.tickets import with_details


def customer_tickets(session: Session, customer: str) -> list[Ticket]:
    """A customer's tickets, found by email (any case), helpdesk id or exact name."""
    wanted = customer.strip()
    t = TicketRow
    query = select(t).where(or_(t.requester_key == wanted.lower(), t.requester_id == wanted,
                                func.lower(t.requester_name) == wanted.lower())).order_by(t.created_at)
    return with_details(session, list(session.scalars(query)))
