"""A CSV row gives what it honestly can (storage.ingest.backfill.exports, docs/backfill.md).

tests/fixtures/exports/zendesk_tickets.csv has the columns of Zendesk's CSV export as its help
article "Exporting data to a JSON, CSV, or XML file" lists them; gorgias_tickets.csv uses the
field names of Gorgias's Ticket object (its export's headers are not documented).
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from metrics.model import Channel, Csat, CsatScale, MessagePosted, Person, Role, Status
from metrics.tickets import Ticket, fold_ticket
from storage.ingest.backfill.exports import (
    GORGIAS,
    ZENDESK,
    ExportError,
    ExportFormat,
    ExportRow,
    columns_of,
    read_row,
    row_events,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "exports"
BERLIN = ZoneInfo("Europe/Berlin")


def rows(fmt: ExportFormat, name: str, tz: ZoneInfo = BERLIN) -> dict[str, ExportRow]:
    with (FIXTURES / name).open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        columns = columns_of(fmt, next(reader))
        read = [read_row(fmt, cells, columns, tz=tz, line=n) for n, cells in enumerate(reader, start=2)]
    return {r.ticket_id: r for r in read}


def folded(fmt: ExportFormat, row: ExportRow) -> Ticket:
    return fold_ticket(row_events(fmt, row))


def test_zendesk_times_are_read_in_the_accounts_time_zone() -> None:
    row = rows(ZENDESK, "zendesk_tickets.csv")["3001"]
    assert row.created_at == datetime(2026, 10, 5, 8, 30, tzinfo=UTC)
    assert (row.first_reply_minutes, row.first_resolution_minutes, row.replies, row.reopens) == (4, 20, 1, 0)
    assert (row.requester_id, row.requester_email, row.assignee, row.tags) == (
        "1001", "cleo@example.com", "Agent Ana", ("refund", "vip"))


def test_a_chat_answered_in_4_minutes_and_solved_in_20_is_one_touch() -> None:
    t = folded(ZENDESK, rows(ZENDESK, "zendesk_tickets.csv")["3001"])
    assert (t.key, t.channel, t.status, t.tags, t.group) == ("zendesk:3001", Channel.CHAT, Status.CLOSED,
                                                             ("refund", "vip"), "Support")
    assert t.created_at == datetime(2026, 10, 5, 8, 30, tzinfo=UTC) and t.created_at_known
    assert (t.first_response_seconds, t.response_intervals_seconds) == (240.0, (240.0,))
    assert (t.first_resolution_seconds, t.full_resolution_seconds, t.times_resolved, t.reopens) == (
        1200.0, 1200.0, 1, 0)
    assert (t.agent_replies, t.one_touch, t.abandoned) == (1, True, False)
    assert (t.csat, t.csat_scale) == (Csat.GOOD, CsatScale.GOOD_BAD)
    assert t.requester == Person(id="1001", name="Cleo Customer", email="cleo@example.com")


def test_the_first_reply_is_an_agents_but_nobody_is_named() -> None:
    events = row_events(ZENDESK, rows(ZENDESK, "zendesk_tickets.csv")["3001"])
    [reply] = [e for e in events if isinstance(e, MessagePosted)]
    assert (reply.author_role, reply.author, reply.public) == (Role.AGENT, Person(), True)
    assert reply.occurred_at == datetime(2026, 10, 5, 8, 34, tzinfo=UTC) and not reply.time_suspect
    t = fold_ticket(events)
    assert (t.agents, t.first_responder, t.customer_messages) == ((), None, 0)


def test_a_reopened_ticket_keeps_its_first_and_last_solve_and_its_replies() -> None:
    t = folded(ZENDESK, rows(ZENDESK, "zendesk_tickets.csv")["3002"])
    assert t.first_response_seconds == 90 * 60
    assert (t.first_resolution_seconds, t.full_resolution_seconds) == (180 * 60, 1500 * 60)
    assert (t.times_resolved, t.reopens, t.agent_replies, t.one_touch) == (2, 1, 3, False)
    assert t.response_intervals_seconds == (90 * 60,)  # the later replies' waits are not in the export
    assert t.csat is Csat.BAD
    # The reopen's moment is unknown: it is written at the last solve, as a zero-length cycle, and says so.
    assert t.time_suspect_events == 5  # reopen, solve, the two replies without times, and the rating


def test_a_ticket_open_again_at_export_counts_its_reopen_and_is_not_resolved() -> None:
    t = folded(ZENDESK, rows(ZENDESK, "zendesk_tickets.csv")["3003"])
    assert (t.status, t.times_resolved, t.reopens, t.first_resolution_seconds) == (Status.OPEN, 1, 1, 3600.0)
    assert t.full_resolution_seconds is None and t.csat is None  # "Offered" is not an answer
    assert t.channel is Channel.WEB


def test_an_unanswered_ticket_has_no_first_response() -> None:
    t = folded(ZENDESK, rows(ZENDESK, "zendesk_tickets.csv")["3004"])
    assert (t.status, t.first_response_seconds, t.agent_replies, t.priority, t.assignee) == (
        Status.NEW, None, 0, None, None)


def test_gorgias_closes_give_the_resolution_and_its_survey_a_five_point_score() -> None:
    found = rows(GORGIAS, "gorgias_tickets.csv", tz=ZoneInfo("UTC"))
    t = folded(GORGIAS, found["7001"])
    assert (t.key, t.channel, t.status, t.tags) == ("gorgias:7001", Channel.EMAIL, Status.CLOSED, ("returns", "vip"))
    assert (t.first_resolution_seconds, t.full_resolution_seconds) == (3 * 3600.0, 3 * 3600.0)
    assert (t.csat, t.csat_scale, t.csat_score) == (Csat.GOOD, CsatScale.ONE_TO_FIVE, 5.0)
    assert t.first_response_seconds is None and t.agent_replies == 0  # the export has no replies
    assert t.assignee == Person(id="ana@shop.example", email="ana@shop.example")
    zipper = folded(GORGIAS, found["7003"])
    assert (zipper.channel, zipper.csat) == (Channel.SOCIAL, Csat.BAD)
    assert folded(GORGIAS, found["7002"]).status is Status.OPEN


def test_the_same_row_gives_the_same_facts_and_a_newer_export_only_adds() -> None:
    row = rows(ZENDESK, "zendesk_tickets.csv")["3003"]
    first = row_events(ZENDESK, row)
    assert [e.event_id for e in first] == [e.event_id for e in row_events(ZENDESK, row)]
    solved_again = ExportRow(**{**row.__dict__, "status": "Solved", "reopens": 1,
                                "updated_at": row.updated_at + timedelta(hours=2),  # type: ignore[operator]
                                "solved_at": row.created_at + timedelta(hours=20)})
    later = row_events(ZENDESK, solved_again)
    added = {e.event_id for e in later} - {e.event_id for e in first}
    assert added == {"csv:3003:2-cycle-001-a-reopen", "csv:3003:2-cycle-001-b-solve",
                     f"csv:3003:state:{int((row.updated_at + timedelta(hours=2)).timestamp())}"}  # type: ignore[operator]


def test_headers_are_found_in_any_case_and_can_be_mapped() -> None:
    columns = columns_of(GORGIAS, ["ID", "Created", "First answer (min)"],
                         {"first_reply_minutes": "first answer (MIN)"})
    assert columns == {"ticket_id": 0, "created_at": 1, "first_reply_minutes": 2}


def test_a_file_without_the_id_or_creation_column_says_how_to_map_it() -> None:
    with pytest.raises(ExportError, match=r"line 1: no column for created_at: expected 'Created at' \(or --map"):
        columns_of(ZENDESK, ["Id", "Status"])
    with pytest.raises(ExportError, match="'Solved on'"):
        columns_of(ZENDESK, ["Id", "Created at"], {"solved_at": "Solved on"})
    with pytest.raises(ExportError, match="'solved' is not a field"):
        columns_of(ZENDESK, ["Id", "Created at"], {"solved": "Solved at"})


def test_an_unreadable_value_names_its_line() -> None:
    columns = {"ticket_id": 0, "created_at": 1, "first_reply_minutes": 2}
    with pytest.raises(ExportError, match=r"line 7: 'soon' is not a number"):
        read_row(ZENDESK, ["1", "2026-10-05 10:30:00", "soon"], columns, tz=BERLIN, line=7)
    with pytest.raises(ExportError, match=r"line 8: '05/10/2026' is not a date and time"):
        read_row(ZENDESK, ["1", "05/10/2026", ""], columns, tz=BERLIN, line=8)
    with pytest.raises(ExportError, match="line 9: ticket 1: the creation time is empty"):
        read_row(ZENDESK, ["1", "", ""], columns, tz=BERLIN, line=9)


def test_times_with_an_offset_keep_it() -> None:
    columns = {"ticket_id": 0, "created_at": 1}
    row = read_row(ZENDESK, ["1", "2026-10-05 10:30:00 +0200"], columns, tz=UTC, line=2)
    assert row.created_at == datetime(2026, 10, 5, 8, 30, tzinfo=UTC)


def test_a_row_without_an_update_time_still_ends_in_its_export_state() -> None:
    columns = {"ticket_id": 0, "created_at": 1, "status": 2, "first_reply_minutes": 3,
               "full_resolution_minutes": 4}
    row = read_row(ZENDESK, ["5", "2026-10-05 08:00:00", "Solved", "25", "210"], columns, tz=UTC, line=2)
    t = folded(ZENDESK, row)
    assert (t.status, t.first_response_seconds, t.full_resolution_seconds) == (Status.SOLVED, 1500.0, 12600.0)
