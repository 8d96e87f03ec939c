"""A team alert names the agent whose tickets drive it, only where numbers per agent may be shown.

On the four Tuesdays before 24 November 2026 (Berlin), 30 chat tickets arrived between 09:00 and
09:40, half assigned to Ana, half to Ben, each answered after 3 minutes. On Tuesday 24 November
Ana's 12 were answered after 4 minutes, Ben's 18 after 15: the team's first response went from 3m
to 15m and chat's 5-minute target was missed on Ben's tickets. Ben's tickets drive both.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from tests.e2e.test_alerts import BERLIN, CHANNEL, TEN, alert_about, switched_on, team_at_ten, the_alerter
from tests.e2e.test_slack_commands import readable
from tests.support.scenarios import Story
from tests.support.server import RunningServer
from tests.support.slack_standin import SlackStandIn
from tests.support.slack_team import standin_on

ANA, BEN = {"id": "ana", "name": "Ana"}, {"id": "ben", "name": "Ben"}


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    standin = standin_on(TEN)
    yield standin
    standin.stop()


def answered(name: str, start: datetime, assignee: dict[str, str], after: str) -> Story:
    return (Story(name, start).opened("chat", assignee=assignee).customer("+0m")
            .agent(after, assignee["name"]).solved("+30m"))


@pytest.fixture
def bot(database_url: str, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    nine = datetime(2026, 11, 24, 9, 0, tzinfo=BERLIN)
    stories = [answered(f"w{weeks}-{n}", nine - timedelta(weeks=weeks) + timedelta(seconds=80 * n),
                        ANA if n % 2 else BEN, "+3m") for weeks in range(1, 5) for n in range(30)]
    stories += [answered(f"t-{n}", nine + timedelta(seconds=80 * n), ANA if n < 12 else BEN,
                         "+4m" if n < 12 else "+15m") for n in range(30)]
    with team_at_ten(database_url, slack, monkeypatch, stories) as running:
        yield running


def test_an_alert_in_a_channel_allowed_to_see_agents_names_the_agent_driving_it(
        bot: RunningServer, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKPULSE_AGENT_METRICS_CHANNELS", CHANNEL)
    switched_on(bot, slack)
    the_alerter(bot).check(TEN)
    frt = readable(alert_about(slack, "Median first response:"))
    assert "3m → 15m" in frt and "*Driven by:* chat · agent Ben" in frt  # Ana was a minute slower too
    sla = readable(alert_about(slack, "SLA attainment:"))
    assert "100% → 40%" in sla and "*Driven by:* agent Ben" in sla


def test_an_alert_elsewhere_names_no_agent(bot: RunningServer, slack: SlackStandIn,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESKPULSE_AGENT_METRICS_CHANNELS", "CLEADS0001")
    switched_on(bot, slack)
    the_alerter(bot).check(TEN)
    frt = readable(alert_about(slack, "Median first response:"))
    assert "*Driven by:* chat" in frt and "Ben" not in frt and "agent" not in frt.split("Driven by")[1].split("\n")[0]
