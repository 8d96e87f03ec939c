"""The App Home dashboard: today and the last 7 days at a glance, and each channel's service level."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, MarkdownTextObject, PlainTextObject, SectionBlock

from bot.render.blocks import escape, tile
from bot.render.format import moment, value
from metrics.catalog import Answer


def home_view(today: Sequence[Answer], week: Sequence[Answer], levels: Answer | None, *,
              as_of: datetime | None) -> dict[str, Any]:
    """`today` and `week`: one answer per headline (volume, FRT, backlog, CSAT)."""
    tz = (today or week)[0].query.period.tz
    blocks: list[Block] = [HeaderBlock(text=PlainTextObject(text="Your support team at a glance"))]
    for heading, answers in (("Today so far", today), ("The last 7 days", week)):
        compared = next((a.query.comparison.label for a in answers if a.query.comparison is not None), "")
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"*{heading}*  ·  compared with {compared}")))
        blocks.append(SectionBlock(fields=[MarkdownTextObject(text=tile(a)) for a in answers]))
    if levels is not None and levels.rows:
        lines = [f"• *{escape(r.label)}*: first response {value(levels.columns[0], r.figures.get('frt_median'))} "
                 f"({r.notes.get('frt_median', 'no data')}) · CSAT average "
                 f"{value(levels.columns[1], r.figures.get('csat_average'))} ({r.notes.get('csat_average', 'no data')})"
                 for r in levels.rows]
        blocks.append(SectionBlock(text=MarkdownTextObject(
            text="*Service level per channel, last 7 days*\n" + "\n".join(lines))))
    freshness = f"Data as of {moment(as_of, tz)} ({tz.key})" if as_of else "No data yet"
    blocks.append(ContextBlock(elements=[MarkdownTextObject(
        text=f"{freshness} · Ask anything with `/deskpulse help` · Definitions: docs/metrics.md")]))
    return {"type": "home", "blocks": [b.to_dict() for b in blocks]}


def empty_home_view(guide: str) -> dict[str, Any]:
    blocks = [HeaderBlock(text=PlainTextObject(text="Your support team at a glance")),
              SectionBlock(text=MarkdownTextObject(text=guide))]
    return {"type": "home", "blocks": [b.to_dict() for b in blocks]}
