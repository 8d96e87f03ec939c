"""`deskpulse doctor` after real requests to the running server: it names what to fix (docs/doctor.md)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from bot.cli import cli
from storage import rollups, tickets
from storage.db import make_engine, make_sessions, unit_of_work
from storage.migrate import upgrade
from tests.support.server import RunningServer
from tests.support.signing import signed_request
from tests.support.tickets import TicketStory


def doctor(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["doctor", *args])
    return result.exit_code, result.output


def test_a_wrong_zendesk_secret_is_found_and_explained(server: RunningServer) -> None:
    for n in range(2):
        body, headers = signed_request("zendesk", {"id": f"e{n}"}, secret="the-secret-zendesk-really-has")
        assert server.post("/webhooks/zendesk", body, headers).status_code == 401
    body, headers = signed_request("deskpulse", {"version": 1, "events": []})
    assert server.post("/webhooks/deskpulse", body, headers).status_code in (200, 202)
    code, output = doctor()
    assert code == 1
    assert ("✗ zendesk: ZENDESK_WEBHOOK_SECRET is set but 2 requests to /webhooks/zendesk failed the signature "
            "check in the last 24 h (bad_signature ×2): the secret in Zendesk and here differ") in output
    assert "• slack: Slack is not configured" in output
    assert "deskpulse  secret set · last delivery 0s ago" in output
    code, raw = doctor("--json")
    report = json.loads(raw)
    assert code == 1 and report["exit_code"] == 1
    assert [f["subject"] for f in report["findings"] if f["level"] == "fix"] == ["zendesk"]


def test_a_missing_database_file_is_reported_not_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nowhere.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{missing}")
    code, output = doctor()
    assert code == 1 and "cannot be read (the file does not exist yet)" in output
    assert not missing.exists()


def test_days_without_daily_measures_are_counted_until_they_are_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Tickets from ten days ago on, and no `serve` yet to build their days."""
    url = f"sqlite:///{tmp_path / 'deskpulse.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DESKPULSE_TIMEZONE", "Europe/Berlin")
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    berlin, opened = ZoneInfo("Europe/Berlin"), datetime.now(UTC) - timedelta(days=10)
    with unit_of_work(sessions) as session:
        tickets.store(session, [TicketStory(opened, "t1").replied("+5m").build()])
    finished = (datetime.now(berlin).date() - opened.astimezone(berlin).date()).days  # to yesterday
    _, output = doctor()
    assert f"{finished} finished days of Europe/Berlin have no up-to-date daily measures" in output
    assert f"{finished} days to build" in output
    rollups.build_missing(sessions, now=datetime.now(UTC), zone=berlin)
    engine.dispose()
    _, output = doctor()
    assert "daily measures" not in output and "to build" not in output
