"""The command line: tickets, history import, delivery export and import, replay."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import cli
from tests.support.scenarios import Story
from tests.support.signing import DESKPULSE_SECRET, deskpulse_request

START = datetime(2026, 10, 5, 8, 30, tzinfo=UTC)


@pytest.fixture
def run(database_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("DESKPULSE_WEBHOOK_SECRET", DESKPULSE_SECRET)

    def invoke(*args: str) -> str:
        result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    return invoke


def test_import_history_then_show_a_ticket_as_json(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    story = (Story("3001", START).opened("chat", subject="Refund?", tags=["refund"]).customer("+0m")
             .agent("+4m", "Bo").solved("+20m").rated("+1h", "good", scale="good_bad"))
    history = tmp_path / "history.jsonl"
    history.write_text("".join(json.dumps(e) + "\n" for e in story.events))
    assert "processed 1" in run("import", str(history))
    shown = json.loads(run("ticket", "deskpulse:3001", "--json"))
    assert {k: shown[k] for k in ("key", "channel", "status", "first_response_seconds", "agent_replies",
                                  "customer_messages", "first_resolution_seconds", "full_resolution_seconds",
                                  "times_resolved", "reopens", "one_touch", "abandoned", "csat", "csat_raw",
                                  "tags")} == {
        "key": "deskpulse:3001", "channel": "chat", "status": "solved", "first_response_seconds": 240.0,
        "agent_replies": 1, "customer_messages": 1, "first_resolution_seconds": 1200.0,
        "full_resolution_seconds": 1200.0, "times_resolved": 1, "reopens": 0, "one_touch": True,
        "abandoned": False, "csat": "good", "csat_raw": "good", "tags": ["refund"]}
    assert [step["fact"] for step in shown["timeline"]][:3] == [
        "ticket created (chat)", "customer message by Cleo", "agent message by Bo"]
    text = run("ticket", "deskpulse:3001")
    assert "first response 4m" in text and "one-touch" in text


def test_exported_deliveries_rebuild_the_same_tickets_elsewhere(run, server, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    story = Story("3101", START).opened("email").customer("+0m").agent("+2h").solved("+3h")
    for event in story.events:
        body, headers = deskpulse_request(event)
        server.post("/webhooks/deskpulse", body, headers)
    server.wait_processed()
    archive = tmp_path / "deliveries.jsonl"
    run("deliveries", "export", str(archive))
    lines = [json.loads(line) for line in archive.read_text().splitlines()]
    assert len(lines) == 4 and set(lines[0]) == {"endpoint", "received_at", "headers", "body_base64"}

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/elsewhere.db")
    run("deliveries", "import", str(archive))
    elsewhere = json.loads(run("ticket", "deskpulse:3101", "--json"))
    assert (elsewhere["first_response_seconds"], elsewhere["full_resolution_seconds"]) == (7200.0, 10800.0)


def test_imported_deliveries_are_authenticated_at_their_receipt_time(run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    long_ago = START - timedelta(days=200)
    body, headers = deskpulse_request(Story("3201", long_ago).opened().body(), timestamp=int(long_ago.timestamp()))
    forged = dict(headers, **{"x-deskpulse-signature": "sha256=" + "0" * 64})
    archive = tmp_path / "in.jsonl"
    archive.write_text("".join(json.dumps({"endpoint": "/webhooks/deskpulse", "received_at": long_ago.isoformat(),
                                           "headers": h, "body_base64": base64.b64encode(body).decode()})
                               + "\n" for h in (headers, forged)))
    output = run("deliveries", "import", str(archive))
    assert "processed 1" in output
    assert "line 2: refused" in output
