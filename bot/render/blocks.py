"""Answers as Slack Block Kit: result objects in, blocks out (no Slack calls here).

slack_sdk's block models check Slack's limits as the blocks are built; on top of that a long
breakdown is cut to fit a section and ends with "… and N more". Every text taken from tickets
(names, tags, subjects, e-mails) goes through `escape`, so a ticket cannot ping @channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.render.format import bounds, change, moment, value
from bot.text import duration
from metrics.catalog import Answer, Column, Row
from metrics.customers import CustomerHistory

SECTION_LIMIT = 3000
FIELDS_PER_SECTION = 10
HEADER_LIMIT = 150
TABLE_COLUMNS = 3
LABEL_WIDTH = 18
SHARE_ACTION = "share_answer"
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

Blocks = list[dict[str, Any]]


def escape(text: str) -> str:
    """Slack's three control characters; `<!channel>` and `<@U…>` cannot be formed from ticket text."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def answer_blocks(a: Answer, *, as_of: datetime | None, share: str | None = None,
                  shared_by: str | None = None) -> Blocks:
    """The whole answer: headline with its change, the other figures, the breakdown, the details,
    then where the numbers come from. `share`: the Share button's value; `shared_by`: a user id."""
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text=_title(a)[:HEADER_LIMIT]))]
    blocks.append(SectionBlock(text=MarkdownTextObject(text=_headline(a))))
    blocks += _field_sections(a)
    if a.rows:
        blocks.append(_table(a))
    blocks += _details(a)
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=line) for line in _provenance(a, as_of)]))
    if shared_by is not None:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=f"Shared by <@{shared_by}>")]))
    if share is not None:
        blocks.append(ActionsBlock(elements=[ButtonElement(text="Share in channel", action_id=SHARE_ACTION,
                                                           value=share)]))
    return [b.to_dict() for b in blocks]


def answer_text(a: Answer) -> str:
    """The notification and screen-reader text of an answer."""
    column = a.query.metric.headline
    return f"{_title(a)}: {column.label} {value(column, a.total.figures.get(column.key))}"


def _title(a: Answer) -> str:
    q = a.query
    if q.metric.at_end:
        return f"{q.metric.title} · {'now' if q.period.to_date else 'at the end of ' + q.period.label}"
    return f"{q.metric.title} · {q.period.label}"


def _headline(a: Answer) -> str:
    column = a.query.metric.headline
    shown = f"*{value(column, a.total.figures.get(column.key))}* {column.label}"
    if a.total.previous is None or a.query.comparison is None:
        return shown
    before = a.total.previous.get(column.key)
    if before is None:
        return f"{shown}\nnothing to compare with {_comparison_words(a)}"
    shift = change(column, a.total.change(column))
    return f"{shown}   {_verdict(shift)}\n{value(column, before)} {_comparison_words(a)}"


def _verdict(shift: str) -> str:
    """`▼ 3m (-20%) good` -> `▼ 3m (-20%), good`; an arrow alone where the direction means nothing."""
    for word in (" good", " bad"):
        if shift.endswith(word):
            return f"{shift[: -len(word)]} · _{word.strip()}_"
    return shift


def _comparison_words(a: Answer) -> str:
    q = a.query
    assert q.comparison is not None
    if q.metric.at_end:
        return f"at {moment(q.comparison.end, q.period.tz)}"
    return f"in {q.comparison.label}"


def _field_sections(a: Answer) -> list[Block]:
    others = [c for c in a.columns if c.key != a.query.metric.headline.key]
    fields = [MarkdownTextObject(text=_field(c, a.total)) for c in others]
    return [SectionBlock(fields=fields[i:i + FIELDS_PER_SECTION]) for i in range(0, len(fields), FIELDS_PER_SECTION)]


def _field(column: Column, row: Row) -> str:
    shift = change(column, row.change(column))
    shown = f"*{column.label}*\n{value(column, row.figures.get(column.key))}"
    return f"{shown}   {_verdict(shift)}" if shift else shown


def _table(a: Answer) -> Block:
    """The breakdown as a fixed-width table in one section, cut to fit with "… and N more"."""
    columns = [c for c in a.columns if not c.key.startswith("business_")][:TABLE_COLUMNS]
    by = a.query.group_by
    heading = f"*{'by ' + by.value if by is not None else a.query.metric.title.lower()}*"
    header = f"{'':<{LABEL_WIDTH}}" + "".join(f"{c.label[:16]:>18}" for c in columns)
    lines = [header]
    budget = SECTION_LIMIT - len(heading) - 60
    for shown, row in enumerate(a.rows):
        line = f"{_clip(row.label):<{LABEL_WIDTH}}" + "".join(f"{_cell(c, row):>18}" for c in columns)
        if sum(len(x) + 1 for x in lines) + len(line) > budget:
            lines.append(f"… and {len(a.rows) - shown} more")
            break
        lines.append(line)
    text = heading + "\n```" + escape("\n".join(lines)) + "```"
    return SectionBlock(text=MarkdownTextObject(text=text))


def _clip(label: str) -> str:
    label = " ".join(label.split())  # no line breaks from a ticket inside the table
    return label if len(label) <= LABEL_WIDTH - 1 else label[:LABEL_WIDTH - 2] + "…"


def _cell(column: Column, row: Row) -> str:
    text = value(column, row.figures.get(column.key))
    if column.key in row.notes:
        return f"{text} {row.notes[column.key]}"[:17]
    shift = change(column, row.change(column)).removesuffix(" good").removesuffix(" bad")
    arrow = shift.split(" ")[0] if shift and shift != "= same" else ""
    return f"{text} {arrow}".rstrip()


def _details(a: Answer) -> list[Block]:
    lines = []
    if a.oldest is not None:
        subject = f" “{escape(a.oldest.subject)}”" if a.oldest.subject else ""
        lines.append(f"*Oldest unresolved:* {escape(a.oldest.key)}{subject}, {duration(a.oldest.age_seconds)} old")
    if a.tag_report is not None:
        r = a.tag_report
        lines.append("*Top tags:* " + (", ".join(f"`{escape(t.tag)}` {t.tickets} ({t.share:.0f}%)" for t in r.top)
                                        or "none"))
        if r.risers:
            lines.append("*Rising:* " + ", ".join(f"`{escape(t.tag)}` +{t.rise}" for t in r.risers))
        if r.new:
            lines.append("*New this period:* " + ", ".join(f"`{escape(t.tag)}` ({t.tickets})" for t in r.new))
    if a.busiest_grid is not None:
        lines.append(_busiest(a.busiest_grid))
    return [SectionBlock(text=MarkdownTextObject(text=_fit("\n".join(lines))))] if lines else []


def _busiest(grid: Sequence[Sequence[int]]) -> str:
    cells = sorted(((n, day, hour) for day, row in enumerate(grid) for hour, n in enumerate(row) if n),
                   reverse=True)[:5]
    if not cells:
        return "*Busiest hours:* no new tickets"
    return "*Busiest hours* (new tickets, local time): " + ", ".join(
        f"{WEEKDAY_NAMES[day]} {hour:02d}:00 ({n})" for n, day, hour in cells)


def _provenance(a: Answer, as_of: datetime | None) -> list[str]:
    q = a.query
    tz = q.period.tz
    lines = [f"{moment(q.period.end, tz)} ({tz.key})" if q.metric.at_end else bounds(q.period)]
    if q.comparison is not None and not q.metric.at_end:
        lines.append(f"compared with {q.comparison.label}: {bounds(q.comparison)}")
    if q.filters:
        lines.append("only " + ", ".join(f"{f.dimension.value} `{escape(f.value)}`" for f in q.filters))
    based = _basis(a)
    lines.append(" · ".join(x for x in (based, f"data as of {moment(as_of, tz)}" if as_of else "no data yet") if x))
    lines.append(f"Definition: docs/metrics.md › {q.metric.definition}")
    return lines


def _basis(a: Answer) -> str:
    if a.query.metric.basis is None:
        return ""
    keys, noun = a.query.metric.basis
    total = sum(a.total.figures.get(k) or 0 for k in keys)
    return f"based on {total:,.0f} {noun}"


def _fit(text: str) -> str:
    return text if len(text) <= SECTION_LIMIT else text[:SECTION_LIMIT - 1] + "…"


def customer_blocks(h: CustomerHistory, tz: ZoneInfo, *, share: str | None = None) -> Blocks:
    who = escape(f"{h.name} <{h.customer}>" if h.name else h.customer)
    if not h.tickets:
        return [SectionBlock(text=MarkdownTextObject(text=f"No tickets from {who}.")).to_dict()]
    csat = f"{h.csat:.0f}% good of {h.ratings} ratings" if h.csat is not None else "no ratings yet"
    summary = (f"*{who}*: {len(h.tickets)} tickets, {h.open} open\n"
               f"first contact {moment(h.first_contact, tz)} · last contact {moment(h.last_contact, tz)} "  # type: ignore[arg-type]
               f"({tz.key})\nagents: {escape(', '.join(h.agents)) or 'none yet'} · CSAT {csat}")
    lines = [f"• {moment(t.created_at, tz)} · `{escape(t.key)}` · {t.status.value} · {t.channel.value}"
             + (f" · {escape(' '.join(t.subject.split())[:80])}" if t.subject else "") for t in h.tickets[:20]]
    if len(h.tickets) > 20:
        lines.append(f"… and {len(h.tickets) - 20} more")
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=summary)),
                           SectionBlock(text=MarkdownTextObject(text=_fit("\n".join(lines))))]
    if share is not None:
        blocks.append(ActionsBlock(elements=[ButtonElement(text="Share in channel", action_id=SHARE_ACTION,
                                                           value=share)]))
    return [b.to_dict() for b in blocks]


def message_blocks(*paragraphs: str) -> Blocks:
    """Plain replies (help, errors, refusals), one section per paragraph."""
    return [SectionBlock(text=MarkdownTextObject(text=_fit(p))).to_dict() for p in paragraphs if p]


def context_block(text: str) -> dict[str, Any]:
    return ContextBlock(elements=[MarkdownTextObject(text=_fit(text))]).to_dict()


def tile(a: Answer) -> str:
    """One answer's headline as a dashboard field: title, number, change."""
    column, title = a.query.metric.headline, a.query.metric.title
    named = f"*{title}*" if column.label.lower().startswith(title.lower()) else f"*{title}* ({column.label})"
    shown = f"{named}\n{value(column, a.total.figures.get(column.key))}"
    shift = change(column, a.total.change(column))
    return f"{shown}   {_verdict(shift)}" if shift else shown
