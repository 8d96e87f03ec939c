"""Customer satisfaction (docs/metrics.md, "CSAT")."""

from __future__ import annotations

from collections.abc import Sequence

from metrics.model import Csat
from metrics.periods import Period
from metrics.stats import mean
from metrics.tickets import Ticket

Figures = dict[str, float | None]


def rated_in(tickets: Sequence[Ticket], period: Period) -> list[Ticket]:
    """Tickets whose (latest) rating was given in the period."""
    return [t for t in tickets if t.csat is not None and t.rated_at is not None and period.contains(t.rated_at)]


def csat(tickets: Sequence[Ticket], period: Period) -> Figures:
    """Share of good ratings among all ratings given in the period, with the counts behind it and
    the average score on the 1-5 scale where the helpdesk sends numbers."""
    rated = rated_in(tickets, period)
    good = sum(t.csat is Csat.GOOD for t in rated)
    bad = sum(t.csat is Csat.BAD for t in rated)
    scores = [t.csat_score for t in rated if t.csat_score is not None and t.csat_scale and t.csat_scale.value == "1_5"]
    return {"score": 100.0 * good / len(rated) if rated else None, "ratings": float(len(rated)),
            "satisfied": float(good), "neutral": float(len(rated) - good - bad), "unsatisfied": float(bad),
            "average": mean(scores)}
