"""Dimensions to filter and break down by, and customer segments (docs/metrics.md, "Filters").

A ticket-level dimension gives each ticket one or more keys: a ticket with three tags counts
once under each tag. Agent means the assignee (the `agents` metric credits each reply to its
author instead).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from metrics.tickets import Ticket

NONE = "(none)"


class Dimension(StrEnum):
    CHANNEL = "channel"
    AGENT = "agent"
    GROUP = "group"
    TAG = "tag"
    PRIORITY = "priority"
    SEGMENT = "segment"
    HELPDESK = "helpdesk"


@dataclass(frozen=True)
class SegmentRule:
    """`tag:vip` or `org:Acme`: a ticket is in the segment when any of its rules match."""

    field: str  # "tag" or "org"
    value: str

    def matches(self, ticket: Ticket) -> bool:
        if self.field == "tag":
            return self.value in ticket.tags
        return (ticket.organization or "").casefold() == self.value.casefold()


@dataclass(frozen=True)
class Segments:
    """Named customer segments, e.g. vip = tag:vip or org:Acme; a ticket may be in several."""

    rules: Mapping[str, tuple[SegmentRule, ...]] = field(default_factory=dict)

    def of(self, ticket: Ticket) -> list[str]:
        return [name for name, rules in self.rules.items() if any(r.matches(ticket) for r in rules)]


def parse_segments(text: str) -> Segments:
    """`vip=tag:vip,org:Acme;b2b=tag:business`, the form of DESKPULSE_SEGMENTS."""
    rules: dict[str, tuple[SegmentRule, ...]] = {}
    for part in (p.strip() for p in text.split(";") if p.strip()):
        name, sep, body = part.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"segment {part!r} needs a name: vip=tag:vip,org:Acme")
        parsed = []
        for rule in (r.strip() for r in body.split(",") if r.strip()):
            kind, colon, value = rule.partition(":")
            if not colon or kind.strip().lower() not in ("tag", "org") or not value.strip():
                raise ValueError(f"segment rule {rule!r} must be tag:<tag> or org:<organisation>")
            parsed.append(SegmentRule(kind.strip().lower(), value.strip()))
        if not parsed:
            raise ValueError(f"segment {name.strip()!r} has no rules: vip=tag:vip,org:Acme")
        rules[name.strip().lower()] = tuple(parsed)
    return Segments(rules)


# the dimensions under which a ticket can have several keys (a breakdown's groups then overlap)
SEVERAL_KEYS = frozenset({Dimension.TAG, Dimension.SEGMENT})


def keys_of(ticket: Ticket, dimension: Dimension, segments: Segments) -> Sequence[str]:
    """The keys a ticket counts under for `dimension` (one key, several for tags and segments)."""
    if dimension is Dimension.TAG:
        return ticket.tags or (NONE,)
    if dimension is Dimension.SEGMENT:
        return segments.of(ticket) or (NONE,)
    return (_SINGLE[dimension](ticket) or NONE,)


_SINGLE: dict[Dimension, Callable[[Ticket], str | None]] = {
    Dimension.CHANNEL: lambda t: t.channel.value,
    Dimension.AGENT: lambda t: t.assignee_key,
    Dimension.GROUP: lambda t: t.group,
    Dimension.PRIORITY: lambda t: t.priority.value if t.priority else None,
    Dimension.HELPDESK: lambda t: t.source,
}


@dataclass(frozen=True)
class Filter:
    dimension: Dimension
    value: str

    def matches(self, ticket: Ticket, segments: Segments) -> bool:
        wanted = self.value.casefold()
        if self.dimension is Dimension.AGENT and ticket.assignee:  # people type names, helpdesks send ids
            who = ticket.assignee
            return any((v or "").casefold() == wanted for v in (who.id, who.name, who.email))
        return any(key.casefold() == wanted for key in keys_of(ticket, self.dimension, segments))


def group_by(tickets: Sequence[Ticket], dimension: Dimension, segments: Segments) -> dict[str, list[Ticket]]:
    groups: dict[str, list[Ticket]] = {}
    for ticket in tickets:
        for key in keys_of(ticket, dimension, segments):
            groups.setdefault(key, []).append(ticket)
    return groups
