"""`deskpulse backfill csv`: a helpdesk's CSV export, imported once however often it is run (docs/backfill.md)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

import bot.backfill
from bot.backfill import ZendeskApi, backfill_zendesk, import_csv
from bot.cli import cli
from bot.runtime import Database
from storage import tickets
from storage.ingest.backfill.exports import ZENDESK
from storage.tables import TicketEventRow
from tests.bot.test_backfill_zendesk import EXPECTED, NOW, OPENED, SINCE, numbers, reopened_ticket
from tests.support.zendesk_api_standin import EMAIL, TOKEN, ZendeskAccount, start_zendesk_api_standin

FIXTURES = Path(__file__).parent.parent / "fixtures" / "exports"


@pytest.fixture
def run(database_url: str, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", database_url)

    def invoke(*args: str, code: int = 0) -> Any:
        result = CliRunner().invoke(cli, list(args))
        assert result.exit_code == code, result.output
        return result

    return invoke


def shown(run: Any, key: str) -> dict[str, Any]:
    return json.loads(run("ticket", key, "--json").stdout)


def test_a_zendesk_export_gives_volume_resolutions_first_replies_and_csat(run: Any) -> None:
    result = run("backfill", "csv", "zendesk", str(FIXTURES / "zendesk_tickets.csv"), "--timezone", "Europe/Berlin")
    assert "4 rows, 4 tickets" in result.stdout and "zendesk export" in result.stderr  # with a progress bar
    chat = shown(run, "zendesk:3001")
    assert {k: chat[k] for k in ("created_at", "channel", "status", "first_response_seconds", "agent_replies",
                                 "first_resolution_seconds", "one_touch", "csat", "tags")} == {
        "created_at": "2026-10-05T08:30:00+00:00", "channel": "chat", "status": "closed",
        "first_response_seconds": 240.0, "agent_replies": 1, "first_resolution_seconds": 1200.0, "one_touch": True,
        "csat": "good", "tags": ["refund", "vip"]}
    reopened = shown(run, "zendesk:3002")
    assert (reopened["times_resolved"], reopened["reopens"], reopened["full_resolution_seconds"]) == (2, 1, 90000.0)


def test_importing_the_same_export_twice_changes_nothing(run: Any, database_url: str) -> None:
    path = str(FIXTURES / "zendesk_tickets.csv")
    run("backfill", "csv", "zendesk", path)
    before = [shown(run, f"zendesk:{n}") for n in (3001, 3002, 3003, 3004)]
    again = run("backfill", "csv", "zendesk", path)
    assert "0 new facts" in again.stdout
    assert [shown(run, f"zendesk:{n}") for n in (3001, 3002, 3003, 3004)] == before


def test_a_gorgias_export_by_its_ticket_fields(run: Any) -> None:
    run("backfill", "csv", "gorgias", str(FIXTURES / "gorgias_tickets.csv"), "--timezone", "UTC")
    t = shown(run, "gorgias:7001")
    assert (t["channel"], t["status"], t["full_resolution_seconds"], t["csat"], t["csat_raw"]) == (
        "email", "closed", 10800.0, "good", "5")
    assert t["first_response_seconds"] is None  # the export has no replies


def test_columns_named_otherwise_are_mapped(run: Any, tmp_path: Path) -> None:
    export = tmp_path / "mine.csv"
    export.write_text("Ticket;Opened;FRT (min)\n41;2026-10-05 08:00;15\n")
    refused = run("backfill", "csv", "zendesk", str(export), "--delimiter", ";", code=1)
    assert "no column for ticket_id: expected 'Id' or 'ID' (or --map ticket_id=<column>)" in refused.output
    run("backfill", "csv", "zendesk", str(export), "--delimiter", ";", "--map", "ticket_id=Ticket",
        "--map", "created_at=Opened", "--map", "first_reply_minutes=FRT (min)", "--timezone", "UTC")
    assert shown(run, "zendesk:41")["first_response_seconds"] == 900.0


def test_a_bad_row_stops_the_import_at_its_line(run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bot.backfill, "CSV_CHUNK", 2)
    export = tmp_path / "export.csv"
    export.write_text("Id,Created at,First reply time in minutes\n1,2026-10-05 08:00,5\n2,2026-10-05 09:00,5\n"
                      "3,2026-10-05 10:00,soon\n")
    result = run("backfill", "csv", "zendesk", str(export), code=1)
    assert "export.csv: line 4: 'soon' is not a number; lines before 4 are imported" in result.output
    assert shown(run, "zendesk:2")["first_response_seconds"] == 300.0


def csv_of_the_api_story(tmp_path: Path) -> Path:
    """Ticket 48213 as Zendesk's CSV export would summarise it (times in UTC)."""
    header = (FIXTURES / "zendesk_tickets.csv").read_text().splitlines()[0]
    columns = header.split(",")
    values = dict.fromkeys(columns, "")
    values.update({"Id": "48213", "Created at": OPENED.strftime("%Y-%m-%d %H:%M:%S"), "Status": "Solved",
                   "Via": "Web Form", "Replies": "2", "Reopens": "1", "First reply time in minutes": "25",
                   "First resolution time in minutes": "26", "Full resolution time in minutes": "210",
                   "Satisfaction Score": "Good"})
    path = tmp_path / "export.csv"
    path.write_text(header + "\n" + ",".join(values[c] for c in columns) + "\n")
    return path


def api_import(db: Database) -> None:
    standin = start_zendesk_api_standin()
    reopened_ticket(ZendeskAccount(standin, staff={"2002": "Agent Ana"}))
    api = ZendeskApi(base_url=standin.base_url, email=EMAIL, token=TOKEN)
    try:
        backfill_zendesk(db.sessions, api, since=SINCE, now=NOW, progress=False)
    finally:
        api.close()
        standin.stop()


def test_a_ticket_known_from_the_api_is_left_as_it_is_by_an_export(db: Database, tmp_path: Path) -> None:
    api_import(db)
    with open(csv_of_the_api_story(tmp_path), newline="") as handle:
        report = import_csv(db.sessions, ZENDESK, handle, name="export.csv", tz=NOW.tzinfo,  # type: ignore[arg-type]
                            overrides={}, progress=False)
    assert report.skipped == {"zendesk:48213"} and report.new_events == 0
    with db.sessions() as session:
        assert numbers(tickets.get(session, "zendesk:48213")) == EXPECTED


def test_the_api_replaces_what_an_export_said_about_a_ticket(db: Database, tmp_path: Path) -> None:
    with open(csv_of_the_api_story(tmp_path), newline="") as handle:
        import_csv(db.sessions, ZENDESK, handle, name="export.csv", tz=NOW.tzinfo,  # type: ignore[arg-type]
                   overrides={}, progress=False)
    with db.sessions() as session:
        summary = tickets.get(session, "zendesk:48213")
    assert summary is not None and (summary.first_response_seconds, summary.reopens) == (1500.0, 1)
    api_import(db)
    with db.sessions() as session:
        assert numbers(tickets.get(session, "zendesk:48213")) == EXPECTED
        left = session.scalar(select(func.count()).select_from(TicketEventRow)
                              .where(TicketEventRow.event_id.like("csv:%")))
    assert left == 0


def test_the_fixture_is_a_file_a_user_could_pass(tmp_path: Path, run: Any) -> None:
    copy = tmp_path / "Zendesk export (Oct).csv"
    shutil.copy(FIXTURES / "zendesk_tickets.csv", copy)
    assert "4 tickets" in run("backfill", "csv", "zendesk", str(copy)).stdout
