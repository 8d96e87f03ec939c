"""Fold a ticket's events into one `Ticket` (docs/metrics.md, "Per ticket").

The fold sorts events by when they happened, never by when they arrived, so the same
set of events gives the same ticket in any delivery order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime
from typing import Any

from metrics.model import (
    Assigned,
    Channel,
    Csat,
    CsatScale,
    MessagePosted,
    Person,
    Priority,
    PriorityChanged,
    Rated,
    RemovalReason,
    Removed,
    Restored,
    Role,
    Status,
    StatusChanged,
    TagsChanged,
    TicketEvent,
    TicketObserved,
)


@dataclass(frozen=True, slots=True)
class PublicMessage:
    """A public message as period metrics need it (internal notes are left out)."""

    at: datetime
    role: Role
    author: str | None = None  # the agent's id (or name); None for customers
    wait_seconds: float | None = None  # an agent reply that ended a customer's wait: how long it was


@dataclass(frozen=True, slots=True)
class OpenSpan:
    """A stretch during which the ticket was unresolved; `resolved_at` None: still open."""

    opened_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None  # the assignee at the moment it was resolved

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.opened_at < end and (self.resolved_at is None or self.resolved_at > start)

    def holds(self, moment: datetime) -> bool:
        """Open at `moment` (resolved exactly then counts as no longer open)."""
        return self.opened_at <= moment and (self.resolved_at is None or self.resolved_at > moment)


@dataclass(frozen=True, kw_only=True)
class Ticket:
    """A ticket as deskpulse understands it after all its events (docs/metrics.md)."""

    source: str
    ticket_id: str
    created_at: datetime
    created_at_known: bool  # False: no creation time seen yet, the earliest event stands in
    subject: str | None = None
    channel: Channel = Channel.OTHER
    channel_raw: str | None = None
    status: Status = Status.OPEN
    status_raw: str | None = None
    priority: Priority | None = None
    tags: tuple[str, ...] = ()
    ticket_type: str | None = None
    requester: Person | None = None
    assignee: Person | None = None
    group: str | None = None
    organization: str | None = None
    outbound: bool = False
    first_response_at: datetime | None = None
    first_response_seconds: float | None = None
    response_intervals_seconds: tuple[float, ...] = ()
    awaiting_reply_since: datetime | None = None
    agent_replies: int = 0
    customer_messages: int = 0
    bot_replies: int = 0
    first_resolved_at: datetime | None = None
    last_resolved_at: datetime | None = None
    first_resolution_seconds: float | None = None
    full_resolution_seconds: float | None = None
    times_resolved: int = 0
    reopens: int = 0
    csat: Csat | None = None
    csat_raw: str | None = None
    csat_scale: CsatScale | None = None
    csat_score: float | None = None
    csat_comment: str | None = None
    csat_agent: Person | None = None
    rated_at: datetime | None = None
    removed: RemovalReason | None = None
    last_activity_at: datetime | None = None
    time_suspect_events: int = 0
    agents: tuple[str, ...] = field(default=())  # ids (or names) of agents who replied publicly
    first_responder: str | None = None
    messages: tuple[PublicMessage, ...] = ()
    open_spans: tuple[OpenSpan, ...] = ()
    # The UTC days of every event and reported creation time: any measurement of this ticket, in
    # this fold or an earlier one (which saw a subset of these events), falls on one of them.
    event_days: frozenset[date] = field(default=frozenset(), compare=False)

    @property
    def key(self) -> str:
        return f"{self.source}:{self.ticket_id}"

    @property
    def is_resolved(self) -> bool:
        return self.status.is_resolved

    @property
    def one_touch(self) -> bool:
        """Resolved now, with exactly one public agent reply over its life."""
        return self.is_resolved and self.agent_replies == 1

    @property
    def automated(self) -> bool:
        """Resolved now by bots or automations alone: their replies, none from an agent."""
        return self.is_resolved and self.agent_replies == 0 and self.bot_replies > 0

    @property
    def abandoned(self) -> bool:
        """Resolved now with no public reply at all, from an agent, a bot or an automation."""
        return self.is_resolved and self.agent_replies == 0 and self.bot_replies == 0

    @property
    def assignee_key(self) -> str | None:
        return (self.assignee.id or self.assignee.name) if self.assignee else None

    def open_at(self, moment: datetime) -> bool:
        return any(span.holds(moment) for span in self.open_spans)

    def active_between(self, start: datetime, end: datetime) -> bool:
        return any(span.overlaps(start, end) for span in self.open_spans)

    def resolved_between(self, start: datetime, end: datetime) -> list[OpenSpan]:
        """The resolutions that happened in [start, end)."""
        return [s for s in self.open_spans if s.resolved_at is not None and start <= s.resolved_at < end]


# Among events of the same second: the creation first, then messages (an agent who
# replies and solves in one click replied before solving), then field changes. A removal and a
# restoration of the same second can only come from a clock that did not move between them
# (snapshot times); the restoration is taken as the later one, since dropping a real customer's
# ticket is the costlier mistake.
_RANK = {"observed": 1, "message": 2, "assigned": 3, "priority": 3, "tags": 3, "status": 4, "rated": 5, "removed": 6,
         "restored": 7}


def _order(event: TicketEvent) -> tuple[datetime, int, str]:
    rank = 0 if isinstance(event, TicketObserved) and event.opened else _RANK[event.kind]
    return (event.occurred_at, rank, event.event_id)


def _seconds(later: datetime, earlier: datetime) -> float:
    # In UTC: two datetimes of one named zone subtract as wall-clock time across DST.
    return max(0.0, (later.astimezone(UTC) - earlier.astimezone(UTC)).total_seconds())


def fold_ticket(events: Iterable[TicketEvent]) -> Ticket:
    """Build the ticket from all its events, whatever order they arrived in."""
    ordered = sorted(events, key=_order)
    if not ordered:
        raise ValueError("a ticket needs at least one event")
    first = ordered[0]
    created_at, known = _creation_time(ordered)
    outbound = any(isinstance(e, TicketObserved) and e.opened_by == Role.AGENT for e in ordered)
    state = _Fold(
        Ticket(source=first.source, ticket_id=first.ticket_id, created_at=created_at,
               created_at_known=known, outbound=outbound),
        waiting_since=None if outbound else created_at,
    )
    for event in ordered:
        state.apply(event)
    return replace(state.finish(), event_days=_event_days(ordered))


def _event_days(ordered: list[TicketEvent]) -> frozenset[date]:
    moments = [e.occurred_at for e in ordered]
    moments += [e.created_at for e in ordered if isinstance(e, TicketObserved) and e.created_at]
    return frozenset(m.astimezone(UTC).date() for m in moments)


def _creation_time(ordered: list[TicketEvent]) -> tuple[datetime, bool]:
    """The earliest creation time any snapshot reported, else the opening event's time."""
    reported = [e.created_at for e in ordered if isinstance(e, TicketObserved) and e.created_at]
    if reported:
        return min(reported), True
    opening = [e.occurred_at for e in ordered if isinstance(e, TicketObserved) and e.opened]
    if opening:
        return min(opening), True
    return ordered[0].occurred_at, False


class _Fold:
    """The running state of one fold; `apply` takes events in time order.

    Fields are kept in a plain dict and the frozen Ticket is built once, at the end.
    """

    def __init__(self, ticket: Ticket, *, waiting_since: datetime | None) -> None:
        self.f: dict[str, Any] = {f.name: getattr(ticket, f.name) for f in fields(Ticket)}
        self.waiting_since = waiting_since
        self.seen_status: Status | None = None
        self.tags: list[str] = []
        self.intervals: list[float] = []
        self.agents: list[str] = []
        self.first_customer_at: datetime | None = None
        self.messages: list[PublicMessage] = []
        self.seen_messages: set[str] = set()
        self.spans: list[OpenSpan] = []
        self.open_since: datetime | None = ticket.created_at
        self.merged = False
        self.removal: RemovalReason | None = None  # the latest removal, unless a restoration followed

    def apply(self, event: TicketEvent) -> None:
        f = self.f
        f["last_activity_at"] = event.occurred_at
        f["time_suspect_events"] += event.time_suspect
        match event:
            case TicketObserved():
                self._observe(event)
            case MessagePosted():
                self._message(event)
            case StatusChanged():
                if self.seen_status is None and event.previous is not None:
                    self.seen_status = event.previous
                self._status(event.status, event.status_raw, event.occurred_at)
            case Assigned():
                someone = event.assignee  # None: not part of this change; an empty Person: unassigned
                if someone is not None:
                    f["assignee"] = someone if someone.id or someone.name else None
                if event.group is not None:
                    f["group"] = event.group
            case PriorityChanged():
                f["priority"] = event.priority
            case TagsChanged():
                self.tags = [t for t in self.tags if t not in event.removed]
                self.tags += [t for t in event.added if t not in self.tags]
            case Rated():
                f.update(csat=event.rating, csat_raw=event.raw, csat_scale=event.scale, csat_score=event.score,
                         csat_comment=event.comment, csat_agent=event.agent, rated_at=event.occurred_at)
            case Removed(reason=RemovalReason.MERGED):
                self.merged = True  # final: helpdesks cannot unmerge
            case Removed():
                self.removal = event.reason
            case Restored():
                self.removal = None

    def _observe(self, e: TicketObserved) -> None:
        for name in _OBSERVED_FIELDS:
            value = getattr(e, name)
            if value is not None:
                self.f[name] = value
        if e.tags is not None:
            self.tags = list(dict.fromkeys(e.tags))
        if e.status is not None:
            self._status(e.status, e.status_raw or e.status.value, e.occurred_at)

    def _message(self, e: MessagePosted) -> None:
        if e.message_id in self.seen_messages:
            return  # the same message through two routes (a webhook and a backfill): once, at its first time
        self.seen_messages.add(e.message_id)
        if not e.public:
            return  # internal notes are neither questions nor answers
        f, at = self.f, e.occurred_at
        if e.author_role == Role.CUSTOMER:
            f["customer_messages"] += 1
            self.first_customer_at = self.first_customer_at or at
            if self.waiting_since is None:
                self.waiting_since = at
            self.messages.append(PublicMessage(at, Role.CUSTOMER))
        elif e.author_role == Role.AGENT:
            self._agent_reply(e, at)
        else:  # bots, and automations posting publicly
            f["bot_replies"] += 1
            self.messages.append(PublicMessage(at, e.author_role, e.author.id or e.author.name))

    def _agent_reply(self, e: MessagePosted, at: datetime) -> None:
        f = self.f
        who = e.author.id or e.author.name
        if who and who not in self.agents:
            self.agents.append(who)
        f["agent_replies"] += 1
        wait = None
        if self.waiting_since is not None:
            wait = _seconds(at, self.waiting_since)
            self.intervals.append(wait)
            if f["first_response_at"] is None:
                # Outbound tickets start the clock at the customer's first message.
                start = self.first_customer_at if f["outbound"] else f["created_at"]
                f["first_response_at"] = at
                f["first_response_seconds"] = _seconds(at, start or at)
                f["first_responder"] = who
            self.waiting_since = None
        self.messages.append(PublicMessage(at, Role.AGENT, who, wait))

    def _status(self, status: Status, raw: str, at: datetime) -> None:
        f, before = self.f, self.seen_status
        self.seen_status = status
        f["status"], f["status_raw"] = status, raw or status.value
        was_resolved = before is not None and before.is_resolved
        if status.is_resolved and not was_resolved:
            f["times_resolved"] += 1
            f["last_resolved_at"] = at
            f["first_resolved_at"] = f["first_resolved_at"] or at
            self.waiting_since = None  # a solved ticket waits for nobody
            assignee = f["assignee"]
            self.spans.append(OpenSpan(self.open_since or at, at, (assignee.id or assignee.name) if assignee else None))
            self.open_since = None
        elif was_resolved and not status.is_resolved:
            f["reopens"] += 1
            self.open_since = at

    def finish(self) -> Ticket:
        f = self.f
        resolved = f["status"].is_resolved
        f.update(
            removed=RemovalReason.MERGED if self.merged else self.removal,
            tags=tuple(self.tags),
            agents=tuple(self.agents),
            response_intervals_seconds=tuple(self.intervals),
            messages=tuple(self.messages),
            open_spans=tuple(self.spans) + ((OpenSpan(self.open_since),) if self.open_since else ()),
            awaiting_reply_since=None if resolved else self.waiting_since,
            first_resolution_seconds=(_seconds(f["first_resolved_at"], f["created_at"])
                                      if f["first_resolved_at"] else None),
            full_resolution_seconds=(_seconds(f["last_resolved_at"], f["created_at"])
                                     if resolved and f["last_resolved_at"] else None),
        )
        return Ticket(**f)


_OBSERVED_FIELDS = ("subject", "channel", "channel_raw", "ticket_type", "requester", "assignee", "group",
                    "organization", "priority")
