"""An answer as a terminal table or as JSON (`deskpulse ask`), and a digest (`deskpulse digest --dry-run`)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from bot.digest.compose import Digest
from bot.render.format import bounds, change, moment, value
from bot.text import duration
from metrics.catalog import Answer, Column, Row
from metrics.customers import CustomerHistory
from metrics.periods import Period

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def answer_lines(a: Answer) -> list[str]:
    q = a.query
    if q.metric.at_end:  # a state at a moment, not a count over a period
        tz = q.period.tz
        when = "now" if q.period.to_date else f"the end of {q.period.label}"
        lines = [f"{q.metric.title} at {moment(q.period.end, tz)} ({tz.key}), {when}"]
        if q.comparison is not None:
            lines.append(f"  compared with {moment(q.comparison.end, tz)}")
    else:
        lines = [f"{q.metric.title}: {q.period.label}", f"  {bounds(q.period)}"]
        if q.comparison is not None:
            lines.append(f"  compared with {q.comparison.label}: {bounds(q.comparison)}")
    if q.filters:
        lines.append("  only " + ", ".join(f"{f.dimension.value} {f.value}" for f in q.filters))
    lines.append("")
    lines += _total(a)
    if a.rows:
        lines += ["", *_table(a, a.rows)]
    lines += _extras(a)
    lines += ["", f"Definition: docs/metrics.md, \"{q.metric.definition}\""]
    return lines


def _total(a: Answer) -> list[str]:
    now_label = "now" if a.query.metric.at_end else "this period"
    header = f"  {'':<36} {now_label:>14} {'before':>14}  change"
    out = [header]
    for column in a.columns:
        before = a.total.previous.get(column.key) if a.total.previous else None
        out.append(f"  {column.label:<36} {value(column, a.total.figures.get(column.key)):>14} "
                   f"{value(column, before) if a.total.previous else '':>14}  "
                   f"{change(column, a.total.change(column))}")
    return out


def _table(a: Answer, rows: list[Row]) -> list[str]:
    columns = [c for c in a.columns if not c.key.startswith("business_")][:4]
    width = max(12, *(len(r.label) for r in rows[:50]))
    out = ["  " + f"{'':<{width}}" + "".join(f" {c.label[:22]:>24}" for c in columns)]
    for row in rows[:50]:
        cells = []
        for c in columns:
            text = value(c, row.figures.get(c.key))
            if c.key in row.notes:
                text += f" ({row.notes[c.key]})"
            shift = change(c, row.change(c)).split(" good")[0].split(" bad")[0] if not row.notes else ""
            cells.append(f" {(text + (' ' + shift if shift else ''))[:24]:>24}")
        out.append(f"  {row.label[:width]:<{width}}" + "".join(cells))
    if len(rows) > 50:
        out.append(f"  … and {len(rows) - 50} more")
    return out


def _extras(a: Answer) -> list[str]:
    out: list[str] = []
    if a.oldest is not None:
        subject = f" “{a.oldest.subject}”" if a.oldest.subject else ""
        out += ["", f"  oldest unresolved: {a.oldest.key}{subject}, {duration(a.oldest.age_seconds)} old"]
    if a.tag_report is not None:
        report = a.tag_report
        out += ["", "  top tags: " + (", ".join(f"{t.tag} {t.tickets} ({t.share:.0f}%)" for t in report.top) or "none")]
        if report.risers:
            out.append("  rising: " + ", ".join(f"{t.tag} +{t.rise}" for t in report.risers))
        if report.new:
            out.append("  new this period: " + ", ".join(f"{t.tag} ({t.tickets})" for t in report.new))
    if a.busiest_grid is not None:
        out += ["", *_grid(a.busiest_grid)]
    return out


def _grid(grid: list[list[int]]) -> list[str]:
    out = ["  new tickets by hour (local time)   " + "".join(f"{h:>4}" for h in range(0, 24, 1))]
    for day, row in enumerate(grid):
        out.append(f"  {WEEKDAY_NAMES[day]:<34}" + "".join(f"{n:>4}" for n in row))
    return out


def customer_lines(h: CustomerHistory, tz: ZoneInfo) -> list[str]:
    if not h.tickets:
        return [f"No tickets from {h.customer}."]
    who = f"{h.name} <{h.customer}>" if h.name else h.customer
    csat = f"{h.csat:.0f}% good of {h.ratings} ratings" if h.csat is not None else "no ratings"
    first, last = moment(h.first_contact, tz), moment(h.last_contact, tz)  # type: ignore[arg-type]
    lines = [f"{who}: {len(h.tickets)} tickets, {h.open} open · first contact {first} · last contact {last}",
             f"  agents: {', '.join(h.agents) or 'none yet'} · CSAT {csat}"]
    for t in h.tickets[:20]:
        lines.append(f"  {moment(t.created_at, tz)}  {t.key:<24} {t.status.value:<8} {t.channel.value:<7} "
                     f"{(t.subject or '')[:50]}")
    return lines


def answer_json(a: Answer) -> dict[str, Any]:
    """Everything the text shows, for scripts; durations in seconds, shares in percent."""
    q = a.query

    def row(r: Row) -> dict[str, Any]:
        return {"key": r.key, "label": r.label, "values": r.figures, "previous": r.previous, "notes": r.notes,
                "change": {c.key: _change(c, r) for c in a.columns}}

    return {
        "metric": q.metric.name, "title": q.metric.title, "definition": f"docs/metrics.md#{q.metric.definition}",
        "period": _period(q.period), "comparison": _period(q.comparison) if q.comparison else None,
        "filters": [{"dimension": f.dimension.value, "value": f.value} for f in q.filters],
        "group_by": q.group_by.value if q.group_by else None,
        "columns": [{"key": c.key, "label": c.label, "kind": c.kind.value, "better": c.better.value}
                    for c in a.columns],
        "total": row(a.total), "rows": [row(r) for r in a.rows],
        "tags": None if a.tag_report is None else {
            "top": [vars(t) for t in a.tag_report.top], "risers": [vars(t) for t in a.tag_report.risers],
            "new": [vars(t) for t in a.tag_report.new]},
        "by_weekday_and_hour": a.busiest_grid,
        "oldest": vars(a.oldest) if a.oldest else None,
    }


def _change(column: Column, r: Row) -> dict[str, Any] | None:
    c = r.change(column)
    if c is None:
        return None
    return {"delta": c.delta, "ratio": c.ratio, "direction": c.direction.value if c.direction else None, "good": c.good}


def _period(p: Period) -> dict[str, Any]:
    return {"label": p.label, "start": p.start.isoformat(), "end": p.end.isoformat(), "timezone": p.tz.key}


def digest_lines(d: Digest, *, details: bool = False) -> list[str]:
    """A digest as `deskpulse digest --dry-run` prints it: the top message, then (with `details`)
    every answer of its thread."""
    kind = "Daily" if d.cadence == "daily" else "Weekly"
    only = f", only {' '.join(f'{f.dimension.value}:{f.value}' for f in d.filters)}" if d.filters else ""
    lines = [f"{kind} digest: {d.period.label}{only}", f"  {bounds(d.period)}"]
    if d.holiday:
        lines.append(f"  {d.holiday}: a public holiday, compared with the day before only")
    previous = d.compared_with
    lines += ["", f"  {'':<28} {'now':>12} {'before':>12}  {'change':<22} {'usual' if d.usual_label else ''}"]
    for h in d.headlines:
        before = h.row.previous.get(h.column.key) if h.row.previous else None
        lines.append(f"  {h.label:<28} {value(h.column, h.row.figures.get(h.column.key)):>12} "
                     f"{value(h.column, before):>12}  {change(h.column, h.row.change(h.column)):<22} "
                     f"{value(h.column, h.usual) if h.usual is not None else ''}")
    lines.append("")
    if previous is not None:
        lines.append(f"  before = {previous.label}: {bounds(previous)}")
    if d.usual_label:
        lines.append(f"  {d.usual_label.replace('usual ', 'usual = the ', 1)}, holidays left out")
    if details:
        for a in d.details:
            lines += ["", *answer_lines(a)]
    return lines
