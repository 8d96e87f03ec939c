"""Freshdesk over real HTTP with Basic auth: the story a support lead knows gives the exact numbers.

Freshdesk puts no time in its webhooks: a fact happens when deskpulse receives it. The live story
therefore runs against a server whose clock the test moves; the same deliveries imported from an
archive in reverse order (`deskpulse deliveries import`, which keeps each `received_at`) must give
the same ticket.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import cli
from bot.runtime import open_database
from bot.settings import Settings
from metrics.model import Channel, Csat, CsatScale, Status
from metrics.tickets import Ticket
from storage import tickets
from storage.tables import RawDelivery
from tests.support.server import RunningServer, start_server
from tests.support.signing import secret_for, signed_request

OPENED = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
TICKET = "freshdesk:4711"


def rule(event: str, status: str, *, comment: str = "", triggered: str = "", rating: str = "") -> dict[str, Any]:
    """The guide's template as Freshdesk renders it for one rule."""
    return {"freshdesk_webhook": {
        "event": event, "rating": rating, "triggered_event": triggered, "ticket_id": "4711",
        "ticket_url": "https://acme.freshdesk.com/helpdesk/tickets/4711", "ticket_subject": "Parcel never arrived",
        "ticket_type": "Incident", "ticket_source": "Email", "ticket_status": status, "ticket_priority": "Medium",
        "ticket_tags": "delivery", "ticket_group_name": "Support", "ticket_agent_name": "Ana Agent",
        "ticket_agent_email": "ana@example.com", "requester_name": "Cleo Customer",
        "requester_email": "cleo@example.com", "ticket_latest_public_comment": comment}}


STORY: list[tuple[float, dict[str, Any]]] = [  # (minutes after opening when Freshdesk sent it, body)
    (0, rule("ticket_created", "Open", triggered="{ticket_action:created}")),
    (3, rule("customer_reply", "Open", comment="Cleo Customer : <div>Order #1001, if that helps</div>")),
    (25, rule("agent_reply", "Pending", comment='Ana Agent : <div dir="ltr">It ships today.</div>')),
    (26, rule("status_changed", "Resolved", triggered="{status:{from:3,to:4}}",
              comment='Ana Agent : <div dir="ltr">It ships today.</div>')),
    (180, rule("customer_reply", "Open", comment="Cleo Customer : <div>Still nothing.</div>")),
    (180, rule("status_changed", "Open", triggered="{status:{from:4,to:2}}",
               comment="Cleo Customer : <div>Still nothing.</div>")),
    (200, rule("agent_reply", "Pending", comment="Ana Agent : <div>A new one is on its way.</div>")),
    (210, rule("status_changed", "Resolved", triggered="{status:{from:3,to:4}}",
               comment="Ana Agent : <div>A new one is on its way.</div>")),
    (240, rule("feedback_received", "Resolved", rating="103",
               comment="Ana Agent : <div>A new one is on its way.</div>")),
]


def assert_the_story(t: Ticket | None) -> None:
    assert t is not None
    assert (t.channel, t.status, t.created_at) == (Channel.EMAIL, Status.SOLVED, OPENED)
    assert t.first_response_seconds == 25 * 60
    assert t.response_intervals_seconds == (25 * 60, 20 * 60)
    assert (t.agent_replies, t.customer_messages) == (2, 3)  # the description is the customer's first message
    assert t.first_resolution_seconds == 26 * 60 and t.full_resolution_seconds == 210 * 60
    assert (t.times_resolved, t.reopens, t.one_touch, t.abandoned) == (2, 1, False, False)
    assert (t.csat, t.csat_raw, t.csat_scale, t.csat_score) == (Csat.GOOD, "103", CsatScale.SEVEN_POINT, None)
    assert (t.tags, t.first_responder) == (("delivery",), "ana@example.com")


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clocked_server(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[RunningServer, Clock]]:
    """The server of the `server` fixture (SQLite and PostgreSQL), with a clock the test sets."""
    monkeypatch.setenv("FRESHDESK_WEBHOOK_SECRET", secret_for("freshdesk"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    clock = Clock(OPENED)
    running = start_server(clock=clock)
    try:
        yield running, clock
    finally:
        running.stop()


def test_a_ticket_reopened_by_the_customer(clocked_server: tuple[RunningServer, Clock]) -> None:
    server, clock = clocked_server
    for minutes, payload in STORY:
        clock.now = OPENED + timedelta(minutes=minutes)
        body, headers = signed_request("freshdesk", payload, when=clock.now)
        assert server.post("/webhooks/freshdesk", body, headers).status_code == 202
    server.wait_processed()
    with server.sessions() as session:
        assert_the_story(tickets.get(session, TICKET))


def test_an_archive_imported_in_reverse_order_gives_the_same_ticket(
        database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("FRESHDESK_WEBHOOK_SECRET", secret_for("freshdesk"))
    monkeypatch.setenv("DATABASE_URL", database_url)
    lines = []
    for minutes, payload in reversed(STORY):
        received = OPENED + timedelta(minutes=minutes)
        body, headers = signed_request("freshdesk", payload, when=received)  # an archive that kept its headers
        lines.append(json.dumps({"endpoint": "/webhooks/freshdesk", "received_at": received.isoformat(),
                                 "headers": headers, "body_base64": base64.b64encode(body).decode()}))
    archive = tmp_path / "freshdesk.jsonl"
    archive.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(cli, ["deliveries", "import", str(archive)])
    assert result.exit_code == 0, result.output
    database = open_database(Settings())
    try:
        with database.sessions() as session:
            assert_the_story(tickets.get(session, TICKET))
    finally:
        database.close()


def test_duplicates_unknown_rules_and_credentials(server: RunningServer) -> None:
    reply = rule("agent_reply", "Pending", comment="Ana Agent : <div>It ships today.</div>")
    assert server.post("/webhooks/freshdesk", *signed_request("freshdesk", rule("ticket_created", "Open"))
                       ).status_code == 202
    assert server.post("/webhooks/freshdesk", *signed_request("freshdesk", reply)).status_code == 202
    again = server.post("/webhooks/freshdesk", *signed_request("freshdesk", reply))  # Freshdesk's retry
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    unknown = server.post("/webhooks/freshdesk/time_entry_added", *signed_request("freshdesk", rule("", "Open")))
    assert (unknown.status_code, unknown.json()["status"]) == (200, "ignored")
    body = json.dumps(rule("customer_reply", "Open", comment="Cleo Customer : thanks")).encode()
    token = {"content-type": "application/json", "x-deskpulse-token": secret_for("freshdesk")}
    assert server.post("/webhooks/freshdesk", body, token).status_code == 202
    wrong = {"content-type": "application/json",
             "authorization": "Basic " + base64.b64encode(b"deskpulse:guess").decode()}
    refused = server.post("/webhooks/freshdesk", body, wrong)
    assert (refused.status_code, refused.json()["error"]) == (401, "bad_credentials")
    server.wait_processed()
    with server.sessions() as session:
        t = tickets.get(session, TICKET)
        fates = sorted(session.scalars(select(RawDelivery.fate)))
        kept = session.scalars(select(RawDelivery.headers)).all()
    assert fates == ["duplicate", "ignored", "processed", "processed", "processed"]
    assert t is not None and (t.agent_replies, t.customer_messages) == (1, 2)
    assert not any("authorization" in h or "x-deskpulse-token" in h for h in kept)  # credentials are never stored
