"""CSAT is judged over enough ratings to tell a fall from luck, and the alert names whose tickets
were rated down, where numbers per agent may be shown.

On the four Tuesdays before 24 November 2026 (Berlin), 84 email tickets arrived between 03:00 and
10:00, half assigned to Ana, half to Ben; 90% of their ratings were good. On Tuesday 24 November
a release broke order tracking: Ana's customers rated as usual, but most of Ben's, who took the
tracking questions, rated bad. The last hour's 12 ratings are too few to judge; the last hours'
are not.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from tests.e2e.test_alerts import (
    BERLIN,
    CHANNEL,
    TEN,
    alert_about,
    alerts_posted,
    switched_on,
    team_at_ten,
    the_alerter,
)
from tests.e2e.test_slack_commands import readable
from tests.support.scenarios import Story
from tests.support.server import RunningServer
from tests.support.slack_standin import SlackStandIn
from tests.support.slack_team import standin_on

ANA, BEN = {"id": "ana", "name": "Ana"}, {"id": "ben", "name": "Ben"}
THREE = datetime(2026, 11, 24, 3, 0, tzinfo=BERLIN)
TICKETS = 84  # one every 5 minutes from 03:00, rated 20 minutes after it opened


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    standin = standin_on(TEN)
    yield standin
    standin.stop()


def rated(name: str, start: datetime, assignee: dict[str, str], good: bool) -> Story:
    return (Story(name, start).opened("email", assignee=assignee).customer("+0m")
            .agent("+10m", assignee["name"]).solved("+15m").rated("+20m", 5 if good else 1))


@pytest.fixture
def bot(database_url: str, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    monkeypatch.setenv("DESKPULSE_AGENT_METRICS_CHANNELS", CHANNEL)
    stories = [rated(f"w{weeks}-{n}", THREE - timedelta(weeks=weeks) + timedelta(minutes=5 * n),
                     ANA if n % 2 else BEN, n % 10 != 0) for weeks in range(1, 5) for n in range(TICKETS)]
    stories += [rated(f"t-{n}", THREE + timedelta(minutes=5 * n), ANA if n % 2 else BEN,
                      n % 2 == 1 or n % 3 == 0) for n in range(TICKETS)]  # Ben's: 1 in 3 good
    with team_at_ten(database_url, slack, monkeypatch, stories) as running:
        yield running


def test_a_fall_in_csat_over_the_last_hours_pings_and_names_the_agent(bot: RunningServer,
                                                                       slack: SlackStandIn) -> None:
    switched_on(bot, slack)
    the_alerter(bot).check(TEN)
    csat = readable(alert_about(slack, "CSAT"))
    assert "90% → 67.5%* over the last 12 hours (80 ratings)" in csat and "(pooled over 4 weeks)" in csat
    assert "*Driven by:* agent Ben" in csat
    assert sum("CSAT" in readable(m) for m in alerts_posted(slack)) == 1
