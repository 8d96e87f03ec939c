"""Agents needed for a queue: Erlang C (docs/metrics.md, "Agents needed").

Tickets arrive at random (Poisson) at `arrivals_per_hour`; an agent works one at a time for
`handling_seconds` on average; a ticket waits when every agent is busy. Erlang C gives the chance
that a ticket waits at all, and from it the share answered within the target wait: the service
level. The agents needed are the fewest for which that share reaches the goal (80% within the
first-response target, say) without agents busier than `max_occupancy`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


def waiting_probability(agents: int, traffic: float) -> float:
    """Erlang C: the chance that a ticket waits, with `traffic` = arrival rate × handling time (Erlangs)."""
    if agents <= traffic:
        return 1.0  # the queue grows without end: everyone waits
    # Erlang B by its recursion (no factorials, so no overflow for large teams), then Erlang C from it
    blocked = 1.0
    for k in range(1, agents + 1):
        blocked = traffic * blocked / (k + traffic * blocked)
    return agents * blocked / (agents - traffic * (1 - blocked))


def service_level(agents: int, traffic: float, *, target_seconds: float, handling_seconds: float) -> float:
    """The share of tickets answered within `target_seconds`."""
    if agents <= traffic:
        return 0.0
    waits = waiting_probability(agents, traffic)
    return 1.0 - waits * math.exp(-(agents - traffic) * target_seconds / handling_seconds)


@dataclass(frozen=True)
class Staffing:
    agents: int
    service_level: float  # reached with `agents`
    occupancy: float  # the share of the agents' time spent on tickets
    waiting_probability: float


def agents_needed(arrivals_per_hour: float, handling_seconds: float, *, target_seconds: float,
                  goal: float = 0.8, max_occupancy: float = 0.85) -> Staffing | None:
    """The fewest agents that answer `goal` of tickets within `target_seconds`; None if no load."""
    if arrivals_per_hour <= 0 or handling_seconds <= 0:
        return None
    traffic = arrivals_per_hour * handling_seconds / 3600
    agents = max(1, math.floor(traffic) + 1)
    while True:  # ends: the service level tends to 1 and the occupancy to 0 as agents are added
        level = service_level(agents, traffic, target_seconds=target_seconds, handling_seconds=handling_seconds)
        if level >= goal and traffic / agents <= max_occupancy:
            return Staffing(agents, level, traffic / agents, waiting_probability(agents, traffic))
        agents += 1


@dataclass(frozen=True)
class AgentReply:
    agent: str
    at: datetime
    ticket: str


def handling_seconds(replies: Sequence[AgentReply]) -> float | None:
    """Observed time an agent spends per conversation: hours in which each agent replied at all,
    over the conversations they replied in (an estimate: idle minutes in those hours count as work)."""
    agent_hours = {(r.agent, r.at.replace(minute=0, second=0, microsecond=0)) for r in replies}
    conversations = {(r.agent, r.ticket) for r in replies}
    return len(agent_hours) * 3600 / len(conversations) if conversations else None


def agents_replying(replies: Sequence[AgentReply]) -> int:
    return len({r.agent for r in replies})
