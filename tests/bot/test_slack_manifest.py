"""The app manifest in the repository creates exactly the app the code serves."""

from __future__ import annotations

import json
from pathlib import Path

from bot.slack.app import EVENTS_PATH
from bot.slack.commands import COMMANDS

MANIFEST = json.loads((Path(__file__).resolve().parents[2] / "slack-app-manifest.json").read_text())


def test_every_slash_command_is_declared_and_served() -> None:
    declared = {c["command"]: c["url"] for c in MANIFEST["features"]["slash_commands"]}
    assert set(declared) == set(COMMANDS)
    assert all(url.endswith(EVENTS_PATH) for url in declared.values())


def test_the_bot_asks_for_the_scopes_it_uses_and_no_more() -> None:
    # commands: slash commands; chat:write: Share in channel (and digests); files:write: charts;
    # usergroups:read: who may see numbers per agent; channels:history and groups:history: before a
    # digest is posted again after an unclear failure, whether it is in the channel already.
    assert sorted(MANIFEST["oauth_config"]["scopes"]["bot"]) == [
        "channels:history", "chat:write", "commands", "files:write", "groups:history", "usergroups:read"]
    assert "user" not in MANIFEST["oauth_config"]["scopes"]


def test_events_and_buttons_reach_the_same_route() -> None:
    settings = MANIFEST["settings"]
    assert settings["event_subscriptions"]["request_url"].endswith(EVENTS_PATH)
    assert settings["interactivity"]["request_url"].endswith(EVENTS_PATH)
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
