"""`deskpulse doctor` after real requests to the running server: it names what to fix (docs/doctor.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from tests.support.server import RunningServer
from tests.support.signing import signed_request


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
