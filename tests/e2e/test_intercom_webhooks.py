"""Intercom over real, signed HTTP: a support lead's story gives the exact numbers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import cli
from metrics.model import Channel, Csat, CsatScale, Priority, Status
from storage import tickets
from storage.tables import RawDelivery
from tests.support.server import RunningServer
from tests.support.signing import signed_request

OPENED = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
CONVERSATION = "215472621202693"
CLEO = {"type": "user", "id": "6650a1f0c2", "name": "Cleo", "email": "cleo@example.com"}
ANA = {"type": "admin", "id": "7412", "name": "Ana", "email": "ana@example.com"}
FIN = {"type": "bot", "id": "9608808", "name": "Fin", "email": "operator+k7x9pz1@intercom.io",
       "from_ai_agent": True, "is_ai_answer": True}


def at(minutes: float) -> int:
    return int((OPENED + timedelta(minutes=minutes)).timestamp())


def part(part_id: str, kind: str, minutes: float, author: dict[str, Any], body: str | None = None) -> dict[str, Any]:
    return {"type": "conversation_part", "id": part_id, "part_type": kind, "body": body, "created_at": at(minutes),
            "updated_at": at(minutes), "notified_at": at(minutes), "assigned_to": None, "author": author,
            "attachments": [], "external_id": None, "redacted": False}


def notification(topic: str, minutes: float, *parts: dict[str, Any], state: str = "open",
                 rating: dict[str, Any] | None = None, notif_id: str | None = None,
                 attempts: int = 1) -> dict[str, Any]:
    """A notification as Intercom documents it: the conversation with the part(s) that caused it."""
    item = {
        "type": "conversation", "id": CONVERSATION, "created_at": at(0), "updated_at": at(minutes),
        "waiting_since": None, "snoozed_until": None, "title": "Parcel is late",
        "source": {"type": "conversation", "id": "3381828792", "delivered_as": "customer_initiated", "subject": "",
                   "body": "<p>Where is my parcel?</p>", "author": CLEO, "attachments": [], "url": None,
                   "redacted": False},
        "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": CLEO["id"], "external_id": "c-1"}]},
        "admin_assignee_id": 7412, "team_assignee_id": None, "open": state == "open", "state": state, "read": True,
        "priority": "not_priority", "conversation_rating": rating,
        "tags": {"type": "tag.list", "tags": [{"type": "tag", "id": "81", "name": "delivery"}]},
        "conversation_parts": {"type": "conversation_part.list", "conversation_parts": list(parts),
                               "total_count": len(parts)},
    }
    return {"type": "notification_event", "app_id": "k7x9pz1",
            "data": {"type": "notification_event_data", "item": item}, "links": {},
            "id": notif_id or f"notif_{topic}_{minutes}", "topic": topic, "delivery_status": "pending",
            "delivery_attempts": attempts, "delivered_at": 0, "first_sent_at": at(minutes),
            "created_at": at(minutes), "self": None}


STORY = [
    notification("conversation.user.created", 0),
    notification("conversation.operator.replied", 1, part("900001", "comment", 1, FIN, "<p>Fin here, one moment</p>")),
    notification("conversation.admin.noted", 10, part("900002", "note", 10, ANA, "<p>Carrier is late</p>")),
    notification("conversation.admin.replied", 25, part("900003", "comment", 25, ANA, "<p>It ships today.</p>")),
    notification("conversation.admin.closed", 26, part("900004", "close", 26, ANA), state="closed"),
    notification("conversation.user.replied", 180, part("900005", "comment", 180, CLEO, "<p>Still nothing</p>")),
    notification("conversation.admin.replied", 200, part("900006", "comment", 200, ANA, "<p>Refunded.</p>")),
    notification("conversation.admin.closed", 210, part("900007", "close", 210, ANA), state="closed"),
    notification("conversation.rating.added", 240, state="closed",
                 rating={"rating": 4, "remark": "Quick, thanks", "created_at": at(210),
                         "contact": {"type": "contact", "id": CLEO["id"]},
                         "teammate": {"type": "admin", "id": "7412"}}),
]


def send(server: RunningServer, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    body, headers = signed_request("intercom", payload)
    response = server.post("/webhooks/intercom", body, headers)
    return response.status_code, response.json()


def test_a_conversation_reopened_by_the_customer_and_rated(server: RunningServer, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    for payload in reversed(STORY):  # Intercom does not promise the order; deskpulse does not need it
        assert send(server, payload)[0] == 202
    server.wait_processed()
    with server.sessions() as session:
        t = tickets.get(session, f"intercom:{CONVERSATION}")
    assert t is not None
    assert (t.channel, t.channel_raw, t.status, t.priority) == (Channel.CHAT, "conversation", Status.CLOSED,
                                                                Priority.NORMAL)
    assert t.first_response_seconds == 25 * 60  # Fin's answer after a minute is not a response
    assert t.response_intervals_seconds == (25 * 60, 20 * 60)
    assert (t.agent_replies, t.customer_messages, t.bot_replies) == (2, 2, 1)
    assert t.first_resolution_seconds == 26 * 60 and t.full_resolution_seconds == 210 * 60
    assert (t.times_resolved, t.reopens, t.one_touch) == (2, 1, False)
    assert (t.csat, t.csat_scale, t.csat_score, t.csat_raw, t.csat_comment) == (
        Csat.GOOD, CsatScale.ONE_TO_FIVE, 4.0, "4", "Quick, thanks")
    assert t.tags == ("delivery",) and t.assignee is not None and t.assignee.id == "7412"
    monkeypatch.setenv("DATABASE_URL", str(server.service.database.engine.url.render_as_string(hide_password=False)))
    shown = json.loads(CliRunner().invoke(cli, ["ticket", f"intercom:{CONVERSATION}", "--json"]).output)
    assert (shown["csat"], shown["first_response_seconds"], shown["reopens"]) == ("good", 1500.0, 1)


def test_a_redelivered_notification_counts_once(server: RunningServer) -> None:
    reply = STORY[3]
    again = {**reply, "delivery_attempts": 2}  # Intercom's retry: same id, one more attempt
    assert send(server, STORY[0])[0] == 202
    assert send(server, reply)[0] == 202
    assert send(server, reply)[1]["status"] == "duplicate"
    assert send(server, again)[1]["status"] == "duplicate"
    server.wait_processed()
    with server.sessions() as session:
        t = tickets.get(session, f"intercom:{CONVERSATION}")
    assert t is not None and (t.agent_replies, t.customer_messages, t.first_response_seconds) == (1, 1, 1500)


def test_other_topics_are_kept_and_ignored_and_the_ping_is_answered(server: RunningServer) -> None:
    contact = {"type": "notification_event", "app_id": "k7x9pz1", "topic": "contact.user.created",
               "id": "notif_contact_1", "created_at": at(0),
               "data": {"type": "notification_event_data", "item": {"type": "contact", "id": "6650a1f0c2"}}}
    ping = {"type": "notification_event", "app_id": "k7x9pz1", "topic": "ping", "id": None,
            "created_at": at(0), "data": {"type": "notification_event_data",
                                          "item": {"type": "ping", "message": "something something interzen"}}}
    assert send(server, contact) == (200, {"status": "ignored", "delivery_id": 1})
    assert send(server, ping) == (200, {"ok": True, "topic": "ping"})
    server.wait_processed()
    with server.sessions() as session:
        fates = session.execute(select(RawDelivery.fate, RawDelivery.error_code).order_by(RawDelivery.id)).all()
    assert [tuple(f) for f in fates] == [("ignored", None), ("ignored", "handshake")]


def test_intercom_signatures_are_checked(server: RunningServer) -> None:
    body, headers = signed_request("intercom", STORY[0], secret="not-the-client-secret")
    assert server.post("/webhooks/intercom", body, headers).json()["error"] == "bad_signature"
    body, headers = signed_request("intercom", STORY[0])
    tampered = body.replace(b"Parcel is late", b"Parcel is here")
    assert server.post("/webhooks/intercom", tampered, headers).status_code == 401
