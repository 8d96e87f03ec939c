"""Digests end to end: set from Slack, posted by the scheduler's poster to a local Slack stand-in,
each period exactly once, whatever Slack or the other replicas do.

The team works in Berlin. Monday 23 November 2026: three new tickets (chat 3m and 5m to a first
reply, email 2h), one solved. Sunday 22 November: none. The Mondays before had 1, 2, 1 and 2 new
tickets, so the usual Monday has 1.5. The daily digest at 09:00 on Tuesday reports Monday.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.digest.post import EVENT_TYPE, LEASE, Poster
from bot.scheduler import digest_poster
from bot.settings import Settings
from storage import scheduled_posts, subscriptions
from storage.db import unit_of_work
from storage.subscriptions import DigestPlan
from tests.e2e.test_slack_commands import answer_of, command, readable
from tests.support.scenarios import Story
from tests.support.server import RunningServer, start_server
from tests.support.signing import deskpulse_request
from tests.support.slack_standin import SlackStandIn
from tests.support.slack_team import configure, standin_on

BERLIN = ZoneInfo("Europe/Berlin")
TUESDAY_9 = datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN)
CHANNEL = "CDIGEST001"
SERVER_NOW = TUESDAY_9 - timedelta(hours=2)  # the server's clock; each test gives the poster its own


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    standin = standin_on(TUESDAY_9)
    yield standin
    standin.stop()


@pytest.fixture
def bot(database_url: str, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    configure(monkeypatch, database_url, slack)
    running = start_server(clock=lambda: SERVER_NOW)
    try:
        _send_history(running)
        yield running
    finally:
        running.stop()


def _send_history(bot: RunningServer) -> None:
    monday = datetime(2026, 11, 23, 10, 0, tzinfo=BERLIN)
    stories = [
        Story("1", monday).opened("chat", tags=["shipping"]).customer("+0m").agent("+3m", "Ana").solved("+20m"),
        Story("2", monday).opened("chat", tags=["billing"]).customer("+0m").agent("+5m", "Ben"),
        Story("3", monday).opened("email", tags=["shipping"]).customer("+0m").agent("+2h", "Ana"),
    ]
    for weeks, tickets in ((1, 1), (2, 2), (3, 1), (4, 2)):
        for n in range(tickets):
            stories.append(Story(f"w{weeks}-{n}", monday - timedelta(weeks=weeks)).opened("chat").customer("+0m"))
    for story in stories:
        body, headers = deskpulse_request(story.body(), timestamp=int(SERVER_NOW.timestamp()))
        assert bot.post("/webhooks/deskpulse", body, headers).status_code == 202
    bot.wait_processed()


def subscribe(bot: RunningServer, text: str = "daily 09:00", *, at: datetime) -> None:
    with unit_of_work(bot.sessions) as session:
        words = text.split()
        subscriptions.save_digest(session, DigestPlan(
            channel_id=CHANNEL, cadence=words[0], at_time=words[-1], timezone="Europe/Berlin",
            weekday=0 if words[0] == "weekly" else None), created_by="ULEAD0001", now=at)


def poster(bot: RunningServer) -> Poster:
    return digest_poster(Settings(), bot.sessions)


def top_messages(slack: SlackStandIn) -> list[dict]:
    return slack.messages_in(CHANNEL, top_level=True)


def thread_of(slack: SlackStandIn, ts: str) -> list[dict]:
    return [m for m in slack.messages_in(CHANNEL) if m.get("thread_ts") == ts]


def test_the_morning_digest_reports_yesterday_against_the_day_before_and_the_usual_monday(
        bot: RunningServer, slack: SlackStandIn) -> None:
    subscribe(bot, at=TUESDAY_9 - timedelta(days=1))
    assert poster(bot).post_due(TUESDAY_9 + timedelta(seconds=20)) == 1
    [top] = top_messages(slack)
    text = readable(top)
    assert "Daily digest · Monday 23 Nov" in text
    assert "*New tickets:* 3   ▲ 3" in text and "usual 1.5" in text  # Sunday had none
    assert "*First response, median:* 5m" in text
    assert "Mon 23 Nov 2026 00:00 → Tue 24 Nov 2026 00:00 (Europe/Berlin, end excluded)" in text
    assert top["metadata"]["event_type"] == EVENT_TYPE
    thread = thread_of(slack, top["ts"])
    details = "\n".join(readable(m) for m in thread)
    assert "First response time · Monday 23 Nov" in details and "by channel" in details
    assert "Top tags:" in details and "`shipping` 2" in details
    assert any(f["name"].endswith(".png") for m in thread for f in m.get("files", []))
    assert "Agents" not in details  # per-agent numbers only in the channels allowed to see them


def test_each_digest_is_posted_once_however_often_the_scheduler_runs(bot: RunningServer, slack: SlackStandIn) -> None:
    subscribe(bot, at=TUESDAY_9 - timedelta(days=1))
    first = poster(bot)
    assert first.post_due(TUESDAY_9) == 1
    for minutes in (1, 10, 60 * 5):
        assert first.post_due(TUESDAY_9 + timedelta(minutes=minutes)) == 0
        assert poster(bot).post_due(TUESDAY_9 + timedelta(minutes=minutes)) == 0  # another replica
    assert len(top_messages(slack)) == 1


def test_two_replicas_at_the_same_moment_post_one_digest(bot: RunningServer, slack: SlackStandIn) -> None:
    subscribe(bot, at=TUESDAY_9 - timedelta(days=1))
    replicas = [poster(bot) for _ in range(4)]
    start = threading.Barrier(len(replicas))

    def run(p: Poster) -> None:
        start.wait()
        p.post_due(TUESDAY_9 + timedelta(seconds=5))

    threads = [threading.Thread(target=run, args=(p,)) for p in replicas]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(top_messages(slack)) == 1
    [top] = top_messages(slack)
    parts = [m["metadata"]["event_payload"]["part"] for m in thread_of(slack, top["ts"]) if "metadata" in m]
    assert parts == sorted(set(parts))  # no part twice


def test_a_5xx_after_slack_posted_does_not_post_the_digest_twice(bot: RunningServer, slack: SlackStandIn) -> None:
    subscribe(bot, at=TUESDAY_9 - timedelta(days=1))
    slack.answers_lost["chat.postMessage"] = 1  # the top message is posted, its answer is a 500
    p = poster(bot)
    assert p.post_due(TUESDAY_9) == 0  # released for a retry
    assert len(top_messages(slack)) == 1
    assert p.post_due(TUESDAY_9 + timedelta(minutes=1)) == 1  # finds its message, posts the thread
    [top] = top_messages(slack)
    assert thread_of(slack, top["ts"]) and len(top_messages(slack)) == 1
    assert slack.calls_to("conversations.history")


def test_a_process_that_died_midway_is_finished_by_another_without_repeats(
        bot: RunningServer, slack: SlackStandIn) -> None:
    subscribe(bot, at=TUESDAY_9 - timedelta(days=1))
    with unit_of_work(bot.sessions) as session:
        plan = subscriptions.digests(session, CHANNEL)[0]
        dead = scheduled_posts.claim(session, plan.id, "2026-11-23", holder="dead", now=TUESDAY_9, lease=LEASE)
    assert dead is not None
    # the dead process had posted the top message, then the first thread part
    top = slack.post({"channel": CHANNEL, "text": "digest", "metadata": {
        "event_type": EVENT_TYPE, "event_payload": {"subscription": plan.id, "period": "2026-11-23", "part": 0}}})
    slack.post({"channel": CHANNEL, "thread_ts": top["ts"], "text": "details", "metadata": {
        "event_type": EVENT_TYPE, "event_payload": {"subscription": plan.id, "period": "2026-11-23", "part": 1}}})
    p = poster(bot)
    assert p.post_due(TUESDAY_9 + timedelta(minutes=1)) == 0  # still within the dead holder's lease
    assert p.post_due(TUESDAY_9 + LEASE + timedelta(minutes=1)) == 1
    assert len(top_messages(slack)) == 1
    parts = [m["metadata"]["event_payload"]["part"] for m in thread_of(slack, top["ts"]) if "metadata" in m]
    assert parts.count(1) == 1 and len(parts) == len(set(parts))


def test_rate_limits_are_waited_out(bot: RunningServer, slack: SlackStandIn) -> None:
    subscribe(bot, at=TUESDAY_9 - timedelta(days=1))
    slack.rate_limits["chat.postMessage"] = 1
    assert poster(bot).post_due(TUESDAY_9) == 1
    assert len(top_messages(slack)) == 1


def test_a_digest_missed_while_down_is_posted_late_within_the_grace_period_only(
        bot: RunningServer, slack: SlackStandIn) -> None:
    subscribe(bot, at=TUESDAY_9 - timedelta(days=1))
    assert poster(bot).post_due(TUESDAY_9 + timedelta(hours=7)) == 0  # past the 6 hours of grace
    assert poster(bot).post_due(TUESDAY_9 + timedelta(hours=2)) == 1
    assert len(top_messages(slack)) == 1


def test_a_channel_the_bot_is_not_in_gets_no_retries_and_the_reason_is_kept(
        bot: RunningServer, slack: SlackStandIn) -> None:
    subscribe(bot, at=TUESDAY_9 - timedelta(days=1))
    slack.channels_without_bot.add(CHANNEL)
    assert poster(bot).post_due(TUESDAY_9) == 1
    with bot.sessions() as session:
        plan = subscriptions.digests(session, CHANNEL)[0]
        [post] = scheduled_posts.posts(session, plan.id)
    assert post.state == "failed" and "/invite @deskpulse" in (post.error or "")
    assert poster(bot).post_due(TUESDAY_9 + timedelta(minutes=5)) == 0


def test_digests_are_set_listed_and_switched_off_from_slack(bot: RunningServer, slack: SlackStandIn) -> None:
    set_reply = answer_of(bot, slack, "/deskpulse", "digest daily 9am channel:chat", channel=CHANNEL)
    assert set_reply["response_type"] == "in_channel"
    assert "daily digest every day at 09:00 (Europe/Berlin): yesterday's numbers, only `channel:chat`" \
        in readable(set_reply)
    weekly = answer_of(bot, slack, "/deskpulse", "digest weekly monday 08:30 tz:America/New_York", channel=CHANNEL)
    assert "every Monday at 08:30 (America/New_York)" in readable(weekly)
    listed = readable(answer_of(bot, slack, "/deskpulse", "digest list", channel=CHANNEL))
    assert "daily digest" in listed and "weekly digest" in listed
    off = answer_of(bot, slack, "/deskpulse", "digest off daily", channel=CHANNEL)
    assert "switched off this channel's daily digest" in readable(off)
    with bot.sessions() as session:
        assert [p.cadence for p in subscriptions.digests(session, CHANNEL)] == ["weekly"]


@pytest.mark.parametrize("words, says", [
    ("digest daily 25:00", "I couldn't read the time `25:00`"),
    ("digest weekly 09:00", "Say which day the weekly digest comes"),
    ("digest hourly 09:00", "I couldn't read `hourly`"),
    ("digest daily 09:00 chanel:chat", "Did you mean `channel`?"),
    ("digest daily 09:00 tz:Mars/Base", "`Mars/Base` is not a time zone I know"),
])
def test_a_digest_command_that_cannot_be_read_is_answered_at_once(
        bot: RunningServer, slack: SlackStandIn, words: str, says: str) -> None:
    acked, _ = command(bot, slack, "/deskpulse", words, channel=CHANNEL)
    assert acked.status_code == 200 and says in acked.text
    with bot.sessions() as session:
        assert subscriptions.digests(session, CHANNEL) == []


def test_serve_posts_the_digests_fixed_in_the_environment(
        bot: RunningServer, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    bot.stop()  # the history stays in the database; deskpulse restarts at 09:00 with a fixed digest
    monkeypatch.setenv("DESKPULSE_DIGESTS", f"{CHANNEL} daily 09:00 channel:chat")
    restarted = start_server(clock=lambda: TUESDAY_9 + timedelta(seconds=10))
    try:
        slack.wait_for_call("files.completeUploadExternal", timeout=60)  # the digest's last step
        [top] = top_messages(slack)
        assert "Daily digest · Monday 23 Nov · chat" in readable(top)
        assert "*New tickets:* 2" in readable(top)
    finally:
        restarted.stop()


def test_a_holiday_is_marked_and_not_held_against_a_usual_day(
        bot: RunningServer, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKPULSE_HOLIDAYS_EXTRA", "2026-11-23")
    subscribe(bot, at=TUESDAY_9 - timedelta(days=1))
    assert poster(bot).post_due(TUESDAY_9) == 1
    text = readable(top_messages(slack)[0])
    assert "a public holiday, compared with the day before only" in text
    assert "· usual" not in text
    assert "*New tickets:* 3   ▲ 3" in text


def test_per_agent_lines_go_to_the_channels_allowed_to_see_them(
        bot: RunningServer, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKPULSE_AGENT_METRICS_CHANNELS", CHANNEL)
    subscribe(bot, at=TUESDAY_9 - timedelta(days=1))
    assert poster(bot).post_due(TUESDAY_9) == 1
    [top] = top_messages(slack)
    details = "\n".join(readable(m) for m in thread_of(slack, top["ts"]))
    assert "Agents · Monday 23 Nov" in details and "ana" in details.lower()


def test_a_weekly_digest_reports_last_week_against_the_week_before(bot: RunningServer, slack: SlackStandIn) -> None:
    monday_8 = datetime(2026, 11, 30, 9, 0, tzinfo=BERLIN)
    subscribe(bot, "weekly 09:00", at=monday_8 - timedelta(days=7))
    assert poster(bot).post_due(monday_8) == 1
    text = readable(top_messages(slack)[0])
    assert "Weekly digest · the week of 23 Nov" in text and "*New tickets:* 3   ▲ 2" in text
    assert "usual week (median of the last 4)" in text
