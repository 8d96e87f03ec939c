"""Reads behind metric answers: the tickets a period needs, tags seen before, one customer's tickets.

Every read is bounded by the period through indexed columns, so its cost follows the period and
not the history around it (docs/metrics.md, "Which tickets a period looks at").
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from metrics.tickets import Ticket
from storage.tables import TicketRow, TicketTag
from storage.tickets import with_details


def tickets_between(session: Session, start: datetime, end: datetime, *,
                    channels: Sequence[str] = (), sources: Sequence[str] = ()) -> list[Ticket]:
    """Every live ticket that could count in [start, end]: created by `end` and either active since
    `start` (any fact at or after it) or unresolved now (it was open all along)."""
    t = TicketRow
    query = (select(t).where(t.created_at <= end, t.removed.is_(None),
                             or_(t.last_activity_at >= start, t.is_resolved.is_(False)))
             .order_by(t.created_at, t.key))
    if channels:
        query = query.where(t.channel.in_(channels))
    if sources:
        query = query.where(t.source.in_(sources))
    return with_details(session, list(session.scalars(query)))


def tags_seen_before(session: Session, moment: datetime) -> frozenset[str]:
    """Every tag carried by a ticket created before `moment` ("new tags" are the others)."""
    query = (select(TicketTag.tag).join(TicketRow, TicketRow.key == TicketTag.ticket_key)
             .where(TicketRow.created_at < moment, TicketRow.removed.is_(None)).distinct())
    return frozenset(session.scalars(query))


def customer_tickets(session: Session, customer: str) -> list[Ticket]:
    """A customer's tickets, found by email (any case), helpdesk id or exact name."""
    wanted = customer.strip()
    t = TicketRow
    query = select(t).where(or_(t.requester_key == wanted.lower(), t.requester_id == wanted,
                                func.lower(t.requester_name) == wanted.lower())).order_by(t.created_at)
    return with_details(session, list(session.scalars(query)))
