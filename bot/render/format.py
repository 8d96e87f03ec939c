"""Numbers in a support lead's words, for every surface (terminal, Slack)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.text import duration
from metrics.catalog import Column, Kind
from metrics.compare import Change, Direction
from metrics.periods import Period


def value(column: Column, number: float | None) -> str:
    if number is None:
        return "—"
    if column.kind is Kind.DURATION:
        return duration(number)
    if column.kind is Kind.PERCENT:
        return f"{number:.1f}%" if number % 1 else f"{number:.0f}%"
    if column.kind is Kind.SCORE:
        return f"{number:.2f}"
    if column.kind is Kind.MONEY:
        return f"{number:,.2f}"
    return f"{number:,.0f}" if number == int(number) else f"{number:,.1f}"


def change(column: Column, c: Change | None) -> str:
    """`▲ 12%`, `▼ 3m`, `▲ 4.0 pts`; marked good or bad where the direction has a meaning."""
    if c is None or c.direction is None:
        return ""
    if c.direction is Direction.FLAT:
        return "= same"
    arrow = "▲" if c.direction is Direction.UP else "▼"
    delta = abs(c.delta or 0.0)
    if column.kind is Kind.PERCENT:
        size = f"{delta:.1f} pts"
    elif column.kind is Kind.DURATION:
        size = duration(delta) + (f" ({c.ratio:+.0%})" if c.ratio is not None else "")
    elif c.ratio is not None and column.kind is Kind.COUNT:
        size = f"{value(column, round(delta, 1))} ({c.ratio:+.0%})"
    else:
        size = value(column, delta)
    mark = {True: " good", False: " bad", None: ""}[c.good]
    return f"{arrow} {size}{mark}"


def moment(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%a %d %b %Y %H:%M")


def bounds(period: Period) -> str:
    """The exact half-open bounds, so a number can be checked against the helpdesk."""
    tz = period.tz
    return f"{moment(period.start, tz)} → {moment(period.end, tz)} ({tz.key}, end excluded)"
