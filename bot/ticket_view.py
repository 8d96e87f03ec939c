"""One ticket for the terminal: `deskpulse ticket KEY [--json]` (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from bot.text import duration
from metrics.model import (
    Assigned,
    MessagePosted,
    PriorityChanged,
    Rated,
    Removed,
    Restored,
    StatusChanged,
    TagsChanged,
    TicketEvent,
    TicketObserved,
)
from metrics.tickets import Ticket


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def describe(event: TicketEvent) -> str:
    """A fact in a few words."""
    match event:
        case TicketObserved(opened=True):
            return "ticket created" + (f" ({event.channel_raw})" if event.channel_raw else "")
        case TicketObserved():
            return "ticket seen" + (f": status {event.status.value}" if event.status else "")
        case MessagePosted():
            who = event.author.name or event.author.id or "someone"
            kind = "message" if event.public else "internal note"
            return f"{event.author_role.value} {kind} by {who}"
        case StatusChanged():
            return f"status -> {event.status.value}"
        case Assigned():
            who = event.assignee.name or event.assignee.id if event.assignee else None
            return f"assigned to {who or 'nobody'}" + (f" (group {event.group})" if event.group else "")
        case PriorityChanged():
            return f"priority -> {event.priority.value}"
        case TagsChanged():
            return " ".join([*(f"+{t}" for t in event.added), *(f"-{t}" for t in event.removed)]) or "tags"
        case Rated():
            return f"rated {event.raw} ({event.rating.value})"
        case Removed():
            return f"removed: {event.reason.value}"
        case Restored():
            return "restored: counts again"
    return event.kind


def ticket_dict(t: Ticket, timeline: Sequence[TicketEvent]) -> dict[str, Any]:
    """The fields of docs/metrics.md "Per ticket", plus the timeline of facts."""
    return {
        "key": t.key, "channel": t.channel.value, "channel_raw": t.channel_raw, "status": t.status.value,
        "subject": t.subject, "created_at": _iso(t.created_at), "created_at_known": t.created_at_known,
        "first_response_seconds": t.first_response_seconds,
        "response_intervals_seconds": list(t.response_intervals_seconds),
        "awaiting_reply_since": _iso(t.awaiting_reply_since),
        "agent_replies": t.agent_replies, "customer_messages": t.customer_messages, "bot_replies": t.bot_replies,
        "first_resolution_seconds": t.first_resolution_seconds, "full_resolution_seconds": t.full_resolution_seconds,
        "times_resolved": t.times_resolved, "reopens": t.reopens, "one_touch": t.one_touch,
        "abandoned": t.abandoned, "csat": t.csat.value if t.csat else None, "csat_raw": t.csat_raw,
        "csat_scale": t.csat_scale.value if t.csat_scale else None, "csat_score": t.csat_score,
        "priority": t.priority.value if t.priority else None, "tags": list(t.tags),
        "assignee": (t.assignee.name or t.assignee.id) if t.assignee else None,
        "group": t.group, "requester": (t.requester.name or t.requester.id) if t.requester else None,
        "removed": t.removed.value if t.removed else None,
        "timeline": [{"at": _iso(e.occurred_at), "fact": describe(e), "kind": e.kind, "event_id": e.event_id,
                      **({"time_suspect": True} if e.time_suspect else {})} for e in timeline],
    }


def ticket_lines(t: Ticket, timeline: Sequence[TicketEvent], *, tz: tzinfo) -> list[str]:
    def local(value: datetime | None) -> str:
        return value.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if value else "—"

    csat = f"{t.csat.value} ({t.csat_raw})" if t.csat else "not rated"
    intervals = t.response_intervals_seconds
    average = sum(intervals) / len(intervals) if intervals else None
    lines = [
        f"{t.key}  {t.subject or ''}".rstrip(),
        f"  {t.status.value} · {t.channel.value} · priority {t.priority.value if t.priority else '—'}"
        f" · assignee {(t.assignee.name or t.assignee.id) if t.assignee else '—'}",
        f"  created {local(t.created_at)}" + ("" if t.created_at_known else " (creation not seen yet)"),
        f"  first response {duration(t.first_response_seconds)} · replies {t.agent_replies} agent,"
        f" {t.customer_messages} customer · average response {duration(average)}",
        f"  resolution first {duration(t.first_resolution_seconds)}, full {duration(t.full_resolution_seconds)}"
        f" · resolved {t.times_resolved}x · reopened {t.reopens}x"
        f"{' · one-touch' if t.one_touch else ''}{' · abandoned' if t.abandoned else ''}",
        f"  CSAT {csat} · tags {', '.join(t.tags) or '—'}",
        "  timeline:",
    ]
    lines += [f"    {local(e.occurred_at)}  {describe(e)}{'  (time suspect)' if e.time_suspect else ''}"
              for e in timeline]
    return lines
