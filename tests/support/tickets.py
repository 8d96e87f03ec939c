"""Tickets from a support story, in canonical events (no HTTP, no database).

    ticket("Mon 09:00", channel="chat").replied("+12m", by="ana").solved("+1h").build()

Times are in Europe/Berlin during the week of Monday 16 November 2026, unless a date is given
("2026-03-29 01:30"). Offsets are from the ticket's opening.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from metrics.model import (
    Assigned,
    Channel,
    Csat,
    CsatScale,
    MessagePosted,
    Person,
    Priority,
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
from metrics.tickets import Ticket, fold_ticket

BERLIN = ZoneInfo("Europe/Berlin")
WEEK = datetime(2026, 11, 16, tzinfo=BERLIN)  # a Monday
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_ids = itertools.count(1)


def when(text: str) -> datetime:
    """"Tue 09:30" in the week of 16 November 2026, or "2026-03-29 01:30", in Berlin time."""
    day, _, clock = text.partition(" ")
    hours, minutes = (int(x) for x in clock.split(":"))
    if day in _DAYS:
        base = WEEK + timedelta(days=_DAYS.index(day))
        return base.replace(hour=hours, minute=minutes)
    return datetime.fromisoformat(day).replace(hour=hours, minute=minutes, tzinfo=BERLIN)


def offset(text: str) -> timedelta:
    """`+12m`, `+3h`, `+2d`, `+90s`."""
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[text[-1]]
    return timedelta(**{unit: float(text[1:-1])})


class TicketStory:
    def __init__(self, opened_at: datetime, ticket_id: str, **fields: Any) -> None:
        self.opened_at, self.ticket_id, self.events = opened_at, ticket_id, []  # type: ignore[var-annotated]
        self._add(TicketObserved, "+0m", opened=True, created_at=opened_at.astimezone(UTC), status=Status.NEW,
                  **fields)

    def _add(self, cls: type[TicketEvent], at: str, **fields: Any) -> TicketStory:
        self.events.append(cls(source="test", ticket_id=self.ticket_id, event_id=f"e{next(_ids)}",
                               occurred_at=self.opened_at.astimezone(UTC) + offset(at), **fields))
        return self

    def wrote(self, at: str) -> TicketStory:
        """The customer writes (again)."""
        return self._add(MessagePosted, at, message_id=f"m{next(_ids)}", author_role=Role.CUSTOMER,
                         author=Person(id="c1"))

    def replied(self, at: str, *, by: str = "ana", public: bool = True) -> TicketStory:
        return self._add(MessagePosted, at, message_id=f"m{next(_ids)}", author_role=Role.AGENT,
                         author=Person(id=by, name=by.title()), public=public)

    def bot(self, at: str) -> TicketStory:
        return self._add(MessagePosted, at, message_id=f"m{next(_ids)}", author_role=Role.BOT, author=Person(id="bot"))

    def assigned(self, at: str, to: str) -> TicketStory:
        return self._add(Assigned, at, assignee=Person(id=to, name=to.title()))

    def solved(self, at: str) -> TicketStory:
        return self._add(StatusChanged, at, status=Status.SOLVED)

    def reopened(self, at: str) -> TicketStory:
        return self._add(StatusChanged, at, status=Status.OPEN)

    def tagged(self, at: str, *tags: str) -> TicketStory:
        return self._add(TagsChanged, at, added=tags)

    def rated(self, at: str, score: int | str, *, agent: str | None = None) -> TicketStory:
        if isinstance(score, str):  # good / bad
            rating, scale, value = Csat(score), CsatScale.GOOD_BAD, None
        else:
            rating = Csat.GOOD if score >= 4 else Csat.NEUTRAL if score == 3 else Csat.BAD
            scale, value = CsatScale.ONE_TO_FIVE, float(score)
        return self._add(Rated, at, rating=rating, scale=scale, raw=str(score), score=value,
                         agent=Person(id=agent, name=agent.title()) if agent else None)

    def spam(self, at: str) -> TicketStory:
        return self._add(Removed, at, reason=RemovalReason.SPAM)

    def not_spam(self, at: str) -> TicketStory:
        """An agent undoes the spam flag (or restores the ticket from the trash)."""
        return self._add(Restored, at)

    def build(self) -> Ticket:
        return fold_ticket(self.events)


def ticket(opened: str, *, channel: str = "email", priority: str | None = None, tags: tuple[str, ...] = (),
           assignee: str | None = None, requester: str | None = None, ticket_id: str | None = None,
           outbound: bool = False, organization: str | None = None) -> TicketStory:
    return TicketStory(
        when(opened), ticket_id or str(next(_ids)), channel=Channel(channel),
        priority=Priority(priority) if priority else None, tags=tags or None,
        assignee=Person(id=assignee, name=assignee.title()) if assignee else None,
        requester=Person(id=requester, email=requester) if requester else None,
        opened_by=Role.AGENT if outbound else None, organization=organization)
