"""How tickets were resolved: one-touch, abandoned, automated (docs/metrics.md, "Resolution outcomes").

The base is the tickets resolved now whose last resolution fell in the period, the same tickets
as full resolution time.
"""

from __future__ import annotations

from collections.abc import Sequence

from metrics.periods import Period
from metrics.tickets import Ticket

Figures = dict[str, float | None]


def resolved_in(tickets: Sequence[Ticket], period: Period) -> list[Ticket]:
    return [t for t in tickets if t.is_resolved and t.last_resolved_at is not None
            and period.contains(t.last_resolved_at)]


def outcomes(tickets: Sequence[Ticket], period: Period) -> Figures:
    resolved = resolved_in(tickets, period)
    return outcome_figures(len(resolved), one_touch=sum(t.one_touch for t in resolved),
                           abandoned=sum(t.abandoned for t in resolved), automated=sum(t.automated for t in resolved),
                           reopened=sum(t.reopens > 0 for t in resolved))


def outcome_figures(resolved: int, *, one_touch: int, abandoned: int, automated: int, reopened: int) -> Figures:
    """Each outcome as a share of the resolved tickets."""
    def share(count: int) -> float | None:
        return 100.0 * count / resolved if resolved else None

    return {"resolved": float(resolved), "one_touch": share(one_touch), "abandoned": share(abandoned),
            "automated": share(automated), "reopened": share(reopened)}
