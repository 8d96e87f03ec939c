"""Tags (ticket types): top, risers, new (docs/metrics.md, "Tags").

A ticket counts under every tag it carries now, in the period it was created.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from metrics.periods import Period
from metrics.tickets import Ticket


def tag_counts(tickets: Sequence[Ticket], period: Period) -> Counter[str]:
    return Counter(tag for t in tickets if period.contains(t.created_at) for tag in t.tags)


@dataclass(frozen=True)
class TagLine:
    tag: str
    tickets: int
    previous: int
    share: float  # percent of the period's new tickets that carry it
    new: bool  # never seen on a ticket created before the period

    @property
    def rise(self) -> int:
        return self.tickets - self.previous


@dataclass(frozen=True)
class TagReport:
    top: list[TagLine]
    risers: list[TagLine]
    new: list[TagLine]


def tags(tickets: Sequence[Ticket], period: Period, previous: Period, *, seen_before: Iterable[str],
         limit: int = 10) -> TagReport:
    """Top tags by tickets, the biggest risers against `previous`, and tags seen for the first time.

    `seen_before`: every tag on a ticket created before the period starts (from storage).
    """
    created = sum(period.contains(t.created_at) for t in tickets)
    return tag_report(tag_counts(tickets, period), tag_counts(tickets, previous), created, seen_before, limit)


def tag_report(now: Mapping[str, int], before: Mapping[str, int], created: int, seen_before: Iterable[str],
               limit: int = 10) -> TagReport:
    """From tickets per tag in the period and before it, and the tickets created in the period."""
    known = set(seen_before)
    lines = [TagLine(tag, n, before.get(tag, 0), 100.0 * n / created if created else 0.0, tag not in known)
             for tag, n in now.items()]
    by_count = sorted(lines, key=lambda line: (-line.tickets, line.tag))
    risers = sorted((line for line in lines if line.rise > 0), key=lambda line: (-line.rise, line.tag))
    return TagReport(top=by_count[:limit], risers=risers[:limit], new=[line for line in by_count if line.new][:limit])
