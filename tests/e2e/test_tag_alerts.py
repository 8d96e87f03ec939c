"""A surge in one kind of ticket is an alert even when the total looks ordinary.

On the four Tuesdays before 24 November 2026, 30 email tickets arrived between 09:00 and 10:00
(Berlin): 26 tagged `shipping`, 4 tagged `refund`. On Tuesday 24 November the shipping questions
came as usual but 16 refund requests arrived: 30 → 42 in all is within the usual range, the
refunds (4 → 16) are not.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from tests.e2e.test_alerts import (
    BERLIN,
    TEN,
    alert_about,
    alerts_posted,
    click,
    switched_on,
    team_at_ten,
    the_alerter,
)
from tests.e2e.test_slack_commands import readable
from tests.support.scenarios import Story
from tests.support.server import RunningServer
from tests.support.slack_standin import SlackStandIn
from tests.support.slack_team import standin_on


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    standin = standin_on(TEN)
    yield standin
    standin.stop()


def hour_of_tickets(name: str, start: datetime, tags: list[str]) -> list[Story]:
    return [Story(f"{name}-{n}", start + timedelta(seconds=3600 * n / len(tags))).opened("email", tags=[tag])
            .customer("+0m").agent("+30m", "Ana").solved("+40m") for n, tag in enumerate(tags)]


@pytest.fixture
def bot(database_url: str, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    nine = datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN)
    usual = ["shipping"] * 26 + ["refund"] * 4
    stories = [s for weeks in range(1, 5)
               for s in hour_of_tickets(f"w{weeks}", nine - timedelta(weeks=weeks), usual)]
    stories += hour_of_tickets("today", nine, ["shipping"] * 26 + ["refund"] * 16)
    with team_at_ten(database_url, slack, monkeypatch, stories) as running:
        yield running


def test_a_surge_of_one_tag_pings_even_when_the_total_is_ordinary(bot: RunningServer, slack: SlackStandIn) -> None:
    switched_on(bot, slack)
    assert the_alerter(bot).check(TEN) == 1
    refunds = alert_about(slack, "New tickets on tag refund")
    assert "4 → 16" in readable(refunds) and "4.0× the usual" in readable(refunds)
    assert "Agents needed" not in readable(refunds)  # staffing targets are per channel, not per tag
    shown = slack.wait_for_response(click(bot, slack, refunds, "Show tickets"))[0]
    listed = [line for line in readable(shown).splitlines() if "deskpulse:" in line]
    assert len(listed) == 15 and all("deskpulse:today-" in line for line in listed)
    deadline = time.monotonic() + 5
    while len(alerts_posted(slack)) != 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(alerts_posted(slack)) == 1
