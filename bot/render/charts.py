"""Answers as PNG charts: a trend over time, a breakdown as bars, the peak-hours heatmap.

Pure: an Answer in, PNG bytes out. Drawn on an opaque light card with dark text, so a chart reads
the same on Slack's light and dark themes.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from bot.render.format import value
from metrics.catalog import Answer, Column, Kind, Row
from metrics.periods import Unit

CARD, INK, GRID = "#ffffff", "#1f2933", "#d9dee4"
NOW_COLOUR, BEFORE_COLOUR = "#2f6fb0", "#a7b4c2"  # readable for the common colour blindnesses
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAX_BARS = 15
DPI = 144


def chart_png(a: Answer) -> bytes | None:
    """The chart that fits the answer, or None when there is nothing to draw."""
    if a.busiest_grid is not None:
        return _heatmap(a.busiest_grid, f"New tickets by weekday and hour · {a.query.period.label}")
    column = a.query.metric.headline
    rows = [r for r in a.rows if r.figures.get(column.key) is not None]
    if not rows:
        return None
    title = f"{a.query.metric.title}: {column.label} · {a.query.period.label}"
    if isinstance(a.query.group_by, Unit):
        return _trend(rows, column, title, a.query.group_by)
    return _bars(rows[:MAX_BARS], column, title)


def _figure(width: float, height: float):  # type: ignore[no-untyped-def]
    # matplotlib is imported here: only a chart request pays for it, not every command.
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=DPI, facecolor=CARD)
    axes = figure.add_subplot()
    axes.set_facecolor(CARD)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(GRID)
    axes.tick_params(colors=INK, labelsize=9)
    return figure, axes


def _png(figure) -> bytes:  # type: ignore[no-untyped-def]
    out = io.BytesIO()
    figure.savefig(out, format="png", facecolor=CARD, bbox_inches="tight")
    return out.getvalue()


_STEPS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)


def _axis_values(column: Column, axes, top: float, *, horizontal: bool = False) -> None:  # type: ignore[no-untyped-def]
    """Tick labels in the answer's own words (12m, 1h 30m, 92%); durations on round steps."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator, MultipleLocator

    axis = axes.xaxis if horizontal else axes.yaxis
    if column.kind is Kind.DURATION:
        step = next((s for s in _STEPS if top / s <= 6), _STEPS[-1])
        axis.set_major_locator(MultipleLocator(step))
    elif column.kind is Kind.COUNT:  # no half tickets on the axis
        axis.set_major_locator(MaxNLocator(integer=True))
    axis.set_major_formatter(FuncFormatter(lambda x, _: value(column, x)))


def _trend(rows: Sequence[Row], column: Column, title: str, unit: Unit) -> bytes:
    figure, axes = _figure(8, 3.6)
    numbers = [float(r.figures[column.key] or 0) for r in rows]
    positions = range(len(rows))
    axes.plot(positions, numbers, color=NOW_COLOUR, linewidth=2, marker="o" if len(rows) <= 40 else None,
              markersize=4)
    axes.fill_between(positions, numbers, color=NOW_COLOUR, alpha=0.08)
    step = max(1, -(-len(rows) // 8))
    axes.set_xticks(list(positions)[::step], [_short(r.key, unit) for r in rows][::step])
    axes.set_ylim(bottom=0, top=max([*numbers, 1]) * 1.1)
    axes.grid(axis="y", color=GRID, linewidth=0.8)
    _axis_values(column, axes, max([*numbers, 1]))
    axes.set_title(title, color=INK, fontsize=11, loc="left")
    return _png(figure)


def _short(start: str, unit: Unit) -> str:
    """A slice's start (its row key) as an axis label: `09:00`, `Mon 16 Nov`, `Nov 2026`."""
    moment = datetime.fromisoformat(start)
    if unit is Unit.HOUR:
        return moment.strftime("%H:%M")
    if unit in (Unit.DAY, Unit.WEEK):
        return moment.strftime("%a %d %b" if unit is Unit.DAY else "%d %b")
    return moment.strftime("%b %Y")


def _bars(rows: Sequence[Row], column: Column, title: str) -> bytes:
    figure, axes = _figure(8, 0.45 * len(rows) + 1.4)
    labels = [r.label if len(r.label) <= 24 else r.label[:23] + "…" for r in rows][::-1]
    now = [float(r.figures.get(column.key) or 0) for r in rows][::-1]
    before = [float((r.previous or {}).get(column.key) or 0) for r in rows][::-1]
    positions = range(len(rows))
    if any(before):
        axes.barh([p - 0.2 for p in positions], before, height=0.38, color=BEFORE_COLOUR, label="before")
        axes.barh([p + 0.2 for p in positions], now, height=0.38, color=NOW_COLOUR, label="this period")
        axes.legend(frameon=False, labelcolor=INK, fontsize=9, loc="lower right", bbox_to_anchor=(1, 1), ncol=2)
    else:
        axes.barh(list(positions), now, height=0.6, color=NOW_COLOUR)
    axes.set_yticks(list(positions), labels)
    for p, n in zip(positions, now, strict=True):
        axes.annotate(value(column, n), (n, p + (0.2 if any(before) else 0)), xytext=(4, 0),
                      textcoords="offset points", va="center", color=INK, fontsize=8)
    axes.grid(axis="x", color=GRID, linewidth=0.8)
    axes.set_xlim(left=0, right=max([*now, *before, 1]) * 1.15)
    if column.kind is not Kind.COUNT:
        _axis_values(column, axes, max([*now, *before, 1]), horizontal=True)
    axes.set_title(title, color=INK, fontsize=11, loc="left")
    return _png(figure)


def _heatmap(grid: Sequence[Sequence[int]], title: str) -> bytes:
    figure, axes = _figure(9, 3.4)
    image = axes.imshow(grid, aspect="auto", cmap="Blues", interpolation="nearest")
    axes.set_yticks(range(7), WEEKDAYS)
    axes.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
    axes.set_xlabel("hour of day (team's time zone)", color=INK, fontsize=9)
    colorbar = figure.colorbar(image, ax=axes, pad=0.01)
    colorbar.ax.tick_params(colors=INK, labelsize=8)
    colorbar.outline.set_edgecolor(GRID)
    axes.set_title(title, color=INK, fontsize=11, loc="left")
    return _png(figure)
