"""App Home: a live dashboard, published each time someone opens the app's Home tab."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.ask import answer_query
from bot.render.home import empty_home_view, home_view
from bot.slack.commands import NO_DATA, Asked, Desk
from bot.slack.webapi import SlackProblem
from metrics.catalog import Answer, MetricQuery
from storage import ticket_queries

log = logging.getLogger(__name__)

HEADLINES = ("volume", "frt", "backlog", "csat")


def register_home(app: App, desk: Desk) -> None:
    def acknowledge(ack: Ack) -> None:
        ack()

    def publish(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab") != "home":
            return
        try:
            client.views_publish(user_id=event["user"], view=dashboard(desk))
        except SlackApiError as error:
            log.warning("App Home for %s not published: %s", event["user"], SlackProblem.from_error(error).sentence)
        except Exception:
            log.exception("App Home for %s not built", event["user"])

    app.event("app_home_opened")(ack=acknowledge, lazy=[publish])


def dashboard(desk: Desk) -> dict[str, Any]:
    now = desk.clock()
    with desk.sessions() as session:
        if not ticket_queries.has_tickets(session):
            return empty_home_view(NO_DATA)
        as_of = ticket_queries.data_as_of(session)

    def answer(text: str) -> Answer:
        query = desk.parse(Asked("/deskpulse", text, now))
        assert isinstance(query, MetricQuery)
        return answer_query(desk.sessions, desk.settings, query, now=now)

    today = [answer(f"{name} today") for name in HEADLINES]
    week = [answer(f"{name} last 7 days") for name in HEADLINES]
    return home_view(today, week, answer("level last 7 days"), as_of=as_of)
