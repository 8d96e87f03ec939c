"""Anomaly alerts end to end: switched on from Slack, evaluated by the scheduler's alerter against
the Slack stand-in, each incident posted once, updated in its thread, closed when normal.

The team works in Berlin. On the four Tuesdays before 24 November 2026, 20 chat tickets arrived
between 09:00 and 10:00 and got a first reply after 3 minutes. On Tuesday 24 November, 50 arrived
in that hour and waited 10 minutes, answered by Ana and Ben. At 10:00 that is an incident: first
response 3m → 10m on chat, volume 20 → 50, and chat's 5-minute SLA missed by all 50.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import httpx
import pytest

from bot.alerts.notify import Alerter
from bot.scheduler import alerter
from bot.settings import Settings
from storage import incidents, subscriptions
from tests.e2e.test_slack_commands import answer_of, command, readable, signed
from tests.support.scenarios import Story
from tests.support.server import RunningServer, start_server
from tests.support.signing import deskpulse_request
from tests.support.slack_standin import SlackStandIn
from tests.support.slack_team import configure, standin_on

BERLIN = ZoneInfo("Europe/Berlin")
TEN = datetime(2026, 11, 24, 10, 0, tzinfo=BERLIN)
CHANNEL = "CALERTS001"


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    standin = standin_on(TEN)
    yield standin
    standin.stop()


@pytest.fixture
def bot(database_url: str, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    stories = []
    for weeks in range(1, 5):
        start = datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN) - timedelta(weeks=weeks)
        for n in range(20):
            stories.append(Story(f"w{weeks}-{n}", start + timedelta(minutes=2 * n)).opened("chat")
                           .customer("+0m").agent("+3m", "Ana").solved("+20m"))
    for n in range(50):
        stories.append(Story(f"t-{n}", datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN) + timedelta(minutes=n))
                       .opened("chat", subject=f"Order {n} late").customer("+0m")
                       .agent("+10m", "Ana" if n % 2 else "Ben").solved("+15m"))
    with team_at_ten(database_url, slack, monkeypatch, stories) as running:
        yield running


@contextmanager
def team_at_ten(database_url: str, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch,
                stories: list[Story]) -> Iterator[RunningServer]:
    """deskpulse for the Berlin team at 10:00 on the test day, with the stories' tickets sent and processed."""
    configure(monkeypatch, database_url, slack)
    running = start_server(clock=lambda: TEN)
    try:
        send(running, stories)
        yield running
    finally:
        running.stop()


def send(running: RunningServer, stories: list[Story]) -> None:
    """The stories' events, as the helpdesk sent them by 10:00, processed."""
    events = [e for s in stories for e in s.events]
    for i in range(0, len(events), 100):
        body, headers = deskpulse_request({"version": 1, "events": events[i:i + 100]}, timestamp=int(TEN.timestamp()))
        assert running.post("/webhooks/deskpulse", body, headers).status_code == 202
    running.wait_processed(timeout=60)


def switched_on(bot: RunningServer, slack: SlackStandIn, words: str = "alerts on") -> dict[str, Any]:
    return answer_of(bot, slack, "/deskpulse", words, channel=CHANNEL)


def the_alerter(bot: RunningServer) -> Alerter:
    return alerter(Settings(), bot.sessions)


def alerts_posted(slack: SlackStandIn) -> list[dict[str, Any]]:
    return slack.messages_in(CHANNEL, top_level=True)


def thread_of(slack: SlackStandIn, ts: str) -> list[dict[str, Any]]:
    return [m for m in slack.messages_in(CHANNEL) if m.get("thread_ts") == ts]


def alert_about(slack: SlackStandIn, words: str) -> dict[str, Any]:
    return next(m for m in alerts_posted(slack) if words in readable(m))


def click(bot: RunningServer, slack: SlackStandIn, message: dict[str, Any], label: str) -> str:
    button = next(e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]
                  if e["text"]["text"] == label)
    url = slack.response_url()
    payload = {"type": "block_actions", "user": {"id": "ULEAD0001"}, "channel": {"id": CHANNEL},
               "team": {"id": "T1"}, "response_url": url, "trigger_id": "1.2.3", "container": {},
               "message": message, "actions": [{"action_id": button["action_id"], "value": button["value"],
                                                "block_id": "b", "type": "button"}]}
    body = urlencode({"payload": json.dumps(payload)})
    assert httpx.post(bot.base_url + "/slack/events", content=body, headers=signed(body), timeout=3).status_code == 200
    return url


def test_a_spike_in_first_response_and_volume_pings_the_channel_with_what_to_do(
        bot: RunningServer, slack: SlackStandIn) -> None:
    assert "switched alerts on for this channel" in readable(switched_on(bot, slack))
    assert the_alerter(bot).check(TEN) == 5
    frt = readable(alert_about(slack, "Median first response on chat"))
    assert "3m → 10m" in frt and "50 first responses" in frt and "3.3× the usual" in frt
    assert "Agents needed now:" in frt and "2 replied in the last hour" in frt and "more needed" in frt
    team = readable(alert_about(slack, "Median first response:"))
    assert "*Driven by:* chat" in team
    volume = readable(alert_about(slack, "New tickets on chat"))
    assert "20 → 50" in volume and "2.5× the usual" in volume
    assert "SLA attainment: 100% → 0%" in readable(alerts_posted(slack)[-1])  # chat's target is 5m
    assert not any("backlog" in readable(m).lower() or "resolution" in readable(m).lower()
                   for m in alerts_posted(slack))  # faster resolutions are no incident


def test_one_incident_one_alert_however_often_and_by_however_many_replicas(
        bot: RunningServer, slack: SlackStandIn) -> None:
    switched_on(bot, slack)
    replicas = [the_alerter(bot) for _ in range(3)]
    barrier = threading.Barrier(len(replicas))

    def run(a: Alerter) -> None:
        barrier.wait()
        a.check(TEN)

    threads = [threading.Thread(target=run, args=(a,)) for a in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(alerts_posted(slack)) == 5
    assert the_alerter(bot).check(TEN + timedelta(minutes=5)) == 0  # within the cooldown: no update
    assert len(alerts_posted(slack)) == 5


def test_an_incident_gets_updates_in_its_thread_then_back_to_normal(bot: RunningServer, slack: SlackStandIn) -> None:
    switched_on(bot, slack)
    a = the_alerter(bot)
    a.check(TEN)
    frt = alert_about(slack, "Median first response on chat")
    assert a.check(TEN + timedelta(minutes=31)) >= 1  # still unusual half an hour later: an update
    assert any("Still unusual" in readable(m) for m in thread_of(slack, frt["ts"]))
    assert a.check(TEN + timedelta(hours=3)) == 5  # a quiet hour: every incident closes
    assert any("Back to normal" in readable(m) for m in thread_of(slack, frt["ts"]))
    with bot.sessions() as session:
        plan = subscriptions.alert_plans(session, CHANNEL)[0]
        assert incidents.open_incidents(session, plan.id) == {}
    assert len(alerts_posted(slack)) == 5


def test_buttons_acknowledge_mute_and_show_the_tickets(bot: RunningServer, slack: SlackStandIn) -> None:
    switched_on(bot, slack)
    the_alerter(bot).check(TEN)
    frt = alert_about(slack, "Median first response on chat")
    click(bot, slack, frt, "Acknowledge")
    slack.wait_for_call("chat.postMessage")
    deadline = time.monotonic() + 10
    while not any("is on it" in readable(m) for m in thread_of(slack, frt["ts"])) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any("<@ULEAD0001> is on it." in readable(m) for m in thread_of(slack, frt["ts"]))
    shown = slack.wait_for_response(click(bot, slack, frt, "Show tickets"))[0]
    assert shown["response_type"] == "ephemeral" and "deskpulse:t-" in readable(shown)
    click(bot, slack, frt, "Mute 1 h")
    deadline = time.monotonic() + 10
    while not any("muted this alert" in readable(m) for m in thread_of(slack, frt["ts"])) \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    with bot.sessions() as session:
        plan = subscriptions.alert_plans(session, CHANNEL)[0]
    assert plan.muted_signal == "frt:chat" and plan.muted("frt:chat", TEN + timedelta(minutes=59))


def test_muted_alerts_stay_quiet_and_off_means_off(bot: RunningServer, slack: SlackStandIn) -> None:
    switched_on(bot, slack)
    assert "muted alerts here for 2h" in readable(switched_on(bot, slack, "alerts mute 2h"))
    assert the_alerter(bot).check(TEN) == 0
    assert "Alerts are on in this channel, muted until" in readable(switched_on(bot, slack, "alerts"))
    switched_on(bot, slack, "alerts off")
    assert the_alerter(bot).check(TEN + timedelta(hours=3)) == 0 and alerts_posted(slack) == []


def test_alerts_read_the_hour_of_the_week_in_the_subscriptions_time_zone(
        bot: RunningServer, slack: SlackStandIn) -> None:
    said = readable(switched_on(bot, slack, "alerts on channel:chat tz:America/New_York"))
    assert "for this channel (only `channel:chat`) in America/New_York time:" in said
    with bot.sessions() as session:
        plan = subscriptions.alert_plans(session, CHANNEL)[0]
    assert (plan.timezone, plan.filters) == ("America/New_York", "channel:chat")
    the_alerter(bot).check(TEN)
    frt = readable(alert_about(slack, "Median first response"))  # 10:00 in Berlin is 04:00 in New York
    assert "Tue 24 Nov 2026 03:00 → Tue 24 Nov 2026 04:00 (America/New_York, end excluded)" in frt


@pytest.mark.parametrize("words, says", [
    ("alerts on tz:Mars/Base", "`Mars/Base` is not a time zone I know"),
    ("alerts mute forever", "Say for how long"),
    ("alerts mute 2h speed", "Mute one of `volume`"),
    ("alerts on chanel:chat", "Did you mean `channel`?"),
    ("alerts maybe", "I couldn't read `maybe`"),
])
def test_an_alerts_command_that_cannot_be_read_is_answered_at_once(
        bot: RunningServer, slack: SlackStandIn, words: str, says: str) -> None:
    acked, _ = command(bot, slack, "/deskpulse", words, channel=CHANNEL)
    assert acked.status_code == 200 and says in acked.text
