"""Slash commands and the Share button: acknowledge at once, then parse, compute, render, send.

The acknowledgement only reads the query (no database, no Web API), so it is back within
Slack's 3 seconds whatever else is slow; the answer follows through the response URL.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.commands import AlertCommand, AlertCommandError, is_alert_command, parse_alert_command
from bot.ask import answer_query, customer_answer, parse
from bot.digest.commands import DigestCommand, DigestCommandError, is_digest_command, parse_digest_command
from bot.grammar import CustomerQuery, QueryError, help_text
from bot.render.blocks import (
    SHARE_ACTION,
    answer_blocks,
    answer_text,
    context_block,
    customer_blocks,
    escape,
    message_blocks,
)
from bot.render.charts import chart_png
from bot.settings import Settings
from bot.slack import webapi
from bot.slack.access import AgentAccess, per_agent
from bot.slack.alert_commands import alert_reply, register_alert_actions
from bot.slack.digest_commands import digest_reply
from metrics.catalog import METRICS, Answer, MetricQuery
from metrics.periods import Unit
from storage import ticket_queries

log = logging.getLogger(__name__)

# The metric each command answers; /deskpulse takes the metric as its first word.
COMMANDS: dict[str, str | None] = {
    "/csat": "csat", "/frt": "frt", "/volume": "volume", "/backlog": "backlog", "/resolution": "resolution",
    "/agents": "agents", "/sla": "sla", "/tags": "tags", "/level": "level", "/customer": "customer",
    "/deskpulse": None,
}
HELP_WORDS = {"", "help", "?", "-h", "--help"}
CHART_WORD = "chart"
MAX_SHARED_TEXT = 1500  # the Share button's value holds the query (Slack allows 2,000 characters)
NO_DATA = ("*No tickets yet.* Connect a helpdesk: point its webhooks at `https://<your deskpulse host>/webhooks/"
           "<helpdesk>` and set `<HELPDESK>_WEBHOOK_SECRET` (see docs/zendesk.md and docs/webhook-format.md). "
           "To try deskpulse first, run `deskpulse demo`: 90 days of a made-up team.")


@dataclass(frozen=True)
class Asked:
    """One question as typed: the command, its text, and the moment it was asked."""

    command: str
    text: str
    now: datetime

    @property
    def wants_chart(self) -> bool:
        return CHART_WORD in self.text.lower().split()

    @property
    def query_text(self) -> str | None:
        """What the grammar reads (without the word `chart`); None asks for the help."""
        text = " ".join(w for w in self.text.split() if w.lower() != CHART_WORD)
        metric = COMMANDS.get(self.command)
        if metric is None:
            return None if text.lower() in HELP_WORDS else text
        return f"{metric} {text}".strip()

    @property
    def settings_command(self) -> bool:
        """`/deskpulse digest …` and `/deskpulse alerts …` set things up rather than ask a question."""
        return self.command == "/deskpulse" and (is_digest_command(self.text) or is_alert_command(self.text))

    def share_value(self) -> str | None:
        if len(self.text) > MAX_SHARED_TEXT:
            return None
        return json.dumps({"c": self.command, "t": self.text, "at": self.now.isoformat()})

    @classmethod
    def from_share_value(cls, value: str) -> Asked:
        data = json.loads(value)
        return cls(data["c"], data["t"], datetime.fromisoformat(data["at"]))


@dataclass(frozen=True)
class Desk:
    """What the handlers need, passed in once."""

    settings: Settings
    sessions: sessionmaker[Session]
    clock: Callable[[], datetime]
    access: AgentAccess

    def parse(self, asked: Asked) -> MetricQuery | CustomerQuery:
        return parse(self.settings, asked.query_text or "", now=asked.now)


def register(app: App, desk: Desk) -> None:
    def acknowledge(ack: Ack, command: dict[str, Any]) -> None:
        asked = Asked(command["command"], command.get("text") or "", desk.clock())
        if asked.query_text is None:
            ack(blocks=message_blocks(help_text(asked.command)), text="How to ask deskpulse")
            return
        try:
            if asked.settings_command:
                _setting(asked.text)
            else:
                desk.parse(asked)
        except (DigestCommandError, AlertCommandError) as problem:
            ack(blocks=message_blocks(str(problem)), text=str(problem))
            return
        except QueryError as problem:
            ack(blocks=message_blocks(*_unreadable(problem, asked)), text=str(problem))
            return
        ack()

    def answer(command: dict[str, Any], client: WebClient) -> None:
        asked = Asked(command["command"], command.get("text") or "", desk.clock())
        if asked.query_text is None:
            return  # the help went with the acknowledgement
        if asked.settings_command:
            try:
                wanted = _setting(asked.text)
            except (DigestCommandError, AlertCommandError):
                return  # the acknowledgement said what could not be read
            reply = alert_reply if isinstance(wanted, AlertCommand) else digest_reply
            _reply(command["response_url"], lambda: reply(
                desk, wanted, channel_id=command["channel_id"], user_id=command["user_id"]))  # type: ignore[arg-type]
            return
        _reply(command["response_url"], lambda: _answer(desk, client, asked, channel_id=command["channel_id"],
                                                        user_id=command["user_id"]))

    for name in COMMANDS:
        app.command(name)(ack=acknowledge, lazy=[answer])

    def acknowledge_share(ack: Ack) -> None:
        ack()

    def share(body: dict[str, Any], client: WebClient) -> None:
        _reply(body["response_url"], lambda: _share(desk, client, body))

    app.action(SHARE_ACTION)(ack=acknowledge_share, lazy=[share])
    register_alert_actions(app, desk)


def _setting(text: str) -> DigestCommand | AlertCommand:
    return parse_alert_command(text) if is_alert_command(text) else parse_digest_command(text)


def _answer(desk: Desk, client: WebClient, asked: Asked, *, channel_id: str, user_id: str) -> dict[str, Any] | None:
    """The ephemeral reply to one question."""
    try:
        query = desk.parse(asked)
    except QueryError:
        return None  # the acknowledgement said what could not be read
    if isinstance(query, MetricQuery) and per_agent(query) and not desk.access.allowed(
            client, channel_id=channel_id, user_id=user_id):
        return _ephemeral(desk.access.refusal())
    if isinstance(query, MetricQuery) and asked.wants_chart:
        query = _charted(query)
    message, result = _compute(desk, asked, query, share=asked.share_value())
    if asked.wants_chart and result is not None:
        # a chart is public: per-agent numbers go only to channels allowed to see them
        note = "Charts of numbers per agent are posted only in the channels allowed to see them." \
            if per_agent(result.query) and not desk.access.channel_allowed(channel_id) else \
            _post_chart(client, result, asked, channel_id=channel_id, user_id=user_id)
        message["blocks"].insert(-1, context_block(note))
    return {"response_type": "ephemeral", **message}


def _charted(query: MetricQuery) -> MetricQuery:
    """A chart needs a series: a trend by day (by hour within a day) unless a breakdown is asked."""
    if query.group_by is not None or query.metric.own_rows is not None or query.metric.details is not None:
        return query
    one_day = (query.period.end - query.period.start).total_seconds() <= 26 * 3600
    return replace(query, group_by=Unit.HOUR if one_day else Unit.DAY)


def _post_chart(client: WebClient, result: Answer, asked: Asked, *, channel_id: str, user_id: str) -> str:
    """Upload the chart to the channel it was asked in; say what happened in the private answer."""
    png = chart_png(result)
    if png is None:
        return "There is nothing to chart for this question."
    title = f"{result.query.metric.title} · {result.query.period.label}"
    try:
        client.files_upload_v2(channel=channel_id, file=png, filename=f"deskpulse-{result.query.metric.name}.png",
                               title=title, alt_txt=answer_text(result),
                               initial_comment=f"<@{user_id}> asked `{asked.command} {escape(asked.text)}`")
    except SlackApiError as error:
        problem = webapi.SlackProblem.from_error(error)
        log.warning("chart upload to %s failed: %s", channel_id, problem.code)
        return f"The chart could not be posted: {problem.sentence}"
    return "The chart is posted in this channel."


def _compute(desk: Desk, asked: Asked, query: MetricQuery | CustomerQuery, *, share: str | None,
             shared_by: str | None = None) -> tuple[dict[str, Any], Answer | None]:
    """The message for a question, and the metric answer behind it (None for the other replies)."""
    with desk.sessions() as session:
        if not ticket_queries.has_tickets(session):
            return {"blocks": message_blocks(NO_DATA), "text": "No tickets yet"}, None
        as_of = ticket_queries.data_as_of(session)
    if isinstance(query, CustomerQuery):
        history = customer_answer(desk.sessions, query)
        return {"blocks": customer_blocks(history, desk.settings.zone, share=share),
                "text": f"Tickets of {query.customer}"}, None
    result = answer_query(desk.sessions, desk.settings, query, now=asked.now)
    return {"blocks": answer_blocks(result, as_of=as_of, share=share, shared_by=shared_by),
            "text": answer_text(result)}, result


def _share(desk: Desk, client: WebClient, body: dict[str, Any]) -> dict[str, Any]:
    """Post the answer for everyone in the channel, saying who shared it, and drop the private copy."""
    asked = Asked.from_share_value(body["actions"][0]["value"])
    channel_id, user_id = body["channel"]["id"], body["user"]["id"]
    query = desk.parse(asked)
    if isinstance(query, MetricQuery) and asked.wants_chart:
        query = _charted(query)  # the same table as the private answer; its chart is in the channel already
    if isinstance(query, MetricQuery) and per_agent(query) and not desk.access.channel_allowed(channel_id):
        return _ephemeral(desk.access.refusal(), replace=False)
    message, _ = _compute(desk, asked, query, share=None, shared_by=user_id)
    try:
        client.chat_postMessage(channel=channel_id, **message)
    except SlackApiError as error:
        problem = webapi.SlackProblem.from_error(error)
        log.warning("sharing in %s failed: %s", channel_id, problem.code)
        return _ephemeral(f"I could not share this answer. {problem.sentence}", replace=False)
    return {"delete_original": True}


def _reply(response_url: str, build: Callable[[], dict[str, Any] | None]) -> None:
    """Send what `build` makes; on any failure, a short apology with an id that is in the log too."""
    try:
        message = build()
    except Exception:
        error_id = uuid.uuid4().hex[:8]
        log.exception("answer failed [error %s]", error_id)
        message = _ephemeral(f"Sorry, something went wrong on deskpulse's side and I could not answer. "
                             f"Please try again in a minute; if it keeps happening, give your admin the "
                             f"error id `{error_id}`.", replace=False)
    if message is None:
        return
    try:
        webapi.respond(response_url, message)
    except Exception:
        log.exception("could not send the answer to Slack")


def _ephemeral(text: str, *, replace: bool | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"response_type": "ephemeral", "blocks": message_blocks(text), "text": text}
    if replace is not None:
        message["replace_original"] = replace
    return message




def _unreadable(problem: QueryError, asked: Asked) -> list[str]:
    """What could not be read, the close match, and examples, phrased for the command typed."""
    said = problem.problem
    if problem.suggestion:
        own = f"/{problem.suggestion}"
        first_word = asked.command == "/deskpulse" and asked.text.split()[:1] == [problem.word]
        said += f" Did you mean `{own if first_word and own in COMMANDS else problem.suggestion}`?"
    metric = COMMANDS.get(asked.command)
    examples = [e for e in (problem.example, *(m.example for m in METRICS.values())) if e]
    if metric is not None:  # `/csat last week`, not `/csat csat last week`
        examples = [e.removeprefix(metric).strip() for e in examples if e.startswith(metric + " ")] or [""]
    shown = ", ".join(dict.fromkeys(f"`{asked.command} {e}`" if e else f"`{asked.command}`" for e in examples[:3]))
    return [said, f"For example: {shown}. `/deskpulse help` lists everything."]
