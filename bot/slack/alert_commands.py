"""`/deskpulse alerts …` and the buttons under an alert: Acknowledge, Mute 1 h / 4 h, Show tickets."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.alerts.commands import AlertCommand, AlertsMute, AlertsOff, AlertsOn
from bot.alerts.evaluate import is_tag
from bot.render.alerts import ACK, MUTE_1H, MUTE_4H, TICKETS
from bot.render.blocks import escape, message_blocks
from bot.render.format import moment
from bot.slack.webapi import respond
from bot.text import duration
from storage import incidents, subscriptions, ticket_queries
from storage.db import unit_of_work
from storage.subscriptions import AlertPlan

if TYPE_CHECKING:
    from bot.slack.commands import Desk

MUTES = {MUTE_1H: timedelta(hours=1), MUTE_4H: timedelta(hours=4)}


def alert_reply(desk: Desk, command: AlertCommand, *, channel_id: str, user_id: str) -> dict[str, Any]:
    """Carry out `/deskpulse alerts …` for this channel and say what changed."""
    now = desk.clock()
    if isinstance(command, AlertsOn):
        with unit_of_work(desk.sessions) as session:
            subscriptions.save_alerts(session, AlertPlan(channel_id=channel_id,
                                                         timezone=command.timezone or desk.settings.timezone,
                                                         filters=command.filters), created_by=user_id, now=now)
        only = f" (only `{escape(command.filters)}`)" if command.filters else ""
        only += f" in {escape(command.timezone)} time" if command.timezone else ""
        return _message(f"<@{user_id}> switched alerts on for this channel{only}: deskpulse checks every 5 minutes "
                        "whether the last hour is far from usual for this hour of the week. deskpulse posts only "
                        "where it is a member: if it is not yet, `/invite @deskpulse`.", public=True)
    if isinstance(command, AlertsOff):
        with unit_of_work(desk.sessions) as session:
            removed = subscriptions.remove_alerts(session, channel_id)
        return _message(f"<@{user_id}> switched alerts off for this channel." if removed else
                        "Alerts are not on in this channel.", public=bool(removed))
    if isinstance(command, AlertsMute):
        with unit_of_work(desk.sessions) as session:
            muted = subscriptions.mute_alerts(session, channel_id, until=now + command.length, signal=command.signal)
        if muted is None:
            return _message("Alerts are not on in this channel: `/deskpulse alerts on` first.", public=False)
        what = f"`{command.signal}` alerts" if command.signal else "alerts"
        return _message(f"<@{user_id}> muted {what} here for {duration(command.length.total_seconds())}.",
                        public=True)
    with desk.sessions() as session:
        plans = subscriptions.alert_plans(session, channel_id)
    if not plans:
        return _message("Alerts are off in this channel. `/deskpulse alerts on` switches them on.", public=False)
    plan = plans[0]
    muted = f", muted until {moment(plan.muted_until, desk.settings.zone)}" \
        if plan.muted_until is not None and plan.muted_until > now else ""
    only = f", only `{escape(plan.filters)}`" if plan.filters else ""
    return _message(f"Alerts are on in this channel{only}{muted}.", public=False)


def register_alert_actions(app: App, desk: Desk) -> None:
    def acknowledge(ack: Ack) -> None:
        ack()

    def act(body: dict[str, Any], client: WebClient) -> None:
        action = body["actions"][0]
        incident = _incident(desk, action["value"])
        user = body["user"]["id"]
        if incident is None:
            return
        if action["action_id"] == TICKETS:
            _show_tickets(desk, body, incident)
            return
        if action["action_id"] == ACK:
            with unit_of_work(desk.sessions) as session:
                incidents.acknowledge(session, incident.id, user)
            text = f"<@{user}> is on it."
        else:
            length = MUTES[action["action_id"]]
            with unit_of_work(desk.sessions) as session:
                plan = subscriptions.alert_plan(session, incident.subscription_id)
                if plan is not None:
                    subscriptions.mute_alerts(session, plan.channel_id, until=desk.clock() + length,
                                              signal=incident.signal)
            text = f"<@{user}> muted this alert for {duration(length.total_seconds())}."
        client.chat_postMessage(channel=body["channel"]["id"], thread_ts=incident.message_ts, text=text,
                                blocks=message_blocks(text))

    for action_id in (ACK, MUTE_1H, MUTE_4H, TICKETS):
        app.action(action_id)(ack=acknowledge, lazy=[act])


def _incident(desk: Desk, value: str) -> incidents.OpenIncident | None:
    if not value.isdigit():
        return None
    with desk.sessions() as session:
        return incidents.get(session, int(value))


def _show_tickets(desk: Desk, body: dict[str, Any], incident: incidents.OpenIncident) -> None:
    """The alert's hour of tickets, those still waiting for a first reply first, privately."""
    group = incident.signal.split(":", 1)[1]
    tag = group.removeprefix("tag:") if is_tag(group) else None
    with desk.sessions() as session:
        found = ticket_queries.tickets_between(session, incident.window_start, incident.window_end,
                                               channel=None if group == "all" or tag else group, tag=tag)
    tz = desk.settings.zone
    lines = [f"• `{escape(t.key)}` · {moment(t.created_at, tz)} · {escape(t.channel)} · "
             + (f"first reply after {duration(t.first_response_seconds)}" if t.first_response_seconds is not None
                else "*no reply yet*") + (f" · {escape(' '.join(t.subject.split())[:60])}" if t.subject else "")
             for t in found]
    text = "\n".join(lines) or "No tickets in that hour."
    respond(body["response_url"], {"response_type": "ephemeral", "replace_original": False,
                                   "blocks": message_blocks(f"*Tickets of the alert's hour*\n{text}"), "text": text})


def _message(text: str, *, public: bool) -> dict[str, Any]:
    return {"response_type": "in_channel" if public else "ephemeral", "blocks": message_blocks(text), "text": text}
