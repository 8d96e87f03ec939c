"""Intercom notifications (written from Intercom's documented formats) become the expected facts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from storage.codec import event_to_json
from storage.ingest.adapters import intercom
from storage.ingest.adapters.contract import AuthError, PayloadError
from tests.support.adapter_cases import case_delivery as delivery
from tests.support.adapter_cases import load_case, subset

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks" / "intercom"
load = partial(load_case, "intercom")
CASES = sorted(FIXTURES.glob("*.json"))
NOW = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_fixture_becomes_the_expected_facts(path: Path) -> None:
    case = json.loads(path.read_text())
    facts = [event_to_json(e) for e in intercom.to_events(delivery(case))]
    assert [subset(f, e) for f, e in zip(facts, case["expect"], strict=True)] == case["expect"]
    assert all(f["source"] == "intercom" for f in facts)


def test_signatures() -> None:
    body = json.dumps(load("02_admin_replied.json")["body"]).encode()
    headers = intercom.signed_headers("client-secret", body, NOW)
    assert headers["x-hub-signature"].startswith("sha1=") and len(headers["x-hub-signature"]) == 45
    intercom.verify(headers, body, "client-secret", NOW, 300)
    intercom.verify({"x-hub-signature": headers["x-hub-signature"].upper().replace("SHA1=", "sha1=")}, body,
                    "client-secret", NOW, 300)  # hex case does not matter
    for given, code in [({}, "missing_signature"), (intercom.signed_headers("other", body, NOW), "bad_signature"),
                        ({"x-hub-signature": intercom.sign("client-secret", body + b" ")}, "bad_signature")]:
        with pytest.raises(AuthError) as caught:
            intercom.verify(given, body, "client-secret", NOW, 300)
        assert caught.value.code == code


def test_no_timestamp_is_signed_so_an_old_notification_still_verifies() -> None:
    body = b'{"topic": "conversation.admin.replied"}'
    intercom.verify(intercom.signed_headers("s", body, NOW), body, "s", datetime(2030, 1, 1, tzinfo=UTC), 300)


def test_delivery_key_is_the_notification_id_and_redelivery_keeps_the_fact_ids() -> None:
    case = load("02_admin_replied.json")
    retried = {**case, "body": {**case["body"], "delivery_attempts": 2}}
    assert intercom.delivery_key(delivery(case)) == "intercom:k7x9pz1:notif_0a1b-conversation-admin-replied"
    assert intercom.delivery_key(delivery(retried)) == intercom.delivery_key(delivery(case))
    first, again = intercom.to_events(delivery(case)), intercom.to_events(delivery(retried))
    assert [e.event_id for e in first] == [e.event_id for e in again]
    assert len({e.event_id for e in first}) == len(first)


def test_the_opening_message_is_one_fact_whichever_notification_repeats_it() -> None:
    created = intercom.to_events(delivery(load("01_user_created.json")))
    replied = intercom.to_events(delivery(load("02_admin_replied.json")))
    assert created[1].event_id == replied[1].event_id == "215472621202693:source:3381828792"


def test_the_ping_is_a_handshake() -> None:
    ping = {"type": "notification_event", "app_id": "k7x9pz1", "topic": "ping", "id": None, "created_at": 1794819600,
            "data": {"type": "notification_event_data", "item": {"type": "ping", "message": "hello"}}}
    case = {"body": ping, "received_at": NOW.isoformat()}
    assert intercom.handshake(delivery(case)) == {"ok": True, "topic": "ping"}
    assert intercom.delivery_key(delivery(case)) is None
    assert intercom.handshake(delivery(load("01_user_created.json"))) is None


@pytest.mark.parametrize(("role_of", "author"), [
    ("customer", {"type": "lead", "id": "5c95"}),
    ("customer", {"type": "contact", "id": "5c95"}),
    ("agent", {"type": "admin", "id": "7412", "email": "ana@example.com"}),
    ("bot", {"type": "bot", "id": "1"}),
    ("bot", {"type": "admin", "id": "274", "email": "Operator+k7x9pz1@intercom.io"}),
    ("bot", {"type": "admin", "id": "7412", "from_ai_agent": True}),
    ("system", {"type": "team", "id": "5017"}),
])
def test_who_wrote_a_part(role_of: str, author: dict[str, Any]) -> None:
    case = load("02_admin_replied.json")
    case["body"]["data"]["item"]["conversation_parts"]["conversation_parts"][0]["author"] = author
    message = intercom.to_events(delivery(case))[2]
    assert message.author_role.value == role_of


@pytest.mark.parametrize(("body", "code"), [
    ({"type": "notification_event", "id": "n1", "data": {"item": {}}}, "missing_type"),
    ({"topic": "conversation.admin.replied", "id": "n1", "data": "nope"}, "wrong_type"),
    ({"topic": "conversation.admin.replied", "id": "n1", "data": {"item": {"type": "conversation"}}}, "missing_id"),
    ({"topic": "conversation.admin.replied", "data": {"item": {"id": "5"}}}, "missing_id"),
    ({"topic": "conversation.rating.added", "id": "n1", "created_at": 1794819600,
      "data": {"item": {"id": "5", "conversation_rating": {"rating": 9}}}}, "out_of_range"),
    ({"topic": "conversation.admin.replied", "id": "n1",
      "data": {"item": {"id": "5", "conversation_parts": {"conversation_parts": "x"}}}}, "wrong_type"),
])
def test_payloads_that_cannot_be_read(body: dict[str, Any], code: str) -> None:
    with pytest.raises(PayloadError) as caught:
        intercom.to_events(delivery({"body": body, "received_at": NOW.isoformat()}))
    assert caught.value.code == code
