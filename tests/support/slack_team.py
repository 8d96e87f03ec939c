"""What the digest and alert tests share: Slack's stand-in living on the test's day, and a
deskpulse configured for a Berlin team that talks to it."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from tests.support.slack_standin import SlackStandIn, start_slack_standin


def standin_on(day: datetime) -> SlackStandIn:
    """A Slack stand-in whose message timestamps start at `day` (deskpulse looks up its own
    messages in the history by time)."""
    standin = start_slack_standin()
    started = time.time()
    standin.clock = lambda: day.timestamp() + (time.time() - started)
    return standin


def configure(monkeypatch: pytest.MonkeyPatch, database_url: str, slack: SlackStandIn) -> None:
    for name, value in {"DATABASE_URL": database_url, "DESKPULSE_TIMEZONE": "Europe/Berlin",
                        "DESKPULSE_WEBHOOK_SECRET": "deskpulse-test-secret", "SLACK_BOT_TOKEN": "xoxb-test",
                        "SLACK_SIGNING_SECRET": "slack-test-signing-secret", "SLACK_API_URL": slack.api_url}.items():
        monkeypatch.setenv(name, value)

