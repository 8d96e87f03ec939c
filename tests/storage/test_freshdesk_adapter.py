"""Freshdesk payloads (the guide's template, rendered as Freshdesk renders it) become the expected facts."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from metrics.model import Csat, CsatScale, Role, TimeSource
from storage.codec import event_to_json
from storage.ingest.adapters import freshdesk
from storage.ingest.adapters.contract import AuthError, Delivery, PayloadError

ROOT = Path(__file__).resolve().parents[2]
CASES = sorted((ROOT / "tests" / "fixtures" / "webhooks" / "freshdesk").glob("*.json"))
NOW = datetime(2026, 11, 16, 9, 25, tzinfo=UTC)


def delivery(body: Any, *, hint: str | None = None, received_at: datetime = NOW) -> Delivery:
    return Delivery(headers={}, body=b"", payload=body, hint=hint, received_at=received_at)


def template(**fields: str) -> dict[str, Any]:
    """A body built like the guide's template, with rendered placeholders."""
    base = {"event": "agent_reply", "rating": "", "triggered_event": "", "ticket_id": "4711",
            "ticket_url": "https://acme.freshdesk.com/helpdesk/tickets/4711", "ticket_subject": "Parcel never arrived",
            "ticket_type": "Incident", "ticket_source": "Email", "ticket_status": "Open", "ticket_priority": "Medium",
            "ticket_tags": "delivery", "ticket_group_name": "Support", "ticket_agent_name": "Ana Agent",
            "ticket_agent_email": "ana@example.com", "requester_name": "Cleo Customer",
            "requester_email": "cleo@example.com", "ticket_latest_public_comment": "Ana Agent : <div>On it</div>"}
    return {"freshdesk_webhook": {**base, **fields}}


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_fixture_becomes_the_expected_facts(path: Path) -> None:
    case = json.loads(path.read_text())
    received = datetime.fromisoformat(case["received_at"])
    facts = [event_to_json(e) for e in freshdesk.to_events(delivery(case["body"], hint=case["hint"],
                                                                     received_at=received))]
    assert [{k: f.get(k) for k in e} for f, e in zip(facts, case["expect"], strict=True)] == case["expect"]
    assert all(f["ticket_id"] == "4711" for f in facts)


def test_the_guides_template_rendered_by_freshdesk_is_understood() -> None:
    guide = (ROOT / "docs" / "connect-freshdesk.md").read_text()
    text = re.search(r"```json\n(.*?)```", guide, re.S).group(1)  # type: ignore[union-attr]
    rendered = {"triggered_event": "{status:{from:3,to:4}}", "ticket.id": "4711", "ticket.status": "Resolved",
                "ticket.source": "Portal", "ticket.priority": "High", "ticket.tags": "refund, vip",
                "ticket.latest_public_comment": "Ana Agent : <div>Refunded</div>"}
    body = json.loads(re.sub(r"\{\{([a-z_.]+)\}\}", lambda m: rendered.get(m.group(1), "x"), text))
    body["freshdesk_webhook"]["event"] = "status_changed"
    facts = freshdesk.to_events(delivery(body))
    assert [f.kind for f in facts] == ["observed", "status"]
    observed = event_to_json(facts[0])
    assert (observed["status"], observed["channel"], observed["priority"], observed["tags"]) == \
        ("solved", "web", "high", ["refund", "vip"])


# --- authentication ---------------------------------------------------------------------


def basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_basic_auth_or_the_token_header_carries_the_secret() -> None:
    body = b"{}"
    for headers in (basic("deskpulse", "s3cret"), basic("s3cret", "X"), {"x-deskpulse-token": "s3cret"},
                    freshdesk.signed_headers("s3cret", body, NOW)):
        freshdesk.verify(headers, body, "s3cret", NOW, 300)


@pytest.mark.parametrize(("headers", "code"), [
    ({}, "missing_credentials"),
    ({"content-type": "application/json"}, "missing_credentials"),
    (basic("deskpulse", "guess"), "bad_credentials"),
    ({"x-deskpulse-token": "guess"}, "bad_credentials"),
    ({"authorization": "Bearer s3cret"}, "bad_credentials"),
    ({"authorization": "Basic not*base64"}, "bad_credentials"),
])
def test_wrong_or_missing_credentials_are_refused(headers: dict[str, str], code: str) -> None:
    with pytest.raises(AuthError) as caught:
        freshdesk.verify(headers, b"{}", "s3cret", NOW, 300)
    assert caught.value.code == code


def test_nothing_is_signed_so_no_replay_window_applies() -> None:
    headers = freshdesk.signed_headers("s3cret", b"{}", NOW - timedelta(days=30))
    freshdesk.verify(headers, b"{}", "s3cret", NOW, 300)  # a month-old request passes: only dedup protects


# --- ids and times ----------------------------------------------------------------------


def test_the_same_body_is_the_same_fact_and_a_new_comment_a_new_one() -> None:
    first = freshdesk.to_events(delivery(template()))
    again = freshdesk.to_events(delivery(template(), received_at=NOW + timedelta(minutes=5)))  # Freshdesk's retry
    other = freshdesk.to_events(delivery(template(ticket_latest_public_comment="Ana Agent : <div>Done</div>")))
    assert [e.event_id for e in first] == [e.event_id for e in again]
    assert not {e.event_id for e in first} & {e.event_id for e in other}
    assert freshdesk.delivery_key(delivery(template())) is None  # the pipeline hashes the body


def test_every_fact_happens_when_it_was_received() -> None:
    facts = freshdesk.to_events(delivery(template(), received_at=NOW))
    assert {(f.occurred_at, f.time_source, f.time_suspect) for f in facts} == {(NOW, TimeSource.RECEIVED, False)}


# --- reading ----------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "expected"), [
    ("{ticket_action:created}", ("ticket_action", "created")),
    ("{status:{from:4,to:6}}", ("status", {"from": "4", "to": "6"})),
    ("{priority:{from:1, to:2}}", ("priority", {"from": "1", "to": "2"})),
    ("{note_type:public}", ("note_type", "public")),
    ("", None),
    ("status changed", None),
])
def test_triggered_event_is_read_although_it_is_not_json(raw: str, expected: Any) -> None:
    assert freshdesk.parse_triggered_event(raw) == expected


@pytest.mark.parametrize(("event", "role", "public"), [
    ("customer_reply", Role.CUSTOMER, True),
    ("agent_reply", Role.AGENT, True),
    ("customer-reply", Role.CUSTOMER, True),
])
def test_who_wrote_is_known_from_the_rule_that_fired(event: str, role: Role, public: bool) -> None:
    message = freshdesk.to_events(delivery(template(event=event)))[1]
    assert (message.author_role, message.public) == (role, public)  # type: ignore[attr-defined]


@pytest.mark.parametrize(("status", "expected"), [
    ("Open", "open"), ("Pending", "pending"), ("Resolved", "solved"), ("Closed", "closed"),
    ("Waiting on Customer", "pending"), ("Waiting on Third Party", "on_hold"), ("2", "open"), ("4", "solved"),
    ("Awaiting Legal", None),
])
def test_status_labels_and_ids(status: str, expected: str | None) -> None:
    observed = event_to_json(freshdesk.to_events(delivery(template(event="ticket_updated", ticket_status=status)))[0])
    assert (observed["status"], observed["status_raw"]) == (expected, status)


@pytest.mark.parametrize(("rating", "csat"), [
    ("103", Csat.GOOD), ("102", Csat.GOOD), ("101", Csat.GOOD), ("100", Csat.NEUTRAL), ("-101", Csat.BAD),
    ("-102", Csat.BAD), ("-103", Csat.BAD), ("1", Csat.GOOD), ("2", Csat.NEUTRAL), ("3", Csat.BAD),
    ("Extremely happy", Csat.GOOD), ("Very unhappy", Csat.BAD),
])
def test_ratings_on_the_seven_point_scale(rating: str, csat: Csat) -> None:
    rated = freshdesk.to_events(delivery(template(event="feedback_received", rating=rating)))[1]
    assert (rated.rating, rated.scale, rated.raw, rated.score) == (csat, CsatScale.SEVEN_POINT, rating, None)  # type: ignore[attr-defined]


def test_a_rating_may_come_from_the_triggered_event() -> None:
    body = template(event="feedback_received", triggered_event="{customer_feedback:-102}")
    rated = freshdesk.to_events(delivery(body))
    assert rated[1].rating == Csat.BAD  # type: ignore[attr-defined]


@pytest.mark.parametrize(("body", "code"), [
    ({"freshdesk_webhook": "nope"}, "wrong_type"),
    (template(ticket_id=""), "missing_id"),
    ({"freshdesk_webhook": {**template()["freshdesk_webhook"], "ticket_id": {"id": 1}}}, "wrong_type"),
    (template(event="feedback_received"), "missing_rating"),
    (template(event="feedback_received", rating="104"), "out_of_range"),
    (template(event="feedback_received", rating="great"), "out_of_range"),
])
def test_payloads_that_cannot_be_read(body: dict[str, Any], code: str) -> None:
    with pytest.raises(PayloadError) as caught:
        freshdesk.to_events(delivery(body))
    assert caught.value.code == code


def test_no_handshake() -> None:
    assert freshdesk.ADAPTER.handshake(delivery(template())) is None
