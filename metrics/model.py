"""Canonical, helpdesk-independent ticket facts (docs/metrics.md, "The event model").

Adapters turn a payload into these events; `metrics.tickets` folds them into a
`Ticket`. Everything here is plain data: no I/O, no clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class Role(enum.StrEnum):
    """Who wrote a message. Only `agent` messages count as replies."""

    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"


class Status(enum.StrEnum):
    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    SOLVED = "solved"
    CLOSED = "closed"

    @property
    def is_resolved(self) -> bool:
        return self in (Status.SOLVED, Status.CLOSED)


class Channel(enum.StrEnum):
    EMAIL = "email"
    CHAT = "chat"
    WEB = "web"
    PHONE = "phone"
    SMS = "sms"
    SOCIAL = "social"
    API = "api"
    OTHER = "other"


class Priority(enum.StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Csat(enum.StrEnum):
    GOOD = "good"
    NEUTRAL = "neutral"
    BAD = "bad"


class CsatScale(enum.StrEnum):
    GOOD_BAD = "good_bad"
    ONE_TO_FIVE = "1_5"
    THREE_POINT = "3pt"
    SEVEN_POINT = "7pt"  # Freshdesk: 103 … 100 … -103 (docs/metrics.md, CSAT)


class RemovalReason(enum.StrEnum):
    MERGED = "merged"
    SPAM = "spam"
    DELETED = "deleted"


class TimeSource(enum.StrEnum):
    """Where `occurred_at` came from; `received` means the payload had no usable time."""

    PAYLOAD = "payload"
    RECEIVED = "received"


@dataclass(frozen=True, kw_only=True)
class Person:
    id: str | None = None
    name: str | None = None
    email: str | None = None


@dataclass(frozen=True, kw_only=True)
class TicketEvent:
    """One fact about one ticket at one moment.

    `event_id` is unique within the helpdesk (`source`) and makes re-delivery harmless.
    `ticket_id` is the id as the helpdesk shows it, always text.
    """

    source: str
    ticket_id: str
    event_id: str
    occurred_at: datetime
    time_source: TimeSource = TimeSource.PAYLOAD
    time_suspect: bool = False

    @property
    def ticket_key(self) -> str:
        return f"{self.source}:{self.ticket_id}"

    @property
    def kind(self) -> str:
        return KIND_BY_CLASS[type(self)]


@dataclass(frozen=True, kw_only=True)
class TicketObserved(TicketEvent):
    """The ticket's fields as the helpdesk showed them at `occurred_at`.

    Fields left as None were not in the payload. A snapshot whose status differs from
    the one before it is a status change (that is how reopens are seen from snapshots).
    """

    created_at: datetime | None = None
    opened: bool = False  # True when this event is the ticket's creation
    opened_by: Role | None = None  # agent for outbound tickets, which have no first response
    subject: str | None = None
    channel: Channel | None = None
    channel_raw: str | None = None
    status: Status | None = None
    status_raw: str | None = None
    priority: Priority | None = None
    priority_raw: str | None = None
    tags: tuple[str, ...] | None = None
    ticket_type: str | None = None
    requester: Person | None = None
    assignee: Person | None = None
    group: str | None = None
    organization: str | None = None


@dataclass(frozen=True, kw_only=True)
class MessagePosted(TicketEvent):
    """A message on the ticket; `public=False` is an internal note."""

    message_id: str
    author_role: Role
    author: Person = field(default_factory=Person)
    public: bool = True
    body: str = ""


@dataclass(frozen=True, kw_only=True)
class StatusChanged(TicketEvent):
    status: Status
    status_raw: str = ""
    previous: Status | None = None
    actor: Person | None = None


@dataclass(frozen=True, kw_only=True)
class Assigned(TicketEvent):
    """Assignee and/or group changed; an empty assignee means unassigned."""

    assignee: Person | None = None
    group: str | None = None


@dataclass(frozen=True, kw_only=True)
class PriorityChanged(TicketEvent):
    priority: Priority
    priority_raw: str = ""


@dataclass(frozen=True, kw_only=True)
class TagsChanged(TicketEvent):
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Rated(TicketEvent):
    """A satisfaction rating; a later rating of the same ticket replaces an earlier one."""

    rating: Csat
    scale: CsatScale
    raw: str
    score: float | None = None  # numeric scales only, e.g. 4 of 5
    comment: str | None = None
    agent: Person | None = None


@dataclass(frozen=True, kw_only=True)
class Removed(TicketEvent):
    """Merged, marked as spam or deleted: the ticket leaves every metric (until a later
    `Restored`, except after a merge)."""

    reason: RemovalReason


@dataclass(frozen=True, kw_only=True)
class Restored(TicketEvent):
    """Back from spam or from the trash: the ticket counts again, as if never removed.

    The ticket is removed when its latest removal or restoration is a removal
    (metrics.tickets, docs/metrics.md "Removed tickets"). A merge is never undone: helpdesks
    cannot unmerge, and the merged ticket's story goes on in the ticket it was merged into.
    """


KIND_BY_CLASS: dict[type[TicketEvent], str] = {
    TicketObserved: "observed",
    MessagePosted: "message",
    StatusChanged: "status",
    Assigned: "assigned",
    PriorityChanged: "priority",
    TagsChanged: "tags",
    Rated: "rated",
    Removed: "removed",
    Restored: "restored",
}
CLASS_BY_KIND: dict[str, type[TicketEvent]] = {kind: cls for cls, kind in KIND_BY_CLASS.items()}


@dataclass(frozen=True, kw_only=True)
class OrderPlaced:
    """A purchase in the shop (docs/metrics.md, "Converted tickets" and "Retention").

    Not a ticket fact: it belongs to a customer, who is matched to ticket requesters by e-mail.
    `order_id` is unique within `source`, so a re-delivered order counts once.
    """

    source: str
    order_id: str
    placed_at: datetime
    customer: Person
    total: float | None = None
    currency: str | None = None
    time_source: TimeSource = TimeSource.PAYLOAD
    time_suspect: bool = False

    @property
    def customer_key(self) -> str | None:
        return customer_key(self.source, self.customer)


@dataclass(frozen=True, kw_only=True)
class OrderCancelled:
    """An order the shop cancelled: it is no purchase (docs/metrics.md, "Cancelled and refunded orders").

    It names the order by `source` and `order_id`, like the `OrderPlaced` it undoes, and may arrive
    before it; an order is cancelled once, however often this is delivered.
    """

    source: str
    order_id: str
    cancelled_at: datetime
    reason: str | None = None  # the shop's word, e.g. Shopify's "customer", "fraud", "inventory"
    time_source: TimeSource = TimeSource.PAYLOAD
    time_suspect: bool = False


@dataclass(frozen=True, kw_only=True)
class OrderRefunded:
    """Money the shop gave back on an order (docs/metrics.md, "Cancelled and refunded orders").

    `refund_id` is unique within the order, so a re-delivered refund is subtracted once; refunds
    adding up to the order's total undo it as a cancellation does. `amount` is 0 when no money went
    back (items restocked only).
    """

    source: str
    order_id: str
    refund_id: str
    refunded_at: datetime
    amount: float
    currency: str | None = None
    time_source: TimeSource = TimeSource.PAYLOAD
    time_suspect: bool = False


def customer_key(source: str, person: Person | None) -> str | None:
    """How one customer is found across tickets and orders: the e-mail, lower-cased, else the
    source's own id, prefixed with the source so a shop's id never meets a helpdesk's."""
    if person is None:
        return None
    if person.email and person.email.strip():
        return person.email.strip().lower()[:320]
    return f"{source}:{person.id}"[:320] if person.id else None


# What a shop tells about its orders: placed, cancelled, money given back.
OrderFact = OrderPlaced | OrderCancelled | OrderRefunded
ORDER_FACTS = (OrderPlaced, OrderCancelled, OrderRefunded)

# What an adapter reads from a delivery: ticket facts, and orders from a shop.
Event = TicketEvent | OrderFact
