"""Slash commands end to end: signed requests over HTTP to `deskpulse serve`, answers read off a
local stand-in for Slack (which refuses blocks Slack would refuse).

The team works in Berlin; it is Tuesday 24 November 2026, 08:00. Last week (16-22 November) three
tickets got a first response (chat 3m, chat 5m, email 2h), the week before one (chat 10m).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import text

from tests.support.scenarios import Story
from tests.support.server import RunningServer, start_server
from tests.support.signing import deskpulse_request
from tests.support.slack_standin import SlackStandIn, start_slack_standin

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=BERLIN)
SIGNING_SECRET = "slack-test-signing-secret"
LEADS_CHANNEL, LEADS_GROUP = "CLEADS0001", "SLEADS0001"


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    standin = start_slack_standin()
    yield standin
    standin.stop()


def serve_the_team(database_url: str, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch, *,
           signing_secret: str | None = SIGNING_SECRET) -> RunningServer:
    """deskpulse serve for the team; without a signing secret it can only be reached over Socket Mode."""
    for name, value in {"DATABASE_URL": database_url, "DESKPULSE_TIMEZONE": "Europe/Berlin",
                        "DESKPULSE_WEBHOOK_SECRET": "deskpulse-test-secret", "SLACK_BOT_TOKEN": "xoxb-test",
                        "SLACK_SIGNING_SECRET": signing_secret, "SLACK_API_URL": slack.api_url,
                        "DESKPULSE_AGENT_METRICS_CHANNELS": LEADS_CHANNEL,
                        "DESKPULSE_AGENT_METRICS_USERGROUPS": LEADS_GROUP}.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return start_server(clock=lambda: NOW)


@pytest.fixture
def bot(database_url: str, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    running = serve_the_team(database_url, slack, monkeypatch)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def team(bot: RunningServer) -> RunningServer:
    send_the_two_weeks(bot)
    return bot


def send_the_two_weeks(bot: RunningServer) -> None:
    """The two weeks of the module docstring, sent as signed deskpulse-format webhooks."""
    mon, tue, wed = (datetime(2026, 11, d, 9, 0, tzinfo=BERLIN) for d in (16, 17, 18))
    week_before = datetime(2026, 11, 10, 11, 0, tzinfo=BERLIN)
    stories = [
        Story("1", mon).opened("chat", tags=["billing"]).customer("+0m").agent("+3m", "Ana").solved("+20m")
        .rated("+1h", 5),
        Story("2", tue).opened("chat", subject="<!channel> where is my order?", tags=["shipping"])
        .customer("+0m").agent("+5m", "Ben"),
        Story("3", wed).opened("email", tags=["<!here>"])
        .customer("+0m").agent("+2h", "Ana").solved("+3h").rated("+4h", 2),
        Story("4", week_before).opened("chat").customer("+0m").agent("+10m", "Ben").solved("+1h"),
    ]
    for story in stories:
        body, headers = deskpulse_request(story.body(), timestamp=int(NOW.timestamp()))
        assert bot.post("/webhooks/deskpulse", body, headers).status_code == 202
    bot.wait_processed()


def signed(body: str, *, secret: str = SIGNING_SECRET, at: float | None = None) -> dict[str, str]:
    ts = str(int(time.time() if at is None else at))
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"content-type": "application/x-www-form-urlencoded", "x-slack-request-timestamp": ts,
            "x-slack-signature": f"v0={digest}"}


def command(bot: RunningServer, slack: SlackStandIn, name: str, words: str = "", *,
            channel: str = "CSUPPORT01", user: str = "ULEAD0001") -> tuple[httpx.Response, str]:
    url = slack.response_url()
    body = urlencode({"command": name, "text": words, "response_url": url, "channel_id": channel,
                      "user_id": user, "team_id": "T1", "trigger_id": "1.2.3", "user_name": "lead"})
    return httpx.post(bot.base_url + "/slack/events", content=body, headers=signed(body), timeout=3), url


def answer_of(bot: RunningServer, slack: SlackStandIn, name: str, words: str = "", **kwargs: Any) -> dict[str, Any]:
    acked, url = command(bot, slack, name, words, **kwargs)
    assert acked.status_code == 200, acked.text
    return slack.wait_for_response(url)[0]


def readable(message: dict[str, Any]) -> str:
    """Every text a user reads in a message, top to bottom."""
    out = []
    for block in message.get("blocks") or []:
        for part in [block.get("text"), *(block.get("fields") or []), *(block.get("elements") or [])]:
            if isinstance(part, dict):
                out.append(part.get("text") if isinstance(part.get("text"), str) else (part.get("text") or {}).get(
                    "text", ""))
    return "\n".join(x for x in out if x)


def test_frt_last_week_gives_the_median_with_its_change_and_where_it_comes_from(
        team: RunningServer, slack: SlackStandIn) -> None:
    message = answer_of(team, slack, "/frt", "last week")
    shown = readable(message)
    assert message["response_type"] == "ephemeral"
    assert "First response time · last week" in shown
    assert "*5m* median" in shown
    assert "▼ 5m (-50%) · _good_" in shown and "10m in the week before" in shown
    assert "Mon 16 Nov 2026 00:00 → Mon 23 Nov 2026 00:00 (Europe/Berlin, end excluded)" in shown
    assert "based on 3 first responses" in shown
    assert "data as of Tue 24 Nov 2026 08:00" in shown
    assert "Definition: docs/metrics.md › First response time" in shown
    assert "Share in channel" in shown


def test_a_breakdown_by_channel_is_a_table(team: RunningServer, slack: SlackStandIn) -> None:
    shown = readable(answer_of(team, slack, "/frt", "last week by channel"))
    table = shown.split("```")[1]
    rows = {line.split()[0]: line.split()[1:] for line in table.splitlines()[1:]}
    assert rows["chat"][0] == "4m"  # median of 3m and 5m; 10m the week before
    assert rows["email"][0] == "2h"


def test_csat_counts_good_ratings_among_all(team: RunningServer, slack: SlackStandIn) -> None:
    shown = readable(answer_of(team, slack, "/csat", "last week"))
    assert "*50%* CSAT (good ratings)" in shown
    assert "based on 2 ratings" in shown


def test_an_empty_command_gets_a_sensible_default(team: RunningServer, slack: SlackStandIn) -> None:
    shown = readable(answer_of(team, slack, "/volume"))
    assert "Volume · the last 7 days" in shown


def test_deskpulse_takes_any_metric_and_explains_itself(team: RunningServer, slack: SlackStandIn) -> None:
    assert "CSAT · last week" in readable(answer_of(team, slack, "/deskpulse", "csat last week"))
    acked, _ = command(team, slack, "/deskpulse", "help")
    assert acked.status_code == 200
    assert "`/deskpulse <metric> [period]" in readable(acked.json())


def test_an_unreadable_query_is_answered_at_once_with_the_word_a_suggestion_and_examples(
        bot: RunningServer, slack: SlackStandIn) -> None:
    acked, _ = command(bot, slack, "/deskpulse", "frtt yesterday")
    shown = readable(acked.json())
    assert "`frtt`" in shown and "Did you mean `/frt`?" in shown and "For example:" in shown
    acked, _ = command(bot, slack, "/csat", "last fortnight")
    shown = readable(acked.json())
    assert "`fortnight`" in shown or "`last fortnight`" in shown
    assert "Traceback" not in shown


def test_ticket_text_cannot_ping_the_channel(team: RunningServer, slack: SlackStandIn) -> None:
    tags = readable(answer_of(team, slack, "/tags", "last week"))
    assert "&lt;!here&gt;" in tags and "<!here>" not in tags
    backlog = readable(answer_of(team, slack, "/backlog", "last week"))
    assert "&lt;!channel&gt; where is my order?" in backlog and "<!channel>" not in backlog


def test_no_data_yet_says_how_to_connect_a_helpdesk(bot: RunningServer, slack: SlackStandIn) -> None:
    shown = readable(answer_of(bot, slack, "/csat", "last week"))
    assert "No tickets yet" in shown and "deskpulse demo" in shown


def test_a_wrong_or_stale_signature_is_refused(bot: RunningServer, slack: SlackStandIn) -> None:
    body = urlencode({"command": "/csat", "text": "", "response_url": slack.response_url(), "channel_id": "C1",
                      "user_id": "U1"})
    wrong = httpx.post(bot.base_url + "/slack/events", content=body, headers=signed(body, secret="guess"))
    stale = httpx.post(bot.base_url + "/slack/events", content=body, headers=signed(body, at=time.time() - 600))
    assert (wrong.status_code, stale.status_code) == (401, 401)
    assert slack.responses == []


def test_per_agent_numbers_only_in_listed_channels_and_groups(team: RunningServer, slack: SlackStandIn) -> None:
    refused = readable(answer_of(team, slack, "/agents", "last week"))
    assert "private to the channels and user groups" in refused and "ana" not in refused
    refused_by = readable(answer_of(team, slack, "/frt", "last week by agent"))
    assert "private" in refused_by
    in_channel = readable(answer_of(team, slack, "/agents", "last week", channel=LEADS_CHANNEL))
    assert "ana" in in_channel and "ben" in in_channel  # agent ids: no assignment gave their names
    slack.usergroups[LEADS_GROUP] = ["ULEAD0001"]
    as_member = readable(answer_of(team, slack, "/frt", "last week by agent"))
    assert "by agent" in as_member
    assert slack.calls_to("usergroups.users.list")[0].token == "xoxb-test"


def _click_share(bot: RunningServer, slack: SlackStandIn, message: dict[str, Any], channel: str) -> str:
    button = next(e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"])
    url = slack.response_url()
    payload = {"type": "block_actions", "user": {"id": "ULEAD0001"}, "channel": {"id": channel},
               "team": {"id": "T1"}, "response_url": url, "trigger_id": "1.2.3",
               "actions": [{"action_id": button["action_id"], "value": button["value"], "type": "button"}]}
    body = urlencode({"payload": json.dumps(payload)})
    assert httpx.post(bot.base_url + "/slack/events", content=body, headers=signed(body)).status_code == 200
    return url


def test_share_in_channel_posts_the_same_answer_for_everyone(team: RunningServer, slack: SlackStandIn) -> None:
    private = answer_of(team, slack, "/frt", "last week")
    slack.rate_limits["chat.postMessage"] = 1  # Slack says 429 first: deskpulse waits and tries again
    url = _click_share(team, slack, private, "CSUPPORT01")
    assert slack.wait_for_response(url)[0] == {"delete_original": True}
    posts = slack.calls_to("chat.postMessage")
    assert len(posts) == 2 and posts[-1].args["channel"] == "CSUPPORT01"
    shared = readable(posts[-1].args)
    assert "Shared by <@ULEAD0001>" in shared and "*5m* median" in shared and "Share in channel" not in shared


def test_sharing_where_the_bot_is_not_invited_says_how_to_fix_it(team: RunningServer, slack: SlackStandIn) -> None:
    private = answer_of(team, slack, "/csat", "last week")
    slack.channels_without_bot.add("CPRIVATE01")
    url = _click_share(team, slack, private, "CPRIVATE01")
    shown = readable(slack.wait_for_response(url)[0])
    assert "not a member of this channel" in shown and "/invite @deskpulse" in shown


def test_a_failure_gets_an_apology_with_an_error_id_that_is_in_the_log(
        team: RunningServer, slack: SlackStandIn, caplog: pytest.LogCaptureFixture) -> None:
    with team.sessions() as session:
        session.execute(text("DROP TABLE ticket_spans"))  # a broken database, for real
        session.commit()
    with caplog.at_level(logging.ERROR):
        shown = readable(answer_of(team, slack, "/volume", "last week"))
    assert "Sorry" in shown and "Traceback" not in shown
    error_id = shown.split("error id `")[1].split("`")[0]
    assert any(error_id in r.getMessage() for r in caplog.records)


def test_the_acknowledgement_does_not_wait_for_a_slow_slack(team: RunningServer, slack: SlackStandIn) -> None:
    slack.delay_seconds = 4  # the Web API and response URLs take 4 s to answer
    acked, url = command(team, slack, "/frt", "last week")  # the client gives up after 3 s
    assert acked.status_code == 200
    assert "*5m* median" in readable(slack.wait_for_response(url)[0])


def test_a_chart_is_posted_in_the_channel_and_the_answer_says_so(team: RunningServer, slack: SlackStandIn) -> None:
    shown = readable(answer_of(team, slack, "/frt", "last 14 days chart"))
    assert "The chart is posted in this channel." in shown
    assert "*by day*" in shown  # the series the chart draws, as a table
    done = slack.wait_for_call("files.completeUploadExternal")
    assert done.args["channel_id"] == "CSUPPORT01" and "asked `/frt last 14 days chart`" in done.args[
        "initial_comment"]
    png = next(iter(slack.uploads.values()))
    assert png.startswith(b"\x89PNG") and len(png) > 10_000


def test_a_chart_of_agents_is_not_posted_where_the_channel_may_not_see_it(
        team: RunningServer, slack: SlackStandIn) -> None:
    slack.usergroups[LEADS_GROUP] = ["ULEAD0001"]  # the lead may see it, the channel may not
    shown = readable(answer_of(team, slack, "/frt", "last week by agent chart"))
    assert "by agent" in shown and "posted only in the channels allowed" in shown
    assert slack.calls_to("files.getUploadURLExternal") == []


def test_a_chart_where_the_bot_is_not_invited_says_how_to_fix_it(team: RunningServer, slack: SlackStandIn) -> None:
    slack.channels_without_bot.add("CPRIVATE01")
    shown = readable(answer_of(team, slack, "/volume", "last week by channel chart", channel="CPRIVATE01"))
    assert "The chart could not be posted" in shown and "/invite @deskpulse" in shown


def _open_home(bot: RunningServer, user: str = "ULEAD0001") -> None:
    event = {"type": "event_callback", "team_id": "T1", "api_app_id": "A1", "event_id": "Ev1", "event_time": 1,
             "event": {"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home"}}
    body = json.dumps(event)
    headers = {**signed(body), "content-type": "application/json"}
    assert httpx.post(bot.base_url + "/slack/events", content=body, headers=headers).status_code == 200


def test_app_home_shows_today_the_last_7_days_and_service_levels(team: RunningServer, slack: SlackStandIn) -> None:
    _open_home(team)
    published = slack.wait_for_call("views.publish")
    assert published.args["user_id"] == "ULEAD0001"
    shown = readable(json.loads(published.args["view"]) if isinstance(published.args["view"], str)
                     else published.args["view"])
    assert "Today so far" in shown and "The last 7 days" in shown
    assert "*First response time* (median)\n1h 2m" in shown  # 5m and 2h from 17 to 23 November
    assert "*chat*: first response 5m (average)" in shown and "*CSAT*\n0%" in shown
    assert "Data as of Tue 24 Nov 2026 08:00 (Europe/Berlin)" in shown


def test_app_home_without_data_says_how_to_start(bot: RunningServer, slack: SlackStandIn) -> None:
    _open_home(bot)
    view = slack.wait_for_call("views.publish").args["view"]
    assert "No tickets yet" in readable(json.loads(view) if isinstance(view, str) else view)
