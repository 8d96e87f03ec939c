"""Front over real, signed HTTP: a support lead's story gives the exact numbers."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from metrics.model import Channel, Status
from storage import tickets
from storage.ingest.adapters import front
from storage.tables import RawDelivery
from tests.support.server import RunningServer
from tests.support.signing import secret_for, signed_request

OPENED = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
CONVERSATION = "cnv_yo1kg5q"
ANA = {"_links": {"self": "https://acme.api.frontapp.com/teammates/tea_6r55a"}, "id": "tea_6r55a",
       "email": "ana@example.com", "username": "ana", "first_name": "Ana", "last_name": "Silva", "is_admin": False,
       "is_available": True, "is_blocked": False, "type": "user", "custom_fields": {}}
AUTO_REPLY_RULE = {**ANA, "id": "tea_rule_1", "email": "rule@example.com", "username": "auto-reply",
                   "first_name": "Auto", "last_name": "reply", "type": "rule"}
CLEO = {"_links": {"related": {"contact": "https://acme.api.frontapp.com/contacts/crd_2njtoem"}},
        "name": "Cleo", "handle": "cleo@example.com", "role": "from"}
INBOX = {"_meta": {"type": "inboxes"}, "data": [{"id": "inb_1ix6", "name": "Support", "is_private": False}]}


def at(minutes: float) -> float:
    return (OPENED + timedelta(minutes=minutes)).timestamp() + 0.25  # Front's times are float seconds


def conversation(status: str) -> dict[str, Any]:
    return {"_links": {"self": f"https://acme.api.frontapp.com/conversations/{CONVERSATION}"}, "id": CONVERSATION,
            "subject": "Parcel is late", "status": status, "ticket_ids": [],
            "assignee": None if status == "unassigned" else ANA, "recipient": CLEO,
            "tags": [{"id": "tag_2oxhvy", "name": "delivery", "description": None, "highlight": None,
                      "is_private": False, "is_visible_in_conversation_lists": True}],
            "links": [], "custom_fields": {}, "created_at": at(0), "is_private": False, "scheduled_reminders": [],
            "metadata": {}}


def message(message_id: str, minutes: float, *, inbound: bool, author: dict[str, Any] | None,
            text: str) -> dict[str, Any]:
    return {"_meta": {"type": "message"}, "data": {
        "id": message_id, "type": "email", "is_inbound": inbound, "created_at": at(minutes), "subject": "Parcel",
        "blurb": text, "author": author, "body": f"<p>{text}</p>", "text": text, "attachments": [],
        "recipients": [CLEO, {"name": "Support", "handle": "support@acme.example", "role": "to"}]}}


def event(envelope: str, kind: str, n: int, minutes: float, status: str, *, target: dict[str, Any] | None = None,
          source: dict[str, Any] | None = None) -> dict[str, Any]:
    """An application webhook: Front's envelope around the event."""
    return {"type": envelope, "authorization": {"id": "cmp_4f2a"}, "payload": {
        "_links": {"self": f"https://acme.api.frontapp.com/events/evt_{n}"}, "id": f"evt_{n}", "type": kind,
        "emitted_at": at(minutes), "source": source or INBOX, "target": target,
        "conversation": conversation(status)}}


BY_ANA = {"_meta": {"type": "teammate"}, "data": ANA}
STORY = [
    event("inbound_received", "inbound", 1, 0, "unassigned",
          target=message("msg_1", 0, inbound=True, author=None, text="Where is my parcel?")),
    event("outbound_sent", "out_reply", 2, 0.5, "unassigned",
          target=message("msg_2", 0.5, inbound=False, author=AUTO_REPLY_RULE, text="We got your message.")),
    event("new_comment_added", "comment", 3, 10, "assigned", source=BY_ANA, target={
        "_meta": {"type": "comment"},
        "data": {"id": "com_1", "author": ANA, "body": "Carrier is late", "posted_at": at(10), "attachments": []}}),
    event("outbound_sent", "out_reply", 4, 25, "assigned",
          target=message("msg_3", 25, inbound=False, author=ANA, text="It ships today.")),
    event("conversation_archived", "archive", 5, 26, "archived", source=BY_ANA),
    event("inbound_received", "inbound", 6, 180, "assigned",  # Front unarchives on a new message
          target=message("msg_4", 180, inbound=True, author=None, text="Still nothing")),
    event("outbound_sent", "out_reply", 7, 200, "assigned",
          target=message("msg_5", 200, inbound=False, author=ANA, text="Refunded.")),
    event("conversation_archived", "archive", 8, 210, "archived", source=BY_ANA),
]


def send(server: RunningServer, payload: dict[str, Any], **extra: str) -> tuple[int, dict[str, Any]]:
    body, headers = signed_request("front", payload)
    response = server.post("/webhooks/front", body, {**headers, **extra})
    return response.status_code, response.json()


def test_a_conversation_reopened_by_the_customer(server: RunningServer) -> None:
    for payload in reversed(STORY):
        assert send(server, payload)[0] == 202
    server.wait_processed()
    with server.sessions() as session:
        t = tickets.get(session, f"front:{CONVERSATION}")
    assert t is not None
    assert (t.channel, t.status, t.status_raw) == (Channel.EMAIL, Status.CLOSED, "archived")
    assert t.first_response_seconds == 25 * 60  # the rule's auto-reply is no response
    assert t.response_intervals_seconds == (25 * 60, 20 * 60)
    assert (t.agent_replies, t.customer_messages, t.bot_replies) == (2, 2, 1)
    assert t.first_resolution_seconds == 26 * 60 and t.full_resolution_seconds == 210 * 60
    assert (t.times_resolved, t.reopens) == (2, 1)
    assert t.csat is None  # Front sends no ratings
    assert t.tags == ("delivery",) and t.agents == ("tea_6r55a",)


def test_a_repeated_event_counts_once(server: RunningServer) -> None:
    assert send(server, STORY[0])[0] == 202
    assert send(server, STORY[3])[0] == 202
    assert send(server, STORY[3])[1]["status"] == "duplicate"
    server.wait_processed()
    with server.sessions() as session:
        t = tickets.get(session, f"front:{CONVERSATION}")
    assert t is not None and (t.agent_replies, t.first_response_seconds) == (1, 1500)


def test_the_validation_request_is_answered_and_other_events_are_ignored(server: RunningServer) -> None:
    sync = {"type": "sync", "authorization": {"id": "cmp_4f2a"}}
    assert send(server, sync, **{"x-front-challenge": "7f3c9a"}) == (200, {"challenge": "7f3c9a"})
    moved = event("conversation_moved", "move", 9, 30, "assigned", target=INBOX)
    assert send(server, moved) == (200, {"status": "ignored", "delivery_id": 2})
    with server.sessions() as session:
        fates = session.execute(select(RawDelivery.fate, RawDelivery.error_code).order_by(RawDelivery.id)).all()
    assert [tuple(f) for f in fates] == [("ignored", "handshake"), ("ignored", None)]


def test_rule_webhooks_are_signed_with_sha1_and_application_webhooks_must_be_fresh(server: RunningServer) -> None:
    rule_body = json.dumps(STORY[0]["payload"]).encode()  # a rule webhook sends the bare event
    signed = {"content-type": "application/json", "x-front-signature": front.sign_rule(secret_for("front"), rule_body)}
    assert server.post("/webhooks/front", rule_body, signed).status_code == 202
    body, headers = signed_request("front", STORY[1], when=datetime.now(UTC) - timedelta(minutes=10))
    response = server.post("/webhooks/front", body, headers)
    assert response.status_code == 401 and response.json()["error"] == "stale_timestamp"
    body, headers = signed_request("front", STORY[1])
    stripped = {k: v for k, v in headers.items() if k != "x-front-request-timestamp"}
    assert server.post("/webhooks/front", body, stripped).json()["error"] == "bad_signature"
