"""Per-agent numbers (docs/metrics.md, "Agents").

Each measurement is credited to the agent who did the work: a reply to its author, a closed
ticket to the assignee at the moment of resolution, a first response to the agent who wrote it,
a rating to the agent the helpdesk names on it, else the ticket's assignee.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from metrics.model import Csat, Role
from metrics.periods import Period
from metrics.stats import median_of_many
from metrics.tickets import Ticket

Figures = dict[str, float | None]


def agents(tickets: Sequence[Ticket], period: Period) -> dict[str, Figures]:
    """Replies, tickets closed, conversations handled, CSAT and median first response per agent."""
    replies: dict[str, int] = defaultdict(int)
    handled: dict[str, set[str]] = defaultdict(set)
    closed: dict[str, int] = defaultdict(int)
    first_responses: dict[str, list[float]] = defaultdict(list)
    ratings: dict[str, list[Csat]] = defaultdict(list)
    for t in tickets:
        for m in t.messages:
            if m.role is Role.AGENT and m.author and period.contains(m.at):
                replies[m.author] += 1
                handled[m.author].add(t.key)
        for span in t.resolved_between(period.start, period.end):
            if span.resolved_by:
                closed[span.resolved_by] += 1
        if t.first_responder and t.first_response_at and period.contains(t.first_response_at):
            first_responses[t.first_responder].append(t.first_response_seconds or 0.0)
        rater = (t.csat_agent.id or t.csat_agent.name) if t.csat_agent else t.assignee_key
        if t.csat and rater and t.rated_at and period.contains(t.rated_at):
            ratings[rater].append(t.csat)
    return agent_figures(replies, {who: len(keys) for who, keys in handled.items()}, closed, first_responses,
                         ratings={who: len(given) for who, given in ratings.items()},
                         good={who: given.count(Csat.GOOD) for who, given in ratings.items()})


def agent_figures(replies: Mapping[str, int], handled: Mapping[str, int], closed: Mapping[str, int],
                  first_responses: Mapping[str, Sequence[float] | np.ndarray], *, ratings: Mapping[str, int],
                  good: Mapping[str, int]) -> dict[str, Figures]:
    """Each agent's line from the work credited to them: replies, conversations replied in,
    resolutions, first response times (a year of them is an array), and the ratings credited
    to them with how many of those were good."""
    people = set(replies) | set(closed) | set(first_responses) | set(ratings)
    return {who: {
        "replies": float(replies.get(who, 0)), "closed": float(closed.get(who, 0)),
        "handled": float(handled.get(who, 0)), "csat": _good_share(good.get(who, 0), ratings.get(who, 0)),
        "ratings": float(ratings.get(who, 0)), "frt_median": median_of_many(first_responses.get(who, ())),
    } for who in sorted(people)}


def _good_share(good: int, rated: int) -> float | None:
    return 100.0 * good / rated if rated else None


def agent_names(tickets: Sequence[Ticket]) -> dict[str, str]:
    """Display names for agent ids, from the assignees and raters the helpdesk named."""
    names: dict[str, str] = {}
    for t in tickets:
        for person in (t.assignee, t.csat_agent):
            if person and person.id and person.name:
                names[person.id] = person.name
    return names
