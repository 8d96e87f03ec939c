"""Socket Mode end to end: `deskpulse serve` with SLACK_APP_TOKEN and no signing secret connects
out to a local stand-in of Slack's Socket Mode, and answers slash commands that arrive as
envelopes over the socket. The team, its tickets and the day are those of test_slack_commands.py:
last week two ratings, one good."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.test_slack_commands import readable, send_the_two_weeks, serve_the_team
from tests.support.server import RunningServer
from tests.support.slack_standin import SlackStandIn, start_slack_standin
from tests.support.socket_mode_standin import SocketModeStandIn, start_socket_mode_standin

APP_TOKEN = "xapp-test"
SLACK_LIMIT_SECONDS = 3.0  # Slack shows the user an error when an envelope is not acknowledged by then
# After a cut connection: answering again within this many seconds, burning less than this much CPU
# (of the whole test process: the bot, both stand-ins, the command) on the way. Both are generous for a
# busy machine; a client that spins while it waits burns about a CPU-second per second.
CUT_RECOVERY_SECONDS = 8.0
CUT_RECOVERY_CPU_SECONDS = 1.0


@pytest.fixture
def sockets() -> Iterator[SocketModeStandIn]:
    standin = start_socket_mode_standin()
    yield standin
    standin.stop()


@pytest.fixture
def slack(sockets: SocketModeStandIn) -> Iterator[SlackStandIn]:
    standin = start_slack_standin()
    standin.socket_url = sockets.new_url  # what apps.connections.open hands out
    yield standin
    standin.stop()


@pytest.fixture
def bot(database_url: str, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    running = serve_the_team(database_url, slack, monkeypatch, signing_secret=None)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def team(bot: RunningServer, sockets: SocketModeStandIn) -> RunningServer:
    send_the_two_weeks(bot)
    sockets.wait_for_link()
    return bot


def slash_command(sockets: SocketModeStandIn, slack: SlackStandIn, name: str, words: str = "") -> tuple[str, str]:
    """Send a slash command the way Slack does over Socket Mode; returns its envelope id and response URL."""
    url = slack.response_url()
    payload = {"token": "deprecated-verification-token", "team_id": "T1", "team_domain": "shop",
               "channel_id": "CSUPPORT01", "channel_name": "support", "user_id": "ULEAD0001", "user_name": "lead",
               "command": name, "text": words, "api_app_id": "ADESKPULSE", "is_enterprise_install": "false",
               "response_url": url, "trigger_id": "1.2.3"}
    return sockets.send_envelope("slash_commands", payload), url


def acknowledged_reply(sockets: SocketModeStandIn, envelope_id: str) -> dict[str, Any]:
    """The message that came back with the acknowledgement, checked as Slack would check it."""
    ack = sockets.wait_for_ack(envelope_id)
    assert ack.payload is not None, "the acknowledgement carried no reply"
    assert ack.problems == [], ack.problems
    return ack.payload


def test_a_command_over_the_socket_is_acknowledged_at_once_and_answered_in_block_kit(
        team: RunningServer, slack: SlackStandIn, sockets: SocketModeStandIn) -> None:
    envelope_id, url = slash_command(sockets, slack, "/csat", "last week")
    ack = sockets.wait_for_ack(envelope_id)
    assert ack.seconds < SLACK_LIMIT_SECONDS
    answer = slack.wait_for_response(url)[0]
    shown = readable(answer)
    assert answer["response_type"] == "ephemeral"
    assert "CSAT · last week" in shown and "*50%* CSAT (good ratings)" in shown and "based on 2 ratings" in shown
    assert sockets.unknown_messages == []


def test_it_connects_with_the_app_token_and_talks_to_the_web_api_with_the_bot_token(
        team: RunningServer, slack: SlackStandIn, sockets: SocketModeStandIn) -> None:
    assert {call.token for call in slack.calls_to("apps.connections.open")} == {APP_TOKEN}
    slack.usergroups["SLEADS0001"] = ["ULEAD0001"]  # per-agent numbers make deskpulse ask who is in the group
    envelope_id, url = slash_command(sockets, slack, "/frt", "last week by agent")
    sockets.wait_for_ack(envelope_id)
    assert "by agent" in readable(slack.wait_for_response(url)[0])
    assert slack.calls_to("usergroups.users.list")[0].token == "xoxb-test"


def test_an_unreadable_command_gets_the_helpful_reply_with_its_acknowledgement(
        team: RunningServer, slack: SlackStandIn, sockets: SocketModeStandIn) -> None:
    shown = readable(acknowledged_reply(sockets, slash_command(sockets, slack, "/deskpulse", "frtt yesterday")[0]))
    assert "`frtt`" in shown and "Did you mean `/frt`?" in shown and "For example:" in shown
    shown = readable(acknowledged_reply(sockets, slash_command(sockets, slack, "/csat", "last fortnight")[0]))
    assert ("`fortnight`" in shown or "`last fortnight`" in shown) and "Traceback" not in shown


def test_help_comes_with_the_acknowledgement(team: RunningServer, slack: SlackStandIn,
                                            sockets: SocketModeStandIn) -> None:
    shown = readable(acknowledged_reply(sockets, slash_command(sockets, slack, "/deskpulse", "help")[0]))
    assert "`/deskpulse <metric> [period]" in shown


def test_when_slack_asks_it_to_reconnect_it_opens_a_new_connection_and_goes_on_answering(
        team: RunningServer, slack: SlackStandIn, sockets: SocketModeStandIn) -> None:
    sockets.ask_to_reconnect("refresh_requested")
    sockets.wait_for_link(count=2)
    envelope_id, url = slash_command(sockets, slack, "/csat", "last week")
    assert sockets.wait_for_ack(envelope_id).seconds < SLACK_LIMIT_SECONDS
    assert "*50%* CSAT" in readable(slack.wait_for_response(url)[0])


@pytest.mark.parametrize("how", ["close", "drop"])
def test_a_lost_connection_is_opened_again(how: str, team: RunningServer, slack: SlackStandIn,
                                           sockets: SocketModeStandIn) -> None:
    """`close`: a Slack server going away politely; `drop`: the network cuts the connection."""
    getattr(sockets, how)()
    sockets.wait_for_link(count=2, timeout=45)
    envelope_id, url = slash_command(sockets, slack, "/csat", "last week")
    sockets.wait_for_ack(envelope_id)
    assert "*50%* CSAT" in readable(slack.wait_for_response(url)[0])


def test_when_slack_refuses_at_first_it_tries_again_and_serves_webhooks_meanwhile(
        sqlite_url: str, slack: SlackStandIn, sockets: SocketModeStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    slack.failures["apps.connections.open"] = ["internal_error"]
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    running = serve_the_team(sqlite_url, slack, monkeypatch, signing_secret=None)
    try:
        slack.wait_for_call("apps.connections.open")
        assert httpx.get(running.base_url + "/healthz").status_code == 200
        sockets.wait_for_link()
        assert len(slack.calls_to("apps.connections.open")) == 2
        # without a signing secret nothing over HTTP can be trusted to come from Slack
        refused = httpx.post(running.base_url + "/slack/events", content=b"command=%2Fcsat")
        assert refused.status_code == 503
    finally:
        running.stop()


def test_a_refused_websocket_is_tried_again_with_a_new_url(
        database_url: str, slack: SlackStandIn, sockets: SocketModeStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = sockets.new_url()
    assert sockets.take_ticket(stale.split("ticket=")[1].split("&")[0])  # used up: Slack refuses the handshake
    urls = iter([stale])
    slack.socket_url = lambda: next(urls, None) or sockets.new_url()
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    running = serve_the_team(database_url, slack, monkeypatch, signing_secret=None)
    try:
        sockets.wait_for_link()
        assert len(slack.calls_to("apps.connections.open")) == 2
        envelope_id, url = slash_command(sockets, slack, "/volume", "last week")
        sockets.wait_for_ack(envelope_id)
        assert "No tickets yet" in readable(slack.wait_for_response(url)[0])  # answered, on the new connection
        # the refused attempt's socket was closed by the bot, not left open (or to the garbage collector,
        # which pytest reports as an unraisable ResourceWarning, an error here)
        assert sockets.sockets_from_this_process() == ["ESTABLISHED"]
    finally:
        running.stop()


def test_after_a_cut_connection_it_answers_again_soon_without_burning_cpu(
        sqlite_url: str, slack: SlackStandIn, sockets: SocketModeStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    """A connection cut under the bot (no WebSocket close) costs seconds of deafness, not a spinning core."""
    monkeypatch.setenv("SLACK_APP_TOKEN", APP_TOKEN)
    running = serve_the_team(sqlite_url, slack, monkeypatch, signing_secret=None)
    try:
        sockets.wait_for_link()
        started, cpu_before = time.monotonic(), time.process_time()
        sockets.drop()
        sockets.wait_for_link(count=2, timeout=45)
        envelope_id, url = slash_command(sockets, slack, "/volume", "last week")
        sockets.wait_for_ack(envelope_id)
        assert "No tickets yet" in readable(slack.wait_for_response(url)[0])
        seconds, cpu_seconds = time.monotonic() - started, time.process_time() - cpu_before
        print(f"answering again after the cut: {seconds:.1f} s, {cpu_seconds:.2f} CPU-seconds")
        assert seconds < CUT_RECOVERY_SECONDS
        assert cpu_seconds < CUT_RECOVERY_CPU_SECONDS
        assert sockets.sockets_from_this_process() == ["ESTABLISHED"]  # the cut one is closed too
    finally:
        running.stop()
