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
    return csat_figures([(t.csat, _score(t)) for t in rated_in(tickets, period)])  # type: ignore[misc]


def _score(ticket: Ticket) -> float | None:
    scale = ticket.csat_scale
    return ticket.csat_score if scale is not None and scale.value == SCORE_SCALE else None


SCORE_SCALE = "1_5"  # only ratings given on a 1-5 scale have an average score


def csat_figures(ratings: Sequence[tuple[Csat, float | None]]) -> Figures:
    """From each rating's verdict and its 1-5 score (None on other scales)."""
    return csat_tally(len(ratings), good=sum(verdict is Csat.GOOD for verdict, _ in ratings),
                      bad=sum(verdict is Csat.BAD for verdict, _ in ratings),
                      scores=[score for _, score in ratings if score is not None])


def csat_tally(ratings: int, *, good: int, bad: int, scores: Sequence[float]) -> Figures:
    """From the number of ratings, how many were good and bad, and the 1-5 scores among them."""
    return {"score": 100.0 * good / ratings if ratings else None, "ratings": float(ratings),
            "satisfied": float(good), "neutral": float(ratings - good - bad), "unsatisfied": float(bad),
            "average": mean(scores)}
