"""Alerts as Block Kit (pure): the alert with its buttons, updates in its thread, "back to normal"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, ContextBlock, MarkdownTextObject, SectionBlock

from bot.alerts.evaluate import Finding, group_words
from bot.render.blocks import escape
from bot.render.format import bounds, value
from bot.text import duration
from metrics.anomaly import SHARE_METRICS
from metrics.catalog import METRICS, Column

ACK, MUTE_1H, MUTE_4H, TICKETS = "alert_ack", "alert_mute_1h", "alert_mute_4h", "alert_tickets"


def column_of(finding: Finding) -> Column:
    return next(c for c in METRICS[finding.signal.metric].columns if c.key == finding.signal.column)


def subject(finding: Finding) -> str:
    where = "" if finding.group == "all" else f" on {escape(group_words(finding.group))}"
    return f"{finding.signal.label[0].upper()}{finding.signal.label[1:]}{where}"


def alert_message(finding: Finding, *, incident_id: int, filters: str) -> dict[str, Any]:
    column, verdict = column_of(finding), finding.verdict
    moved = f"{value(column, verdict.usual)} → {value(column, finding.value)}"
    times = f" · {verdict.ratio:.1f}× the usual" if verdict.ratio else ""
    lines = [f":rotating_light: *{subject(finding)}: {moved}* over {finding.window.label} "
             f"({_basis(finding)}){times} for this hour of the week ({_usual_of(finding)})"]
    if finding.driver:
        lines.append(f"*Driven by:* {escape(finding.driver)}")
    staffing = staffing_line(finding)
    if staffing:
        lines.append(staffing)
    context = [bounds(finding.window),
               "Definition: docs/metrics.md › Unusual hours" + (", Agents needed" if staffing else "")]
    if filters:
        context.insert(1, f"only `{escape(filters)}`")
    value_id = str(incident_id)
    buttons = [ButtonElement(text="Acknowledge", action_id=ACK, value=value_id, style="primary"),
               ButtonElement(text="Mute 1 h", action_id=MUTE_1H, value=value_id),
               ButtonElement(text="Mute 4 h", action_id=MUTE_4H, value=value_id),
               ButtonElement(text="Show tickets", action_id=TICKETS, value=value_id)]
    blocks = [SectionBlock(text=MarkdownTextObject(text="\n".join(lines))),
              ContextBlock(elements=[MarkdownTextObject(text=c) for c in context]), ActionsBlock(elements=buttons)]
    return {"blocks": [b.to_dict() for b in blocks], "text": f"{subject(finding)}: {moved}"}


def _usual_of(finding: Finding) -> str:
    """How the usual value was formed: a share pools the earlier weeks' ratings (metrics.anomaly.judge_share)."""
    weeks = finding.baseline_windows
    return f"pooled over {weeks} weeks" if finding.signal.name in SHARE_METRICS else f"median of {weeks} weeks"


def staffing_line(finding: Finding) -> str | None:
    if finding.staffing is None:
        return None
    s, now = finding.staffing, finding.agents_now
    line = (f"*Agents needed now:* {s.agents} to answer {s.service_level:.0%} in time at this rate "
            f"(Erlang C, occupancy {s.occupancy:.0%})")
    if now is not None:
        more = s.agents - now
        line += f"; {now} replied in the last hour" + (f": about {more} more needed" if more > 0 else "")
    return line


def update_message(finding: Finding) -> dict[str, Any]:
    text = (f"Still unusual: {subject(finding).lower()} {value(column_of(finding), finding.value)} over "
            f"{finding.window.label} ({_basis(finding)}); usual {value(column_of(finding), finding.verdict.usual)}.")
    staffing = staffing_line(finding)
    return _plain(text + (f"\n{staffing}" if staffing else ""))


def normal_message(finding: Finding | None, signal_subject: str, *, opened_at: datetime,
                   now: datetime) -> dict[str, Any]:
    lasted = duration((now - opened_at).total_seconds())
    if finding is None or finding.value is None:
        return _plain(f":white_check_mark: Back to normal: {signal_subject.lower()} (no data in the last hour). "
                      f"Open for {lasted}.")
    column = column_of(finding)
    return _plain(f":white_check_mark: Back to normal: {signal_subject.lower()} {value(column, finding.value)} over "
                  f"{finding.window.label}, usual {value(column, finding.verdict.usual)}. Open for {lasted}.")


def _basis(finding: Finding) -> str:
    if finding.signal.is_count:
        return "new tickets"
    noun = {"frt": "first responses", "resolution": "resolutions", "csat": "ratings", "sla": "inbound tickets",
            "backlog": "open tickets"}[finding.signal.name]
    return f"{finding.measurements:,} {noun}"


def _plain(text: str) -> dict[str, Any]:
    return {"blocks": [SectionBlock(text=MarkdownTextObject(text=text)).to_dict()], "text": text}
