"""Gorgias over real HTTP with its static token: the story a support lead knows gives the exact numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from metrics.model import Channel, Role, Status
from storage import tickets
from storage.tables import RawDelivery
from tests.support.server import RunningServer
from tests.support.signing import signed_request

OPENED = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)
TICKET_ID = 86538298
CUSTOMER = {"id": 5005, "email": "cleo@example.com", "name": "Cleo Customer"}
AGENT = {"id": 9001, "email": "ana@acme.example", "name": "Ana Agent"}


def at(minutes: float) -> str:
    """Gorgias' datetimes, without a UTC offset."""
    return (OPENED + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%f")


def message(message_id: int, minutes: float, *, author: str, text: str, public: bool = True) -> dict[str, Any]:
    """A TicketMessage as Gorgias documents it; `author` is customer, agent, rule or note."""
    from_agent = author != "customer"
    return {"id": message_id, "uri": f"/api/tickets/{TICKET_ID}/messages/{message_id}/", "ticket_id": TICKET_ID,
            "channel": "internal-note" if author == "note" else "email", "via": "rule" if author == "rule" else "email",
            "from_agent": from_agent, "rule_id": 4411 if author == "rule" else None,
            "public": public and author != "note", "sender": AGENT if from_agent else CUSTOMER,
            "body_text": text, "stripped_text": text, "created_datetime": at(minutes),
            "sent_datetime": at(minutes) if from_agent else None, "failed_datetime": None}


ASKED = message(208841401, 0, author="customer", text="Where is my parcel?")
AUTO_REPLY = message(208841410, 0.1, author="rule", text="Thanks, we got your message.")
NOTE = message(208841420, 20, author="note", text="Checking with the warehouse")
ANSWERED = message(208841467, 25, author="agent", text="It ships today.")
ASKED_AGAIN = message(208841502, 180, author="customer", text="Still nothing.")
ANSWERED_AGAIN = message(208841530, 200, author="agent", text="A new one is on its way.")


def ticket(minutes: float, status: str, *, closed: float | None = None, messages: tuple[dict[str, Any], ...] = ()
           ) -> dict[str, Any]:
    """A Ticket as Gorgias documents it, as of `minutes` after it was opened."""
    return {"id": TICKET_ID, "uri": f"/api/tickets/{TICKET_ID}/", "status": status, "channel": "email",
            "via": "email", "from_agent": False, "spam": False, "priority": "normal", "customer": CUSTOMER,
            "assignee_user": AGENT, "assignee_team": {"id": 12, "name": "Tier 1"}, "subject": "Parcel never arrived",
            "tags": [{"id": 301, "name": "delivery"}], "messages": list(messages),
            "created_datetime": at(0), "updated_datetime": at(minutes),
            "closed_datetime": at(closed) if closed is not None else None, "snooze_datetime": None,
            "trashed_datetime": None, "satisfaction_survey": None}


STORY: list[tuple[str, dict[str, Any]]] = [
    ("ticket-created", {"ticket": ticket(0, "open", messages=(ASKED,))}),
    ("ticket-message-created", {"ticket": ticket(0, "open", messages=(ASKED,)), "message": ASKED}),
    ("ticket-message-created", {"message": AUTO_REPLY}),  # a rule answers at once: no first response
    ("ticket-message-created", {"message": NOTE}),
    ("ticket-message-created", {"message": ANSWERED}),
    ("ticket-updated", {"ticket": ticket(26, "closed", closed=26, messages=(ASKED, AUTO_REPLY, ANSWERED))}),
    ("ticket-message-created", {"message": ASKED_AGAIN}),
    ("ticket-updated", {"ticket": ticket(180, "open", messages=(ASKED, AUTO_REPLY, ANSWERED, ASKED_AGAIN))}),
    ("ticket-message-created", {"message": ANSWERED_AGAIN}),
    ("ticket-updated", {"ticket": ticket(210, "closed", closed=210,
                                         messages=(ASKED, AUTO_REPLY, ANSWERED, ASKED_AGAIN, ANSWERED_AGAIN))}),
]


def send(server: RunningServer, trigger: str, payload: dict[str, Any], **signing: Any) -> int:
    body, headers = signed_request("gorgias", payload, **signing)
    return server.post(f"/webhooks/gorgias/{trigger}", body, headers).status_code


@pytest.mark.parametrize("order", ["as sent", "reversed"])
def test_a_ticket_reopened_by_the_customer(server: RunningServer, order: str) -> None:
    for trigger, payload in STORY if order == "as sent" else reversed(STORY):
        assert send(server, trigger, payload) in (200, 202)
    server.wait_processed()
    with server.sessions() as session:
        t = tickets.get(session, f"gorgias:{TICKET_ID}")
    assert t is not None
    assert (t.channel, t.status, t.created_at) == (Channel.EMAIL, Status.CLOSED, OPENED)
    assert t.first_response_seconds == 25 * 60  # the rule's auto-reply at 6 s does not count
    assert t.response_intervals_seconds == (25 * 60, 20 * 60)
    assert (t.agent_replies, t.customer_messages, t.bot_replies) == (2, 2, 1)
    assert t.first_resolution_seconds == 26 * 60 and t.full_resolution_seconds == 210 * 60
    assert (t.times_resolved, t.reopens, t.one_touch, t.abandoned) == (2, 1, False, False)
    assert (t.csat, t.tags, t.first_responder) == (None, ("delivery",), "9001")  # Gorgias sends no survey answer
    assert [m.role for m in t.messages] == [Role.CUSTOMER, Role.BOT, Role.AGENT, Role.CUSTOMER, Role.AGENT]


def test_duplicates_unknown_triggers_snoozes_and_tokens(server: RunningServer) -> None:
    assert send(server, "ticket-created", {"ticket": ticket(0, "open", messages=(ASKED,))}) == 202
    assert send(server, "ticket-message-created", {"message": ANSWERED}) == 202
    again = signed_request("gorgias", {"message": ANSWERED})
    assert server.post("/webhooks/gorgias/ticket-message-created", *again).json()["status"] == "duplicate"
    failed = server.post("/webhooks/gorgias/ticket-message-failed", *signed_request("gorgias", {"message": ANSWERED}))
    assert (failed.status_code, failed.json()["status"]) == (200, "ignored")
    snoozed = ticket(30, "closed", closed=30)
    snoozed["snooze_datetime"] = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.%f")
    assert send(server, "ticket-updated", {"ticket": snoozed}) == 202
    assert send(server, "ticket-updated", {"ticket": ticket(31, "open")}, secret="not-the-secret") == 401
    server.wait_processed()
    with server.sessions() as session:
        t = tickets.get(session, f"gorgias:{TICKET_ID}")
        fates = sorted(session.scalars(select(RawDelivery.fate)))
    assert fates == ["duplicate", "ignored", "processed", "processed", "processed"]
    assert t is not None and (t.agent_replies, t.first_response_seconds) == (1, 25 * 60)
    assert (t.status, t.status_raw, t.times_resolved) == (Status.ON_HOLD, "snoozed", 0)  # snoozed is not solved
