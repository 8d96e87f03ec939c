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
from tests.support.signing import DESKPULSE_SECRET, deskpulse_request, signed_request

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
    assert len(lines) == 4 and set(lines[0]) == {"source", "endpoint", "received_at", "headers", "body_base64"}

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/elsewhere.db")
    run("deliveries", "import", str(archive))
    elsewhere = json.loads(run("ticket", "deskpulse:3101", "--json"))
    assert (elsewhere["first_response_seconds"], elsewhere["full_resolution_seconds"]) == (7200.0, 10800.0)


def test_an_archive_with_imports_and_unsigned_helpdesks_moves_whole_with_trusted(  # type: ignore[no-untyped-def]
        run, server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A history import (`deskpulse import`) was never signed and moves as it is; a Gorgias
    delivery's token was never kept, so only --trusted brings it along."""
    history = tmp_path / "history.jsonl"
    story = Story("3301", START).opened("chat").customer("+0m")
    history.write_text("".join(json.dumps(e) + "\n" for e in story.events))
    run("import", str(history))
    gorgias = {"ticket": {"id": 77, "status": "open", "channel": "email", "created_datetime": START.isoformat(),
                          "updated_datetime": START.isoformat(), "customer": {"id": 5, "email": "cleo@example.com"},
                          "messages": []}}
    body, headers = signed_request("gorgias", gorgias)
    assert server.post("/webhooks/gorgias/ticket-created", body, headers).status_code == 202
    server.wait_processed()
    archive = tmp_path / "deliveries.jsonl"
    run("deliveries", "export", str(archive))

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/elsewhere.db")
    output = run("deliveries", "import", str(archive))
    assert "processed 1" in output and "line 2: refused" in output  # the token is not in the archive
    assert json.loads(run("ticket", "deskpulse:3301", "--json"))["channel"] == "chat"
    output = run("deliveries", "import", "--trusted", str(archive))
    assert "signatures are not checked" in output and "refused" not in output
    assert json.loads(run("ticket", "gorgias:77", "--json"))["channel"] == "email"


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


def test_ask_answers_with_the_change_and_the_exact_bounds(run) -> None:  # type: ignore[no-untyped-def]
    monday = datetime(2026, 10, 5, 8, 30, tzinfo=UTC)  # START, a Monday
    stories = [Story("4001", monday).opened("chat").customer("+0m").agent("+4m", "Bo").solved("+20m"),
               Story("4002", monday).opened("email").customer("+0m").agent("+2h", "Bo"),
               Story("4003", monday - timedelta(days=7)).opened("chat").customer("+0m").agent("+10m", "Bo")]
    history = Path("history.jsonl")
    history.write_text("".join(json.dumps(e) + "\n" for s in stories for e in s.events))
    run("import", str(history))
    text = run("ask", "frt", "last", "week", "by", "channel", "--at", "2026-10-12T09:00:00+00:00")
    assert "First response time: last week" in text
    assert "Mon 05 Oct 2026 00:00 → Mon 12 Oct 2026 00:00 (UTC, end excluded)" in text
    answer = json.loads(run("ask", "frt last week by channel", "--json", "--at", "2026-10-12T09:00:00+00:00"))
    assert answer["total"]["values"]["median"] == pytest.approx((4 + 120) / 2 * 60)
    chat = next(r for r in answer["rows"] if r["key"] == "chat")
    assert chat["values"]["median"] == 240 and chat["previous"]["median"] == 600
    assert chat["change"]["median"]["good"] is True
    assert answer["period"]["timezone"] == "UTC" and answer["definition"] == "docs/metrics.md#First response time"


def test_digest_dry_run_prints_the_day_against_the_day_before(run) -> None:  # type: ignore[no-untyped-def]
    monday = datetime(2026, 10, 5, 8, 30, tzinfo=UTC)
    stories = [Story("5001", monday).opened("chat").customer("+0m").agent("+4m", "Bo").solved("+20m"),
               Story("5002", monday).opened("email").customer("+0m").agent("+2h", "Bo"),
               Story("5003", monday - timedelta(days=1)).opened("chat").customer("+0m").agent("+10m", "Bo")]
    history = Path("history.jsonl")
    history.write_text("".join(json.dumps(e) + "\n" for s in stories for e in s.events))
    run("import", str(history))
    text = run("digest", "--dry-run", "--date", "2026-10-05", "--details")
    assert "Daily digest: Monday 05 Oct" in text
    assert "Mon 05 Oct 2026 00:00 → Tue 06 Oct 2026 00:00 (UTC, end excluded)" in text
    new = next(line for line in text.splitlines() if line.strip().startswith("New tickets"))
    assert new.split()[2:4] == ["2", "1"]  # now, the day before
    assert "First response time: Monday 05 Oct" in text  # the thread's details
    only_chat = run("digest", "--dry-run", "--date", "2026-10-05", "--filters", "channel:chat")
    assert "only channel:chat" in only_chat
    assert next(line for line in only_chat.splitlines() if "New tickets" in line).split()[2:4] == ["1", "1"]


def test_ask_explains_an_unreadable_question(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    result = CliRunner().invoke(cli, ["ask", "frt", "last", "week", "by", "chanel"])
    assert result.exit_code == 2
    assert "I can't break down by `chanel`. Did you mean `channel`?" in result.output
    assert "Traceback" not in result.output
    assert "csat last week" in CliRunner().invoke(cli, ["ask", "help"]).output


def test_demo_ends_by_answering_example_questions(run) -> None:  # type: ignore[no-untyped-def]
    text = run("demo", "--days", "3")
    assert "$ deskpulse ask frt yesterday by channel" in text and "First response time: yesterday" in text
    assert "$ deskpulse ask backlog" in text and "unresolved tickets" in text
    assert "Times in Europe/Berlin, the demo team's time zone" in text and "(Europe/Berlin, end excluded)" in text
    assert "$ deskpulse digest --dry-run" in text and "Daily digest: " in text
    assert "Alerts the detector raised on this history" in text
