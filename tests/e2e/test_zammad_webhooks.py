"""Zammad over real, signed HTTP: a ticket a support lead knows gives the exact numbers."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from metrics.model import Channel, Priority, Status
from storage import tickets
from storage.tables import RawDelivery
from tests.support.server import RunningServer
from tests.support.signing import signed_request

OPENED = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
EMMA = {"id": 5, "firstname": "Emma", "lastname": "Taylor", "email": "emma@support.example", "roles": ["Agent"]}
EMILY = {"id": 8, "firstname": "Emily", "lastname": "Adams", "email": "emily@example.com", "roles": ["Customer"]}


def at(minutes: float) -> str:
    """Rails' JSON time, as Zammad sends it: milliseconds and Z."""
    return (OPENED + timedelta(minutes=minutes)).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ticket(number: int, minutes: float, state: str) -> dict[str, Any]:
    """The ticket part of Zammad's default webhook payload (associations expanded)."""
    return {"id": number - 10000, "number": str(number), "title": "Parcel is late", "state": state, "state_id": 2,
            "priority": {"id": 2, "name": "2 normal", "default_create": True}, "priority_id": 2,
            "group": {"id": 3, "name": "Service Desk"}, "group_id": 3, "owner": EMMA, "owner_id": 5,
            "customer": EMILY, "customer_id": 8, "organization": {}, "organization_id": None,
            "create_article_sender": "Customer", "create_article_type": "email", "created_at": at(0),
            "updated_at": at(minutes), "created_by": EMILY, "created_by_id": 8, "updated_by": EMMA,
            "updated_by_id": 5}


def article(article_id: int, minutes: float, sender: str, *, kind: str = "email", internal: bool = False
            ) -> dict[str, Any]:
    by = EMILY if sender == "Customer" else EMMA
    return {"id": article_id, "ticket_id": 81, "sender": sender, "type": kind, "internal": internal,
            "body": "…", "content_type": "text/html", "created_at": at(minutes), "updated_at": at(minutes),
            "created_by": by, "created_by_id": by["id"], "from": by["email"], "to": "Service Desk",
            "attachments": [], "accounted_time": 0}


def story(number: int) -> list[dict[str, Any]]:
    """Emailed in, a note, answered in 25 min, closed, a follow-up at 3 h (reopens), answered, closed."""
    n = number * 10
    return [
        {"ticket": ticket(number, 0, "new"), "article": article(n + 1, 0, "Customer")},
        {"ticket": ticket(number, 10, "new"), "article": article(n + 2, 10, "Agent", kind="note", internal=True)},
        {"ticket": ticket(number, 25, "open"), "article": article(n + 3, 25, "Agent")},
        {"ticket": ticket(number, 26, "closed"), "article": {}},
        # Zammad reopens a closed ticket on the customer's follow-up, just after storing it.
        {"ticket": ticket(number, 180 + 1 / 60, "open"), "article": article(n + 4, 180, "Customer")},
        {"ticket": ticket(number, 200, "open"), "article": article(n + 5, 200, "Agent")},
        {"ticket": ticket(number, 210, "closed"), "article": {}},
    ]


def send(server: RunningServer, payload: dict[str, Any], **kwargs: Any) -> Any:
    body, headers = signed_request("zammad", payload, **kwargs)
    return server.post("/webhooks/zammad", body, headers)


def test_a_ticket_reopened_by_the_customer_in_either_order(server: RunningServer) -> None:
    for payload in story(20001):
        assert send(server, payload).status_code == 202
    for payload in reversed(story(20002)):  # retries and a busy job queue reorder Zammad's deliveries
        assert send(server, payload).status_code == 202
    server.wait_processed()
    with server.sessions() as session:
        found = [tickets.get(session, "zammad:20001"), tickets.get(session, "zammad:20002")]
    for t in found:
        assert t is not None
        assert (t.channel, t.status, t.priority, t.created_at) == (Channel.EMAIL, Status.CLOSED, Priority.NORMAL,
                                                                   OPENED)
        assert t.first_response_seconds == 25 * 60
        assert t.response_intervals_seconds == (25 * 60, 20 * 60)
        assert (t.agent_replies, t.customer_messages, t.bot_replies) == (2, 2, 0)
        assert t.first_resolution_seconds == 26 * 60
        assert t.full_resolution_seconds == 210 * 60
        assert (t.times_resolved, t.reopens, t.one_touch, t.abandoned) == (2, 1, False, False)
        assert t.csat is None  # Zammad has no satisfaction surveys
        assert t.assignee is not None and t.assignee.name == "Emma Taylor" and t.group == "Service Desk"


def test_a_retry_with_a_rebuilt_body_is_counted_once(server: RunningServer) -> None:
    reply = {"ticket": ticket(20003, 25, "open"), "article": article(200031, 25, "Agent")}
    body, headers = signed_request("zammad", reply)
    assert server.post("/webhooks/zammad", body, headers).status_code == 202
    rebuilt = copy.deepcopy(reply)
    rebuilt["ticket"]["updated_at"] = at(25.5)  # Zammad renders the payload again on each attempt
    body, again = signed_request("zammad", rebuilt)
    again["x-zammad-delivery"] = headers["x-zammad-delivery"]  # ... under the same job id
    retried = server.post("/webhooks/zammad", body, again)
    assert retried.status_code == 200 and retried.json()["status"] == "duplicate"
    server.wait_processed()
    with server.sessions() as session:
        t = tickets.get(session, "zammad:20003")
        fates = sorted(session.scalars(select(RawDelivery.fate)))
    assert t is not None and t.agent_replies == 1
    assert fates == ["duplicate", "processed"]


def test_a_webhook_that_is_not_about_a_ticket_is_kept_and_ignored(server: RunningServer) -> None:
    response = send(server, {"text": "Ticket #20004 was updated", "mrkdwn": True})  # a chat-notification body
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    with server.sessions() as session:
        assert list(session.scalars(select(RawDelivery.fate))) == ["ignored"]


def test_zammad_signatures_are_checked(server: RunningServer) -> None:
    payload = {"ticket": ticket(20005, 0, "new"), "article": article(200051, 0, "Customer")}
    assert send(server, payload, secret="wrong").status_code == 401
    body, headers = signed_request("zammad", payload)
    unsigned = {k: v for k, v in headers.items() if k != "x-hub-signature"}  # no signature token on the webhook
    response = server.post("/webhooks/zammad", body, unsigned)
    assert response.status_code == 401 and response.json()["error"] == "missing_signature"
