"""A digest as Block Kit: the top message, readable in 20 seconds, and the details for its thread
(pure: a Digest in, messages out)."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

from bot.digest.compose import Digest, Headline
from bot.render.blocks import HEADER_LIMIT, answer_blocks, answer_text, escape
from bot.render.format import bounds, change, moment, value
from bot.text import duration
from metrics.compare import Change

Message = dict[str, Any]
MAX_BLOCKS = 50


def digest_title(d: Digest) -> str:
    kind = "Daily" if d.cadence == "daily" else "Weekly"
    only = f" · {' '.join(f.value for f in d.filters)}" if d.filters else ""
    return f"{kind} digest · {d.period.label}{only}"


def digest_message(d: Digest) -> Message:
    """The top message: one line per headline with its change and the usual value."""
    blocks: list[Any] = [HeaderBlock(text=PlainTextObject(text=digest_title(d)[:HEADER_LIMIT]))]
    if d.holiday is not None:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(
            text=f":calendar: {escape(d.holiday)}: a public holiday, compared with the day before only, "
                 f"not with a usual day.")]))
    blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(headline_line(h, d) for h in d.headlines))))
    previous = d.compared_with
    context = [bounds(d.period)]
    if previous is not None:
        context.append(f"changes are against {previous.label}" + (f"; {d.usual_label}" if d.usual_label else ""))
    if d.filters:
        context.append("only " + ", ".join(f"{f.dimension.value} `{escape(f.value)}`" for f in d.filters))
    tz = d.period.tz
    context.append((f"data as of {moment(d.as_of, tz)}" if d.as_of else "no data yet")
                   + " · per channel, tags, busiest hours and the chart in the thread · definitions: docs/metrics.md")
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=line) for line in context]))
    return {"blocks": [b.to_dict() for b in blocks], "text": digest_text(d)}


def headline_line(h: Headline, d: Digest) -> str:
    shown = f"*{h.label}:* {value(h.column, h.row.figures.get(h.column.key))}{_extra(h)}"
    shift = change(h.column, h.row.change(h.column))
    if shift:
        shown += f"   {shift.removesuffix(' good').removesuffix(' bad')}{_mark(h.row.change(h.column))}"
    if h.usual is not None:
        shown += f" · usual {value(h.column, h.usual)}"
    return shown


def _extra(h: Headline) -> str:
    """What a number needs beside it to be read right."""
    figures = h.row.figures
    if h.metric == "csat" and not figures.get("ratings"):
        return " (no ratings)"
    if h.metric == "csat":
        return f" of {figures['ratings']:,.0f} ratings"
    if h.metric == "backlog" and figures.get("oldest_age"):
        return f" (oldest {duration(figures['oldest_age'])})"
    if h.metric == "sla" and figures.get("attainment") is not None:
        return f" ({figures['attainment']:.0f}% met)"
    if h.metric == "conversions" and figures.get("rate") is not None:
        return f" ({figures['rate']:.1f}% of {figures['tickets']:,.0f} new tickets)"
    if h.metric == "retention" and figures.get("at_start"):
        return f" of {figures['at_start']:,.0f} customers"
    return ""


def _mark(c: Change | None) -> str:
    return {True: " _good_", False: " _bad_"}.get(c.good if c else None, "")


def digest_text(d: Digest) -> str:
    new = next(h for h in d.headlines if h.column.key == "new")
    return f"{digest_title(d)}: {value(new.column, new.row.figures.get('new'))} new tickets"


def thread_messages(d: Digest) -> list[Message]:
    """The details, packed into as few messages as Slack's 50 blocks allow."""
    messages: list[Message] = []
    blocks: list[dict[str, Any]] = []
    texts: list[str] = []
    for answer in d.details:
        part = answer_blocks(answer, as_of=d.as_of)
        if blocks and len(blocks) + 1 + len(part) > MAX_BLOCKS:
            messages.append({"blocks": blocks, "text": "; ".join(texts)})
            blocks, texts = [], []
        if blocks:
            blocks.append(DividerBlock().to_dict())
        blocks += part
        texts.append(answer_text(answer))
    if blocks:
        messages.append({"blocks": blocks, "text": "; ".join(texts)})
    return messages
