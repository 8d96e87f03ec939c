"""Help Scout over real, signed HTTP: a support lead's story gives the exact numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from metrics.model import Channel, Csat, CsatScale, Status
from storage import tickets
from storage.tables import RawDelivery
from tests.support.server import RunningServer
from tests.support.signing import signed_request

OPENED = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
CONVERSATION = 2391938111
CLEO = {"id": 449379, "type": "customer", "first": "Cleo", "last": "Dupont", "email": "cleo@example.com"}
ANA = {"id": 2002, "type": "user", "first": "Ana", "last": "Silva", "email": "ana@example.com"}


def at(minutes: float) -> str:
    return (OPENED + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


def thread(thread_id: int, kind: str, minutes: float, by: dict[str, Any], *, status: str = "nochange",
           body: str = "", action: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": thread_id, "type": kind, "status": status, "state": "published", "action": action or {},
            "body": body, "source": {"type": "email", "via": by["type"]}, "customer": CLEO, "createdBy": by,
            "assignedTo": ANA, "to": [], "cc": [], "bcc": [], "createdAt": at(minutes)}


THREADS = [
    thread(10001, "customer", 0, CLEO, status="active", body="Where is my parcel?"),
    thread(10002, "note", 10, ANA, body="Carrier is late"),
    thread(10003, "message", 25, ANA, status="pending", body="It ships today."),
    thread(10004, "lineitem", 26, ANA, status="closed", action={"type": "default", "text": "marked as Closed"}),
    thread(10005, "customer", 180, CLEO, status="active", body="Still nothing"),
    thread(10006, "message", 200, ANA, body="Refunded."),
    thread(10007, "lineitem", 210, ANA, status="closed", action={"type": "default", "text": "marked as Closed"}),
]


def conversation(upto: int, status: str, minutes: float, *, closed_at: float | None = None) -> dict[str, Any]:
    """The v2 Conversation object Help Scout sends, with the threads written so far (newest first)."""
    return {
        "id": CONVERSATION, "number": 349, "threads": upto, "type": "email", "folderId": 1234, "status": status,
        "state": "published", "subject": "Parcel is late", "preview": "...", "mailboxId": 85,
        "assignee": ANA, "createdBy": CLEO, "createdAt": at(0), "closedBy": 2002 if closed_at else 0,
        "closedByUser": ANA if closed_at else None, "closedAt": at(closed_at) if closed_at else None,
        "userUpdatedAt": at(minutes), "customerWaitingSince": {"time": at(0), "friendly": "2 days ago"},
        "source": {"type": "email", "via": "customer"}, "tags": [{"id": 9150, "color": "#929499", "tag": "delivery"}],
        "cc": [], "bcc": [], "primaryCustomer": CLEO, "customFields": [],
        "_embedded": {"threads": list(reversed(THREADS[:upto]))},
    }


STORY = [
    ("convo.created", conversation(1, "active", 0)),
    ("convo.note.created", conversation(2, "active", 10)),
    ("convo.agent.reply.created", conversation(3, "pending", 25)),
    ("convo.status", conversation(4, "closed", 26, closed_at=26)),
    ("convo.customer.reply.created", conversation(5, "active", 26, closed_at=26)),
    ("convo.agent.reply.created", conversation(6, "active", 200, closed_at=26)),
    ("convo.status", conversation(7, "closed", 210, closed_at=210)),
    ("satisfaction.ratings", {"id": 5434, "conversationId": CONVERSATION, "threadId": 10006, "rating": "great",
                              "comments": "Fast and kind", "customer": CLEO, "user": ANA, "createdAt": at(240),
                              "modifiedAt": at(240)}),
]


def send(server: RunningServer, event: str, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    body, headers = signed_request("helpscout", payload)
    response = server.post("/webhooks/helpscout", body, {**headers, "x-helpscout-event": event})
    return response.status_code, response.json()


def test_a_conversation_reopened_by_the_customer_and_rated(server: RunningServer) -> None:
    for event, payload in reversed(STORY):  # every delivery restates the history; the order does not matter
        assert send(server, event, payload)[0] == 202
    server.wait_processed()
    with server.sessions() as session:
        t = tickets.get(session, f"helpscout:{CONVERSATION}")
    assert t is not None
    assert (t.channel, t.status, t.subject) == (Channel.EMAIL, Status.CLOSED, "Parcel is late")
    assert t.first_response_seconds == 25 * 60
    assert t.response_intervals_seconds == (25 * 60, 20 * 60)
    assert (t.agent_replies, t.customer_messages, t.bot_replies) == (2, 2, 0)  # the note is not a reply
    assert t.first_resolution_seconds == 26 * 60 and t.full_resolution_seconds == 210 * 60
    assert (t.times_resolved, t.reopens) == (2, 1)
    assert (t.csat, t.csat_scale, t.csat_raw, t.csat_comment) == (Csat.GOOD, CsatScale.THREE_POINT, "great",
                                                                  "Fast and kind")
    assert t.tags == ("delivery",) and t.assignee is not None and t.assignee.name == "Ana Silva"


def test_the_same_event_sent_twice_counts_once(server: RunningServer) -> None:
    event, payload = STORY[2]
    assert send(server, event, payload)[0] == 202
    assert send(server, event, payload)[1]["status"] == "duplicate"
    assert send(server, "convo.assigned", payload)[0] == 202  # another event with the same body is its own delivery
    server.wait_processed()
    with server.sessions() as session:
        t = tickets.get(session, f"helpscout:{CONVERSATION}")
    assert t is not None and (t.agent_replies, t.customer_messages, t.first_response_seconds) == (1, 1, 1500)


def test_other_events_are_ignored_the_test_event_is_answered_and_a_missing_event_is_refused(
        server: RunningServer) -> None:
    assert send(server, "customer.created", {"id": 449379, "firstName": "Cleo"}) == (
        200, {"status": "ignored", "delivery_id": 1})
    assert send(server, "helpscout.test", {"test": True}) == (200, {"ok": True, "event": "helpscout.test"})
    body, headers = signed_request("helpscout", STORY[0][1])
    response = server.post("/webhooks/helpscout", body, headers)  # no X-HelpScout-Event
    assert response.status_code == 422 and response.json()["error"] == "missing_event"
    with server.sessions() as session:
        fates = session.execute(select(RawDelivery.fate, RawDelivery.error_code).order_by(RawDelivery.id)).all()
    assert [tuple(f) for f in fates] == [("ignored", None), ("ignored", "handshake"), ("failed", "missing_event")]


def test_a_deleted_conversation_leaves_the_metrics(server: RunningServer) -> None:
    assert send(server, *STORY[0])[0] == 202
    assert send(server, "convo.deleted", {"id": CONVERSATION})[0] == 202
    server.wait_processed()
    with server.sessions() as session:
        t = tickets.get(session, f"helpscout:{CONVERSATION}")
    assert t is not None and t.removed is not None and t.removed.value == "deleted"


def test_help_scout_signatures_are_checked(server: RunningServer) -> None:
    body, headers = signed_request("helpscout", STORY[0][1], secret="not-the-webhook-secret")
    response = server.post("/webhooks/helpscout", body, {**headers, "x-helpscout-event": "convo.created"})
    assert response.status_code == 401 and response.json()["error"] == "bad_signature"
