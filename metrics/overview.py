"""A first look at a set of tickets (what `deskpulse demo` prints); definitions in docs/metrics.md."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from metrics.model import Channel, Csat
from metrics.stats import median, percentile
from metrics.tickets import Ticket


@dataclass(frozen=True, kw_only=True)
class ChannelLine:
    channel: Channel
    created: int
    median_first_response_seconds: float | None
    p90_first_response_seconds: float | None


@dataclass(frozen=True, kw_only=True)
class Overview:
    first_created: datetime | None
    last_created: datetime | None
    tickets: int
    resolved: int
    backlog: int
    reopened: int
    one_touch_rate: float | None  # among resolved tickets
    abandoned: int
    csat_good_share: float | None
    ratings: int
    median_first_response_seconds: float | None
    median_full_resolution_seconds: float | None
    channels: tuple[ChannelLine, ...]
    top_tags: tuple[tuple[str, int], ...]
    busiest_weekday: str | None
    busiest_hour: int | None
    agents: int


_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def overview(all_tickets: Sequence[Ticket], *, tz: tzinfo) -> Overview:
    """Counts over every ticket not removed (merged, spam, deleted); `tz` sets hours and weekdays."""
    tickets = [t for t in all_tickets if t.removed is None]
    resolved = [t for t in tickets if t.is_resolved]
    rated = [t for t in tickets if t.csat is not None]
    frt = [t.first_response_seconds for t in tickets if t.first_response_seconds is not None]
    local = [t.created_at.astimezone(tz) for t in tickets]
    weekday = Counter(_WEEKDAYS[d.weekday()] for d in local).most_common(1)
    hour = Counter(d.hour for d in local).most_common(1)
    return Overview(
        first_created=min((t.created_at for t in tickets), default=None),
        last_created=max((t.created_at for t in tickets), default=None),
        tickets=len(tickets), resolved=len(resolved), backlog=len(tickets) - len(resolved),
        reopened=sum(1 for t in tickets if t.reopens),
        one_touch_rate=_share(sum(t.one_touch for t in resolved), len(resolved)),
        abandoned=sum(t.abandoned for t in resolved),
        csat_good_share=_share(sum(t.csat == Csat.GOOD for t in rated), len(rated)), ratings=len(rated),
        median_first_response_seconds=median(frt),
        median_full_resolution_seconds=median([t.full_resolution_seconds for t in resolved
                                               if t.full_resolution_seconds is not None]),
        channels=tuple(_channel_line(c, tickets) for c in Channel if any(t.channel == c for t in tickets)),
        top_tags=tuple(Counter(tag for t in tickets for tag in t.tags).most_common(5)),
        busiest_weekday=weekday[0][0] if weekday else None, busiest_hour=hour[0][0] if hour else None,
        agents=len({a for t in tickets for a in t.agents}),
    )


def _channel_line(channel: Channel, tickets: Sequence[Ticket]) -> ChannelLine:
    mine = [t for t in tickets if t.channel == channel]
    frt = [t.first_response_seconds for t in mine if t.first_response_seconds is not None]
    return ChannelLine(channel=channel, created=len(mine), median_first_response_seconds=median(frt),
                       p90_first_response_seconds=percentile(frt, 0.9))
