"""The Slack side of `deskpulse serve`: a Bolt app, reached over HTTP at /slack/events (the same
server as the webhooks) or through Socket Mode when SLACK_APP_TOKEN is set."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from datetime import datetime

from slack_bolt import App, BoltRequest
from slack_bolt.authorization import AuthorizeResult
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.settings import Settings
from bot.slack import commands
from bot.slack.access import AgentAccess
from bot.slack.home import register_home
from bot.slack.webapi import web_client

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# How often the Socket Mode client pings Slack and checks its connection. A connection closed under it
# (bot/slack/socket_mode.py) is opened again at the next check; one that just goes silent is given up
# after about four checks without a pong. Bolt's default of 10 s left deskpulse deaf for a minute.
SOCKET_MODE_CHECK_SECONDS = 2.0


def build_slack_app(settings: Settings, sessions: sessionmaker[Session], clock: Callable[[], datetime], *,
                    socket_mode: bool = False) -> App:
    """Over HTTP every request's signature is checked; Socket Mode's connection is authenticated
    by the app token instead."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""

    def authorize(enterprise_id: str | None, team_id: str | None) -> AuthorizeResult:
        # One workspace, one token: no auth.test round trip before a request can be acknowledged.
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=token)

    bolt_log = logging.getLogger("deskpulse.slack")
    quiet = _Quiet()  # Bolt reads SLACK_BOT_TOKEN itself, then warns that `authorize` overrides it
    bolt_log.addFilter(quiet)
    try:
        app = App(signing_secret=secret, authorize=authorize, request_verification_enabled=not socket_mode,
                  client=web_client(token, settings.slack_api_url), logger=bolt_log)
    finally:
        bolt_log.removeFilter(quiet)
    access = AgentAccess(settings.agent_metric_channels, settings.agent_metric_usergroups)
    desk = commands.Desk(settings, sessions, clock, access)
    commands.register(app, desk)
    register_home(app, desk)
    return app


class _Quiet(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.WARNING


def events_route(app: App | None) -> Route:
    """POST /slack/events: Bolt checks the signature and its age, then dispatches; it runs in a
    worker thread so a slow listener never holds up the webhooks on the event loop."""

    async def slack_events(request: Request) -> Response:
        if app is None:
            return JSONResponse({"error": "slack_not_configured",
                                 "detail": "set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET"}, status_code=503)
        body = (await request.body()).decode("utf-8", errors="replace")
        incoming = BoltRequest(body=body, query=request.url.query, headers=dict(request.headers))
        answer = await asyncio.to_thread(app.dispatch, incoming)
        return Response(content=answer.body, status_code=answer.status,
                        headers=answer.first_headers_without_set_cookie())

    return Route(EVENTS_PATH, slack_events, methods=["POST"])


def start_socket_mode(app: App, app_token: str) -> Callable[[], None]:
    """Connect over Socket Mode in the background, trying again while Slack cannot be reached, so
    the webhooks are served meanwhile; returns how to disconnect."""
    from bot.slack.socket_mode import SocketModeHandler

    handler = SocketModeHandler(app, app_token, ping_interval=SOCKET_MODE_CHECK_SECONDS)
    stopped = threading.Event()

    def connect() -> None:
        wait = 1.0
        while not stopped.is_set():
            try:
                handler.connect()
                if handler.client.is_connected():
                    log.info("Slack: connected over Socket Mode")
                else:  # the WebSocket refused: the client's own checks open a new one
                    log.warning("Slack: the Socket Mode connection failed; trying again in %.0f s",
                                SOCKET_MODE_CHECK_SECONDS)
                return
            except Exception as exc:
                log.warning("Slack: Socket Mode connection failed (%s); trying again in %.0f s", exc, wait)
                stopped.wait(wait)
                wait = min(wait * 2, 60.0)

    threading.Thread(target=connect, name="deskpulse-socket-mode", daemon=True).start()

    def disconnect() -> None:
        stopped.set()
        handler.close()

    return disconnect
