"""One customer's tickets (`/customer`), whether there is anything yet, how fresh it is, and what
alerts show (agent replies for staffing, a window's tickets); period metrics read through storage/figures.py."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session

from metrics.model import Role
from metrics.staffing import AgentReply
from metrics.tickets import Ticket
from storage.tables import RawDelivery, TicketMessage, TicketRow, TicketTag
from storage.tickets import with_details


def customer_tickets(session: Session, customer: str) -> list[Ticket]:
    """A customer's tickets, found by email (any case), helpdesk id or exact name."""
    return with_details(session, list(session.scalars(customer_query(customer))))


def customer_query(customer: str) -> Select[tuple[TicketRow]]:
    """Three indexed equalities, oldest ticket first: /customer must not scan every ticket."""
    wanted, t = customer.strip(), TicketRow
    return select(t).where(or_(t.requester_key == wanted.lower(), t.requester_id == wanted,
                               t.requester_name == wanted)).order_by(t.created_at)


def has_tickets(session: Session) -> bool:
    return bool(session.scalar(select(exists().where(TicketRow.removed.is_(None)))))


def data_as_of(session: Session) -> datetime | None:
    """When deskpulse last heard from a helpdesk: the latest delivery received, or, for history
    imported without deliveries, the latest ticket activity (both read off an index)."""
    received = session.scalar(select(func.max(RawDelivery.received_at)))
    return received or session.scalar(select(func.max(TicketRow.last_activity_at)))


def agent_replies(session: Session, start: datetime, end: datetime) -> list[AgentReply]:
    """Every public agent reply in [start, end): who, when, on which ticket (for staffing estimates)."""
    m = TicketMessage.__table__.c
    rows = session.execute(select(m.author, m.at, m.ticket_key).where(
        m.role == Role.AGENT.value, m.author.is_not(None), m.at >= start, m.at < end))
    return [AgentReply(author, at, key) for author, at, key in rows]


def tickets_between(session: Session, start: datetime, end: datetime, *, channel: str | None = None,
                    tag: str | None = None, limit: int = 15) -> list[TicketRow]:
    """The tickets created in [start, end) (of one channel, or with one tag), the ones still waiting first."""
    query = select(TicketRow).where(TicketRow.created_at >= start, TicketRow.created_at < end,
                                    TicketRow.removed.is_(None))
    if channel is not None:
        query = query.where(TicketRow.channel == channel)
    if tag is not None:
        query = query.where(TicketRow.key.in_(select(TicketTag.ticket_key).where(TicketTag.tag == tag)))
    order = [TicketRow.first_response_at.is_not(None), TicketRow.created_at]
    return list(session.scalars(query.order_by(*order).limit(limit)))
