"""Chatwoot over real, signed HTTP: a conversation a support lead knows gives the exact numbers."""

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
from tests.support.server import RunningServer
from tests.support.signing import signed_request

OPENED = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
ANA = {"id": 3, "name": "Ana Agent", "email": "ana@acme.example", "type": "user"}
SECOND = 1 / 60  # in minutes: Chatwoot writes activity lines and surveys just after the status change
CLEO = {"id": 7, "name": "Cleo Customer", "email": "cleo@example.com", "type": "contact"}


def at(minutes: float) -> datetime:
    return OPENED + timedelta(minutes=minutes)


def conversation(display_id: int, minutes: float, status: str) -> dict[str, Any]:
    """A conversation as Chatwoot's webhooks show it (Unix created_at, float updated_at)."""
    return {"id": display_id, "inbox_id": 1, "channel": "Channel::WebWidget", "status": status, "priority": None,
            "labels": ["delivery"], "can_reply": True, "additional_attributes": {}, "custom_attributes": {},
            "meta": {"sender": {**CLEO, "thumbnail": ""}, "assignee": {"id": 3, "name": "Ana Agent", "type": "user"},
                     "assignee_type": "User", "team": None},
            "messages": [], "unread_count": 0, "waiting_since": 0, "timestamp": int(at(minutes).timestamp()),
            "created_at": int(OPENED.timestamp()), "updated_at": at(minutes).timestamp() + 0.25}


def created(display_id: int) -> dict[str, Any]:
    return {**conversation(display_id, 0, "open"), "event": "conversation_created"}


def status_changed(display_id: int, minutes: float, before: str, after: str) -> dict[str, Any]:
    return {**conversation(display_id, minutes, after), "event": "conversation_status_changed",
            "changed_attributes": [{"status": {"previous_value": before, "current_value": after}}]}


def message(display_id: int, message_id: int, minutes: float, message_type: str, sender: dict[str, Any] | None,
            status: str, **extra: Any) -> dict[str, Any]:
    return {"event": "message_created", "id": message_id, "content": "…", "content_type": "text",
            "content_attributes": {}, "additional_attributes": {}, "message_type": message_type, "private": False,
            "created_at": at(minutes).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "sender": sender, "source_id": None, "account": {"id": 1, "name": "Acme Shop"},
            "inbox": {"id": 1, "name": "Acme web chat"}, "conversation": conversation(display_id, minutes, status),
            **extra}


def rating(display_id: int, message_id: int, minutes: float, stars: int) -> dict[str, Any]:
    answered = message(display_id, message_id, 210 + SECOND, "template", None, "resolved", content_type="input_csat",
                       content_attributes={"submitted_values": {"csat_survey_response": {
                           "rating": stars, "feedback_message": "Quick and kind"}}})
    answered["conversation"] = conversation(display_id, minutes, "resolved")  # the answer touches it
    return {**answered, "event": "message_updated"}


def story(display_id: int) -> list[dict[str, Any]]:
    """Opened, asked, answered in 25 min, resolved, asked again at 3 h (reopens), answered, resolved, rated 5."""
    n = display_id * 100
    return [
        created(display_id),
        message(display_id, n + 1, 0, "incoming", CLEO, "open"),
        message(display_id, n + 2, 25, "outgoing", ANA, "open"),
        status_changed(display_id, 26, "open", "resolved"),
        message(display_id, n + 3, 26 + SECOND, "activity", None, "resolved"),  # "Conversation was marked resolved"
        message(display_id, n + 4, 26 + SECOND, "template", None, "resolved", content_type="input_csat"),  # survey
        message(display_id, n + 5, 180, "incoming", CLEO, "open"),  # Chatwoot reopens before it tells
        status_changed(display_id, 180, "resolved", "open"),
        message(display_id, n + 6, 190, "outgoing", ANA, "open", private=True),  # a note: no reply
        message(display_id, n + 7, 195, "outgoing", {"id": 2, "name": "Order bot", "type": "agent_bot"}, "open"),
        message(display_id, n + 8, 200, "outgoing", ANA, "open"),
        status_changed(display_id, 210, "open", "resolved"),
        message(display_id, n + 9, 210 + SECOND, "template", None, "resolved", content_type="input_csat"),
        rating(display_id, n + 9, 215, 5),
    ]


def send(server: RunningServer, payload: dict[str, Any], **kwargs: Any) -> Any:
    body, headers = signed_request("chatwoot", payload, **kwargs)
    return server.post("/webhooks/chatwoot", body, headers)


def test_a_conversation_reopened_by_the_customer_in_either_order(server: RunningServer) -> None:
    for payload in story(42):
        assert send(server, payload).status_code == 202
    for payload in reversed(story(43)):  # Chatwoot retries and queues: arrival order means nothing
        assert send(server, payload).status_code == 202
    server.wait_processed()
    with server.sessions() as session:
        in_order, reversed_ = tickets.get(session, "chatwoot:42"), tickets.get(session, "chatwoot:43")
    for t in (in_order, reversed_):
        assert t is not None
        assert (t.channel, t.status, t.created_at) == (Channel.CHAT, Status.SOLVED, OPENED)
        assert t.first_response_seconds == 25 * 60
        assert t.response_intervals_seconds == (25 * 60, 20 * 60)
        assert (t.agent_replies, t.customer_messages, t.bot_replies) == (2, 2, 1)
        assert t.first_resolution_seconds == 26 * 60 + 0.25
        assert t.full_resolution_seconds == 210 * 60 + 0.25
        assert (t.times_resolved, t.reopens, t.one_touch, t.abandoned) == (2, 1, False, False)
        assert (t.csat, t.csat_score, t.csat_raw, t.csat_comment) == (Csat.GOOD, 5.0, "5", "Quick and kind")
        assert t.tags == ("delivery",)


def test_the_ticket_command_shows_the_conversation(server: RunningServer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for payload in story(44):
        send(server, payload)
    server.wait_processed()
    monkeypatch.setenv("DATABASE_URL", server.service.database.engine.url.render_as_string(hide_password=False))
    shown = json.loads(CliRunner().invoke(cli, ["ticket", "chatwoot:44", "--json"]).output)
    assert (shown["csat"], shown["channel"], shown["first_response_seconds"], shown["reopens"]) == \
        ("good", "chat", 1500.0, 1)


def test_a_retried_delivery_is_counted_once(server: RunningServer) -> None:
    reply = message(45, 4501, 25, "outgoing", ANA, "open")
    body, headers = signed_request("chatwoot", reply)
    first = server.post("/webhooks/chatwoot", body, headers)
    later = signed_request("chatwoot", reply, when=datetime.now(UTC) + timedelta(seconds=30))[1]
    retried = server.post("/webhooks/chatwoot", body, later)  # same delivery id, fresh timestamp
    assert (first.status_code, retried.status_code, retried.json()["status"]) == (202, 200, "duplicate")
    server.wait_processed()
    with server.sessions() as session:
        t = tickets.get(session, "chatwoot:45")
        fates = sorted(session.scalars(select(RawDelivery.fate)))
    assert t is not None and t.agent_replies == 1
    assert fates == ["duplicate", "processed"]


def test_events_deskpulse_does_not_count_are_kept_and_ignored(server: RunningServer) -> None:
    for payload in ({"event": "contact_created", "id": 7, "name": "Cleo Customer", "account": {"id": 1}},
                    {"event": "conversation_typing_on", "conversation": conversation(46, 0, "open")},
                    {"event": "webwidget_triggered", "id": 12, "contact": CLEO, "event_info": {}}):
        response = send(server, payload)
        assert response.status_code == 200 and response.json()["status"] == "ignored"
    with server.sessions() as session:
        assert list(session.scalars(select(RawDelivery.fate))) == ["ignored"] * 3


def test_chatwoot_signatures_are_checked(server: RunningServer) -> None:
    assert send(server, created(47), secret="wrong").status_code == 401
    stale = send(server, created(47), when=datetime.now(UTC) - timedelta(hours=1))
    assert stale.status_code == 401 and stale.json()["error"] == "stale_timestamp"
    body, headers = signed_request("chatwoot", created(47))
    unsigned = {k: v for k, v in headers.items() if k != "x-chatwoot-signature"}  # a release before v4.11.2
    response = server.post("/webhooks/chatwoot", body, unsigned)
    assert response.status_code == 401 and response.json()["error"] == "missing_signature"
