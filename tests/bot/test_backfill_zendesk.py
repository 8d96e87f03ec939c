"""`deskpulse backfill zendesk` against a local stand-in of Zendesk's API: pagination, the rate
limit, resuming after a failure, importing twice (docs/backfill.md)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot.backfill import BackfillError, ZendeskApi, backfill_zendesk, retry_delay
from bot.cli import cli
from bot.runtime import Database
from metrics.model import Channel, Csat, RemovalReason, Status
from metrics.tickets import Ticket
from storage import tickets
from storage.tables import RawDelivery, TicketEventRow, TicketRow
from tests.support.zendesk_api_standin import (
    EMAIL,
    TOKEN,
    ZendeskAccount,
    ZendeskApiStandIn,
    ZendeskTicket,
    start_zendesk_api_standin,
)

NOW = datetime.now(UTC).replace(microsecond=0)
OPENED = NOW - timedelta(days=2)
SINCE = NOW - timedelta(days=90)
EVENTS_PATH = "/api/v2/incremental/ticket_events.json"
TICKETS_PATH = "/api/v2/incremental/tickets/cursor.json"

# The story of tests/e2e/test_zendesk_webhooks.py, told by the API, with a good rating at the end.
EXPECTED = {"first_response_seconds": 25 * 60.0, "response_intervals_seconds": (25 * 60.0, 20 * 60.0),
            "agent_replies": 2, "customer_messages": 2, "first_resolution_seconds": 26 * 60.0,
            "full_resolution_seconds": 210 * 60.0, "times_resolved": 2, "reopens": 1, "csat": Csat.GOOD,
            "channel": Channel.WEB, "status": Status.SOLVED, "agents": ("2002",), "tags": ("delivery",)}


def numbers(t: Ticket | None) -> dict[str, Any]:
    assert t is not None
    return {name: getattr(t, name) for name in EXPECTED}


def reopened_ticket(account: ZendeskAccount, ticket_id: str = "48213") -> ZendeskTicket:
    t = account.ticket(ticket_id, opened=OPENED)
    t.comment(0, "9001", author="1001").comment(25, "9002", author="2002").status(26, "solved")
    t.comment(180, "9003", author="1001").status(180, "open").comment(200, "9004", author="2002")
    return t.status(210, "solved").rated(240, "good", "Fast!")


@pytest.fixture
def zendesk() -> Iterator[ZendeskApiStandIn]:
    standin = start_zendesk_api_standin()
    reopened_ticket(ZendeskAccount(standin, staff={"2002": "Agent Ana"}))
    try:
        yield standin
    finally:
        standin.stop()


def run(db: Database, zendesk: ZendeskApiStandIn, waits: list[float] | None = None, **options: Any) -> Any:
    api = ZendeskApi(base_url=zendesk.base_url, email=EMAIL, token=options.pop("token", TOKEN),
                     sleep=(waits if waits is not None else []).append)
    try:
        return backfill_zendesk(db.sessions, api, since=SINCE, now=NOW, progress=False, **options)
    finally:
        api.close()


def ticket(db: Database, key: str = "zendesk:48213") -> Ticket | None:
    with db.sessions() as session:
        return tickets.get(session, key)


def event_count(db: Database) -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(TicketEventRow)) or 0)


def test_the_api_tells_the_story_page_by_page(db: Database, zendesk: ZendeskApiStandIn) -> None:
    report = run(db, zendesk)
    assert numbers(ticket(db)) == EXPECTED
    pages = {s.stream: s.pages for s in report.streams}
    assert pages["ticket_events"] > 2 and report.staff == 1  # two updates a page: the cursor was followed
    assert all(q.get("include") == "comment_events" for q in zendesk.asked(EVENTS_PATH))
    assert zendesk.asked(EVENTS_PATH)[0]["start_time"] == str(int(SINCE.timestamp()))
    assert zendesk.requests[0] == "/api/v2/users?role%5B%5D=agent&role%5B%5D=admin&page%5Bsize%5D=100"


def test_zendesks_rate_limit_is_waited_out_as_long_as_it_asks(db: Database, zendesk: ZendeskApiStandIn) -> None:
    zendesk.rate_limits = {EVENTS_PATH: 2, "/api/v2/users": 1}
    zendesk.retry_after = "7"
    waits: list[float] = []
    run(db, zendesk, waits)
    assert waits == [7.0, 7.0, 7.0]
    assert numbers(ticket(db)) == EXPECTED


def test_an_interrupted_backfill_continues_from_the_last_page_it_kept(db: Database,
                                                                     zendesk: ZendeskApiStandIn) -> None:
    zendesk.down_from = {EVENTS_PATH: 3}  # the third page of updates never comes
    waits: list[float] = []
    with pytest.raises(BackfillError, match="Zendesk answered 503"):
        run(db, zendesk, waits)
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0]  # server errors are retried, then the run stops
    half = ticket(db)
    assert half is not None and half.agent_replies < 2  # what was kept so far is there already
    with db.sessions() as session:
        kept = session.scalars(select(RawDelivery.headers).where(RawDelivery.hint == "ticket_events")
                               .order_by(RawDelivery.id)).all()
    assert len(kept) == 2 and kept[-1]["x-deskpulse-done"] == "false"

    zendesk.down_from = {}
    asked_before = len(zendesk.asked(EVENTS_PATH))
    report = run(db, zendesk)
    resumed = zendesk.asked(EVENTS_PATH)[asked_before]
    assert f"{EVENTS_PATH}?start_time={resumed['start_time']}&include=comment_events" == kept[-1]["x-deskpulse-next"]
    assert resumed["start_time"] != str(int(SINCE.timestamp()))
    assert "cursor" in zendesk.asked(TICKETS_PATH)[-1]  # the finished ticket stream goes on from its cursor
    assert [s.resumed for s in report.streams] == [True, True, False]  # ratings had not started
    assert numbers(ticket(db)) == EXPECTED
    assert event_count(db) == 10  # creation, 4 comments, 3 status changes, the snapshot, the rating: once each


def test_a_resumed_run_keeps_the_window_it_started_with(db: Database, zendesk: ZendeskApiStandIn) -> None:
    account = ZendeskAccount(zendesk, staff={"2002": "Agent Ana"})
    account.ticket("300", opened=NOW - timedelta(days=3)).comment(0, "9301", author="1001")
    late = account.ticket("200", opened=NOW - timedelta(days=60))  # last changed an hour ago: on the second page
    late.comment(0, "9201", author="1001").comment(60 * 24 * 60 - 60, "9202", author="2002")
    zendesk.down_from = {TICKETS_PATH: 2}
    with pytest.raises(BackfillError):
        run(db, zendesk)
    assert ticket(db, "zendesk:200") is None
    zendesk.down_from = {}
    api = ZendeskApi(base_url=zendesk.base_url, email=EMAIL, token=TOKEN, sleep=lambda s: None)
    try:  # started again later, with a shorter default window: the first run's window still holds
        backfill_zendesk(db.sessions, api, since=NOW - timedelta(days=30), now=NOW, progress=False)
    finally:
        api.close()
    late_ticket = ticket(db, "zendesk:200")
    assert late_ticket is not None and late_ticket.first_response_seconds == (60 * 24 * 60 - 60) * 60.0


def test_importing_twice_changes_nothing(db: Database, zendesk: ZendeskApiStandIn) -> None:
    run(db, zendesk)
    first, count = ticket(db), event_count(db)
    report = run(db, zendesk)
    assert sum(s.new_events for s in report.streams) == 0
    assert (ticket(db), event_count(db)) == (first, count)


def test_a_restart_reads_everything_again_and_adds_nothing(db: Database, zendesk: ZendeskApiStandIn) -> None:
    run(db, zendesk)
    count = event_count(db)
    run(db, zendesk, restart=True)
    assert zendesk.asked(TICKETS_PATH)[-1].get("start_time") == str(int(SINCE.timestamp()))
    assert event_count(db) == count and numbers(ticket(db)) == EXPECTED


def test_tickets_created_before_the_window_are_not_imported_half(db: Database, zendesk: ZendeskApiStandIn) -> None:
    account = ZendeskAccount(zendesk, staff={})
    old = account.ticket("100", opened=NOW - timedelta(days=120))
    old.comment(120 * 24 * 60 - 60, "9100", author="2002")  # an answer yesterday, to a question of 4 months ago
    run(db, zendesk)
    assert ticket(db, "zendesk:100") is None
    assert numbers(ticket(db)) == EXPECTED


def test_new_updates_are_fetched_by_the_next_run(db: Database, zendesk: ZendeskApiStandIn) -> None:
    run(db, zendesk)
    account = ZendeskAccount(zendesk, staff={"2002": "Agent Ana"})
    account.ticket("48214", opened=NOW - timedelta(hours=3)).comment(0, "9201", author="1001").comment(
        30, "9202", author="2002")
    run(db, zendesk)
    later = ticket(db, "zendesk:48214")
    assert later is not None and later.first_response_seconds == 1800.0


def test_wrong_credentials_say_what_to_check(db: Database, zendesk: ZendeskApiStandIn) -> None:
    with pytest.raises(BackfillError, match=r"refused the credentials \(401\): check --email and --token"):
        run(db, zendesk, token="not-the-token")


@pytest.mark.parametrize(("status", "retry_after", "attempt", "wait"), [
    (429, "30", 1, 30.0),  # Zendesk's rate limit: as long as it asks
    (429, None, 1, 60.0),  # and a minute when it does not say
    (429, "Wed, 01 Jan 2031 00:00:10 GMT", 1, 10.0),  # Retry-After may be a date
    (503, None, 1, 1.0), (503, None, 3, 4.0), (500, None, 6, None),  # server errors: backing off, then giving up
    (None, None, 2, 2.0),  # a lost connection is a server error
    (401, None, 1, None), (404, None, 1, None), (422, None, 1, None),  # asking again will not help
])
def test_when_to_ask_again(status: int | None, retry_after: str | None, attempt: int, wait: float | None) -> None:
    assert retry_delay(status, retry_after, attempt, now=datetime(2031, 1, 1, tzinfo=UTC)) == wait


def test_the_command_line_imports_with_a_progress_bar_and_says_what_it_did(
        database_url: str, zendesk: ZendeskApiStandIn, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ZENDESK_API_TOKEN", TOKEN)  # settings may come from the environment
    for name in ("ZENDESK_SUBDOMAIN", "ZENDESK_EMAIL"):
        monkeypatch.delenv(name, raising=False)
    args = ["backfill", "zendesk", "--subdomain", "acme", "--email", EMAIL, "--api-url", zendesk.base_url,
            "--since", (NOW - timedelta(days=30)).date().isoformat()]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "zendesk ticket_events" in result.stderr  # the progress bar's label
    assert "ticket_events:" in result.stdout and "new facts" in result.stdout
    shown = CliRunner().invoke(cli, ["ticket", "zendesk:48213", "--json"])
    assert '"first_response_seconds": 1500.0' in shown.output
    refused = CliRunner().invoke(cli, [*args, "--token", "wrong"])
    assert refused.exit_code == 1 and "check --email and --token" in refused.output


def counted_tickets(db: Database) -> int:
    """Tickets the metrics count: every ticket that was not merged away, marked as spam or deleted."""
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(TicketRow).where(TicketRow.removed.is_(None)))
                   or 0)


def duplicate_of(account: ZendeskAccount, ticket_id: str = "48214") -> ZendeskTicket:
    """The same customer writes again ten minutes later about the same parcel; an agent answers it
    and, half an hour later, merges it into the first ticket."""
    t = account.ticket(ticket_id, opened=OPENED + timedelta(minutes=10))
    t.comment(0, "9101", author="1001").comment(15, "9102", author="2002")
    return t


def test_a_ticket_merged_into_another_in_zendesk_counts_once_after_backfill(db: Database) -> None:
    standin = start_zendesk_api_standin()
    try:
        account = ZendeskAccount(standin, staff={"2002": "Agent Ana"})
        first = reopened_ticket(account)
        other = account.ticket("48215", opened=OPENED, requester="1003")  # another customer's question
        other.comment(0, "9201", author="1003").comment(5, "9202", author="2002").status(6, "solved")
        duplicate_of(account).merged_into(30, first)
        run(db, standin)
        assert counted_tickets(db) == 2  # three created in Zendesk, one merged away: two conversations
        merged = ticket(db, "zendesk:48214")
        assert merged is not None and merged.removed == RemovalReason.MERGED
        assert numbers(ticket(db)) == EXPECTED  # the ticket it went into keeps its own numbers
        run(db, standin, restart=True)
        assert counted_tickets(db) == 2  # and a second run changes nothing
    finally:
        standin.stop()


def test_a_rating_the_ratings_list_lacks_still_counts_from_the_ticket(db: Database) -> None:
    standin = start_zendesk_api_standin()
    try:
        account = ZendeskAccount(standin, staff={"2002": "Agent Ana"})
        t = account.ticket("48213", opened=OPENED)
        t.comment(0, "9001", author="1001").comment(25, "9002", author="2002").status(26, "solved")
        t.rated(60, "bad", "Still no parcel", listed=False)
        offered = account.ticket("48216", opened=OPENED)
        offered.comment(0, "9301", author="1001").comment(5, "9302", author="2002").status(6, "solved").offered(30)
        run(db, standin)
        rated = ticket(db)
        assert rated is not None and rated.csat == Csat.BAD and rated.csat_comment == "Still no parcel"
        not_rated = ticket(db, "zendesk:48216")
        assert not_rated is not None and not_rated.csat is None  # a survey sent is not an answer
    finally:
        standin.stop()


def test_a_listed_rating_keeps_the_time_it_was_given(db: Database, zendesk: ZendeskApiStandIn) -> None:
    run(db, zendesk)  # the story's rating, given at minute 240, is in the list and in the ticket
    rated = ticket(db)
    assert rated is not None and rated.csat == Csat.GOOD and rated.rated_at == OPENED + timedelta(minutes=240)
    with db.sessions() as session:  # the snapshot's undated copy was replaced by the listed one
        ids = set(session.scalars(select(TicketEventRow.event_id).where(TicketEventRow.kind == "rated")))
    assert len(ids) == 1 and ":ticket:" not in ids.pop()


def test_the_zendesk_account_comes_from_dotenv_and_options_win(
        db: Database, database_url: str, zendesk: ZendeskApiStandIn, monkeypatch: pytest.MonkeyPatch,
        tmp_path: Any) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("ZENDESK_SUBDOMAIN", "ZENDESK_EMAIL", "ZENDESK_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    (tmp_path / ".env").write_text(f"ZENDESK_SUBDOMAIN=acme\nZENDESK_EMAIL={EMAIL}\nZENDESK_API_TOKEN=wrong\n")
    args = ["backfill", "zendesk", "--api-url", zendesk.base_url]
    refused = CliRunner().invoke(cli, args)  # the token of .env is read: Zendesk refuses it
    assert refused.exit_code == 1 and "refused the credentials" in refused.output
    result = CliRunner().invoke(cli, [*args, "--token", TOKEN])  # the option wins
    assert result.exit_code == 0, result.output
    assert numbers(ticket(db)) == EXPECTED


@pytest.mark.parametrize("variable", ["ZENDESK_SUBDOMAIN", "ZENDESK_EMAIL", "ZENDESK_API_TOKEN"])
def test_a_missing_zendesk_setting_is_named_in_one_sentence(monkeypatch: pytest.MonkeyPatch, tmp_path: Any,
                                                            variable: str) -> None:
    monkeypatch.chdir(tmp_path)
    values = {"ZENDESK_SUBDOMAIN": "acme", "ZENDESK_EMAIL": EMAIL, "ZENDESK_API_TOKEN": TOKEN}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv(variable)
    result = CliRunner().invoke(cli, ["backfill", "zendesk"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"deskpulse: {variable} is not set") and "Traceback" not in lines[0]
