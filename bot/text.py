"""Durations and shares in a support lead's words, and the demo's overview for the terminal."""

from __future__ import annotations

from metrics.overview import Overview


def duration(seconds: float | None) -> str:
    """12s, 4m, 1h 20m, 2d 3h; an em dash when there is nothing to show."""
    if seconds is None:
        return "—"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def percent(share: float | None) -> str:
    return "—" if share is None else f"{share:.0%}"


def overview_lines(o: Overview, *, timezone: str) -> list[str]:
    if not o.tickets:
        return ["No tickets yet."]
    period = f"{o.first_created:%Y-%m-%d} to {o.last_created:%Y-%m-%d}" if o.first_created and o.last_created else ""
    lines = [
        f"Tickets created {period} ({timezone}): {o.tickets}, handled by {o.agents} agents",
        f"  resolved {o.resolved} · backlog (not resolved now) {o.backlog} · reopened {o.reopened}"
        f" · abandoned {o.abandoned}",
        f"  median first response time {duration(o.median_first_response_seconds)}"
        f" · median full resolution time {duration(o.median_full_resolution_seconds)}",
        f"  CSAT {percent(o.csat_good_share)} good of {o.ratings} ratings"
        f" · one-touch resolution {percent(o.one_touch_rate)}",
        "  by channel:",
    ]
    for c in o.channels:
        lines.append(f"    {c.channel.value:<7} {c.created:>6} tickets · first response median"
                     f" {duration(c.median_first_response_seconds)}, p90 {duration(c.p90_first_response_seconds)}")
    if o.top_tags:
        lines.append("  top tags: " + ", ".join(f"{tag} ({n})" for tag, n in o.top_tags))
    if o.busiest_weekday is not None:
        lines.append(f"  busiest: {o.busiest_weekday}s, {o.busiest_hour:02d}:00-{o.busiest_hour + 1:02d}:00")
    return lines
