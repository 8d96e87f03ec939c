"""Builders for deskpulse-format events that read like a support story."""

from __future__ import annotations

from datetime import datetime, timedelta
from itertools import count
from typing import Any

_ids = count(1)


def at(base: datetime, offset: str) -> str:
    """`+12m`, `+3h`, `+1d` after `base`, as ISO 8601."""
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[offset[-1]]
    return (base + timedelta(**{unit: int(offset[1:-1])})).isoformat()


class Story:
    """One ticket's life: `Story("7", start).opened("email").customer("+0m").agent("+12m").solved("+1h")`."""

    def __init__(self, ticket_id: str, start: datetime) -> None:
        self.ticket_id, self.start, self.events = ticket_id, start, []  # type: tuple[str, datetime, list[dict[str, Any]]]

    def _add(self, kind: str, offset: str, **fields: Any) -> Story:
        self.events.append({"id": f"{self.ticket_id}-{next(_ids)}", "type": kind, "ticket_id": self.ticket_id,
                            "occurred_at": at(self.start, offset), **fields})
        return self

    def opened(self, channel: str = "email", *, offset: str = "+0m", **ticket: Any) -> Story:
        return self._add("ticket.created", offset, ticket={"channel": channel, "status": "new", **ticket})

    def customer(self, offset: str, body: str = "Hello?") -> Story:
        return self._add("message.created", offset, message={
            "id": f"m{next(_ids)}", "author": {"role": "customer", "id": "c1", "name": "Cleo"}, "body": body})

    def agent(self, offset: str, name: str = "Ana", *, public: bool = True) -> Story:
        return self._add("message.created", offset, message={
            "id": f"m{next(_ids)}", "author": {"role": "agent", "id": name.lower(), "name": name},
            "public": public, "body": "Happy to help."})

    def bot(self, offset: str) -> Story:
        return self._add("message.created", offset, message={
            "id": f"m{next(_ids)}", "author": {"role": "bot", "id": "shopbot"}, "body": "Auto-reply"})

    def status(self, offset: str, status: str) -> Story:
        return self._add("ticket.status_changed", offset, status=status)

    def solved(self, offset: str) -> Story:
        return self.status(offset, "solved")

    def rated(self, offset: str, value: Any, scale: str = "1_5") -> Story:
        return self._add("ticket.rated", offset, rating={"scale": scale, "value": value})

    def removed(self, offset: str, reason: str = "spam") -> Story:
        return self._add("ticket.removed", offset, reason=reason)

    def restored(self, offset: str) -> Story:
        return self._add("ticket.restored", offset)

    def body(self) -> dict[str, Any]:
        return {"version": 1, "events": self.events}
