"""First-response SLA and service-level tiers (docs/metrics.md, "SLA", "Service levels").

SLA: each inbound ticket gets the first-response target of its channel and priority; it counts
in the period in which it was created. Service levels grade a channel's median first response
time (and the average CSAT score) on the five tiers of the source article (seed 002).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

import numpy as np

from metrics.durations import parse_duration
from metrics.model import Channel, Priority
from metrics.periods import Period
from metrics.tickets import Ticket

if TYPE_CHECKING:
    from metrics.business_hours import BusinessCalendar

Figures = dict[str, float | None]
ANY = "*"


@dataclass(frozen=True)
class SlaTargets:
    """First-response targets in seconds keyed by (channel or *, priority or *)."""

    targets: Mapping[tuple[str, str], float] = field(default_factory=dict)

    def target_for(self, ticket: Ticket) -> float | None:
        """The most specific target: channel and priority, then priority alone (urgent is urgent on
        every channel), then channel alone, then the catch-all."""
        return self.target(ticket.channel.value, ticket.priority.value if ticket.priority else None)

    def target(self, channel: str, priority: str | None) -> float | None:
        priority = priority or ANY
        for key in ((channel, priority), (ANY, priority), (channel, ANY), (ANY, ANY)):
            if key in self.targets:
                return self.targets[key]
        return None


DEFAULT_SLA = "chat=5m;sms=5m;phone=5m;social=1h;email=24h;*=24h;*/urgent=1h"


def parse_sla(text: str) -> SlaTargets:
    """`chat=5m;email=4h;email/urgent=1h;*=24h`: channel[/priority]=duration, * for any."""
    targets: dict[tuple[str, str], float] = {}
    for part in (p.strip() for p in text.split(";") if p.strip()):
        scope, sep, duration = part.partition("=")
        channel, _, priority = scope.strip().lower().partition("/")
        priority = priority or ANY
        if not sep:
            raise ValueError(f"SLA target {part!r} must look like chat=5m or email/urgent=1h")
        if channel != ANY and channel not in Channel.__members__.values():
            raise ValueError(f"SLA target {part!r}: unknown channel {channel!r} ({', '.join(Channel)})")
        if priority != ANY and priority not in Priority.__members__.values():
            raise ValueError(f"SLA target {part!r}: unknown priority {priority!r} ({', '.join(Priority)})")
        targets[(channel, priority)] = parse_duration(duration)
    return SlaTargets(targets)


def sla(tickets: Sequence[Ticket], period: Period, targets: SlaTargets, *, now: datetime,
        calendar: BusinessCalendar | None = None) -> Figures:
    """Met, breached and pending first-response targets of inbound tickets created in the period."""
    inbound = [SlaTicket(t.channel.value, t.priority.value if t.priority else None, t.created_at.timestamp(),
                         t.first_response_at.timestamp() if t.first_response_at else None)
               for t in tickets if not t.outbound and period.contains(t.created_at)]
    return sla_figures(inbound, targets, now=now, calendar=calendar)


@dataclass(frozen=True, slots=True)
class SlaTicket:
    """What the first-response SLA looks at of an inbound ticket; moments in POSIX seconds."""

    channel: str
    priority: str | None
    created_at: float
    first_response_at: float | None


def sla_figures(tickets: Sequence[SlaTicket], targets: SlaTargets, *, now: datetime,
                calendar: BusinessCalendar | None = None) -> Figures:
    """Met, breached and pending first-response targets of the given inbound tickets: a ticket
    still waiting counts as pending until its target passes, then as breached."""
    goals = [targets.target(t.channel, t.priority) for t in tickets]
    return sla_tally(np.array([t.created_at for t in tickets], dtype=float),
                     np.array([np.nan if t.first_response_at is None else t.first_response_at for t in tickets],
                              dtype=float),
                     np.array([np.nan if goal is None else goal for goal in goals], dtype=float),
                     now=now, calendar=calendar)


def sla_tally(created: np.ndarray, answered: np.ndarray, goals: np.ndarray, *, now: datetime,
              calendar: BusinessCalendar | None = None, business_waits: np.ndarray | None = None) -> Figures:
    """`sla_figures` over arrays, a ticket per position: POSIX moments of creation and of the
    first response (NaN: none yet), and each ticket's target in seconds (NaN: no target). With a
    calendar, `business_waits` may give the answered tickets' waits in business seconds already
    (`answered_business_waits`); the waits of tickets still waiting run to `now`."""
    waiting = np.isnan(answered)
    ends = np.where(waiting, now.timestamp(), answered)
    if calendar is None:
        waits = np.maximum(0.0, ends - created)
    else:
        if business_waits is None:
            business_waits = answered_business_waits(created, answered, calendar)
        waits = np.where(waiting, 0.0, business_waits)
        waits[waiting] = calendar.business_seconds_array(created[waiting], ends[waiting])
    targeted = ~np.isnan(goals)
    within = targeted & (waits <= np.where(targeted, goals, 0.0))
    pending = int(np.count_nonzero(within & waiting))
    met = int(np.count_nonzero(within & ~waiting))
    breached = int(np.count_nonzero(targeted & ~within))
    decided = met + breached
    return {"attainment": 100.0 * met / decided if decided else None, "met": float(met),
            "breached": float(breached), "pending": float(pending)}


def answered_business_waits(created: np.ndarray, answered: np.ndarray, calendar: BusinessCalendar) -> np.ndarray:
    """The business seconds each answered ticket waited for its first response (NaN: none yet),
    as `sla_tally` counts them."""
    waits = np.full(len(answered), np.nan)
    done = ~np.isnan(answered)
    waits[done] = calendar.business_seconds_array(created[done], answered[done])
    return waits


class Tier(StrEnum):
    STELLAR = "stellar"
    ABOVE_AVERAGE = "above average"
    AVERAGE = "average"
    BELOW_AVERAGE = "below average"
    UNACCEPTABLE = "unacceptable"


_MIN, _HOUR, _DAY = 60.0, 3600.0, 86400.0
# Upper bounds (exclusive) of the first four tiers; anything slower is unacceptable.
FRT_TIERS: dict[str, tuple[float, float, float, float]] = {
    "live": (1 * _MIN, 5 * _MIN, 20 * _MIN, 60 * _MIN),       # chat, SMS, phone
    "email": (1 * _HOUR, 4 * _HOUR, 24 * _HOUR, 3 * _DAY),    # email, web forms, API, other
    "social": (15 * _MIN, 4 * _HOUR, 24 * _HOUR, 3 * _DAY),
}
CSAT_TIERS = (4.95, 4.8, 4.0, 3.0)  # lower bounds of stellar .. below average, average score 1-5

_FAMILY = {Channel.CHAT: "live", Channel.SMS: "live", Channel.PHONE: "live", Channel.SOCIAL: "social"}


def channel_family(channel: Channel) -> str:
    return _FAMILY.get(channel, "email")


def frt_tier(channel: Channel, median_seconds: float | None) -> Tier | None:
    """The tier of a channel's median first response time."""
    if median_seconds is None:
        return None
    bounds = FRT_TIERS[channel_family(channel)]
    return next((tier for tier, bound in zip(Tier, bounds, strict=False) if median_seconds < bound), Tier.UNACCEPTABLE)


def csat_tier(average_score: float | None) -> Tier | None:
    if average_score is None:
        return None
    return next((tier for tier, bound in zip(Tier, CSAT_TIERS, strict=False) if average_score >= bound),
                Tier.UNACCEPTABLE)
