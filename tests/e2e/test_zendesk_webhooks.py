"""Zendesk over real, signed HTTP: the stories a support lead knows give the exact numbers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import cli
from metrics.model import Channel, Csat, Status
from storage import tickets
from storage.tables import RawDelivery
from tests.support.server import RunningServer, start_server
from tests.support.signing import zendesk_request

OPENED = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)


def zendesk_event(kind: str, minutes: float, event: dict[str, Any], *, status: str = "OPEN",
                  ticket_id: str = "48213", event_id: str | None = None) -> dict[str, Any]:
    """An event-subscription webhook body as Zendesk documents it."""
    when = OPENED + timedelta(minutes=minutes)
    return {
        "type": f"zen:event-type:ticket.{kind}", "account_id": 9012345, "id": event_id or f"{kind}-{minutes}",
        "time": when.isoformat().replace("+00:00", "Z"), "zendesk_event_version": "2022-11-06",
        "subject": f"zen:ticket:{ticket_id}",
        "detail": {"id": ticket_id, "created_at": OPENED.isoformat().replace("+00:00", "Z"), "status": status,
                   "priority": "NORMAL", "tags": ["delivery"], "type": "QUESTION", "subject": "Parcel is late",
                   "via": {"channel": "web"}, "requester_id": "1001", "assignee_id": "2002",
                   "organization_id": None, "group_id": "17", "brand_id": "1", "is_public": True},
        "event": event,
    }


def comment(comment_id: str, *, staff: bool, author: str, body: str = "…") -> dict[str, Any]:
    return {"comment": {"id": comment_id, "body": body, "is_public": True,
                        "author": {"id": author, "is_staff": staff, "name": "Agent Ana" if staff else "Cleo"}}}


def send(server: RunningServer, payload: dict[str, Any], path: str = "/webhooks/zendesk") -> int:
    body, headers = zendesk_request(payload)
    return server.post(path, body, headers).status_code


def test_a_ticket_reopened_by_the_customer(server: RunningServer) -> None:
    story = [
        zendesk_event("created", 0, {"meta": {}}, status="NEW"),
        zendesk_event("comment_added", 0, comment("c1", staff=False, author="1001"), status="NEW"),
        zendesk_event("comment_added", 25, comment("c2", staff=True, author="2002")),
        zendesk_event("status_changed", 26, {"current": "SOLVED", "previous": "OPEN"}, status="SOLVED"),
        zendesk_event("comment_added", 180, comment("c3", staff=False, author="1001"), status="SOLVED"),
        zendesk_event("status_changed", 180, {"current": "OPEN", "previous": "SOLVED"}),
        zendesk_event("comment_added", 200, comment("c4", staff=True, author="2002")),
        zendesk_event("status_changed", 210, {"current": "SOLVED", "previous": "OPEN"}, status="SOLVED"),
    ]
    for payload in reversed(story):  # Zendesk does not guarantee the order; neither do we need it
        assert send(server, payload) in (200, 202)
    server.wait_processed()
    with server.sessions() as session:
        t = tickets.get(session, "zendesk:48213")
    assert t is not None
    assert (t.channel, t.status) == (Channel.WEB, Status.SOLVED)
    assert t.first_response_seconds == 25 * 60
    assert t.response_intervals_seconds == (25 * 60, 20 * 60)
    assert (t.agent_replies, t.customer_messages) == (2, 2)
    assert t.first_resolution_seconds == 26 * 60 and t.full_resolution_seconds == 210 * 60
    assert (t.times_resolved, t.reopens, t.one_touch, t.abandoned) == (2, 1, False, False)
    assert t.tags == ("delivery",)


def test_a_trigger_story_with_a_good_rating(server: RunningServer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def trigger(event: str, role: str, status: str, minutes: float, **extra: Any) -> dict[str, Any]:
        when = (OPENED + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%MZ")
        return {"event": event, "actor_role": role,
                "ticket": {"id": "555", "title": "Refund please", "status": status, "priority": "High",
                           "ticket_type": "Question", "via": "Mail", "tags": "refund vip",
                           "created_at": OPENED.strftime("%Y-%m-%dT%H:%MZ"), "updated_at": when,
                           "group": "Support", "requester": {"name": "Cleo", "email": "cleo@example.com"},
                           "assignee": {"name": "Ana", "email": "ana@example.com"}, "link": "x"},
                "current_user": {"name": "Ana" if role == "agent" else "Cleo", "email": "someone@example.com"},
                **extra}

    sent = [
        ("/webhooks/zendesk", trigger("ticket_created", "end-user", "New", 0)),
        ("/webhooks/zendesk", trigger("public_comment", "agent", "Open", 42, latest_public_comment="Done!")),
        ("/webhooks/zendesk", trigger("ticket_solved", "agent", "Solved", 43)),
        ("/webhooks/zendesk/satisfaction_rated",
         trigger("", "end-user", "Solved", 60, satisfaction={"current_rating": "Good", "current_comment": "Fast!"})),
    ]
    for path, payload in sent:
        if not payload["event"]:
            del payload["event"]  # the URL's last segment names it
        assert send(server, payload, path) in (200, 202)
    server.wait_processed()
    with server.sessions() as session:
        t = tickets.get(session, "zendesk:555")
        fates = list(session.scalars(select(RawDelivery.fate)))
    assert fates == ["processed"] * 4
    assert t is not None and t.channel == Channel.EMAIL
    assert t.first_response_seconds == 42 * 60
    assert t.first_resolution_seconds == 43 * 60
    assert (t.csat, t.csat_raw, t.csat_comment) == (Csat.GOOD, "Good", "Fast!")
    assert set(t.tags) == {"refund", "vip"}
    monkeypatch.setenv("DATABASE_URL", str(server.service.database.engine.url.render_as_string(hide_password=False)))
    shown = json.loads(CliRunner().invoke(cli, ["ticket", "zendesk:555", "--json"]).output)
    assert (shown["csat"], shown["one_touch"], shown["first_response_seconds"]) == ("good", True, 2520.0)


def test_zendesk_signatures_are_checked(server: RunningServer) -> None:
    payload = zendesk_event("created", 0, {"meta": {}})
    body, headers = zendesk_request(payload, secret="wrong")
    assert server.post("/webhooks/zendesk", body, headers).status_code == 401
    body, headers = zendesk_request(payload, when=datetime.now(UTC) - timedelta(hours=1))
    response = server.post("/webhooks/zendesk", body, headers)
    assert response.status_code == 401 and response.json()["error"] == "stale_timestamp"


def test_each_zendesk_webhook_may_have_its_own_secret(database_url: str, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Zendesk gives every webhook its own signing secret: several can be configured, comma-separated."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ZENDESK_WEBHOOK_SECRET", "secret-of-the-events-webhook, secret-of-the-trigger-webhook")
    running = start_server()
    try:
        answers = {}
        for n, secret in enumerate(("secret-of-the-events-webhook", "secret-of-the-trigger-webhook", "neither")):
            body, headers = zendesk_request(zendesk_event("created", n, {"meta": {}}, event_id=f"e{n}"), secret=secret)
            answers[secret] = running.post("/webhooks/zendesk", body, headers).status_code
    finally:
        running.stop()
    assert answers == {"secret-of-the-events-webhook": 202, "secret-of-the-trigger-webhook": 202, "neither": 401}
