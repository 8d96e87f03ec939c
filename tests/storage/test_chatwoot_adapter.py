"""Chatwoot payloads (written from Chatwoot's documented webhook formats) become the expected facts."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from metrics.model import Channel, Csat, MessagePosted, Priority, Rated, Role, Status, TicketObserved
from storage.codec import event_to_json
from storage.ingest.adapters import chatwoot
from storage.ingest.adapters.contract import AuthError, Delivery, PayloadError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks" / "chatwoot"
CASES = sorted(FIXTURES.glob("*.json"))
NOW = datetime(2026, 11, 16, 9, 25, tzinfo=UTC)


def case(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def delivery(body: Any, *, headers: dict[str, str] | None = None, received_at: datetime = NOW) -> Delivery:
    return Delivery(headers=headers or {}, body=b"", payload=body, hint=None, received_at=received_at)


def facts_of(body: Any) -> list[Any]:
    return chatwoot.to_events(delivery(body))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_fixture_becomes_the_expected_facts(path: Path) -> None:
    fixture = json.loads(path.read_text())
    facts = [event_to_json(e) for e in chatwoot.to_events(
        delivery(fixture["body"], received_at=datetime.fromisoformat(fixture["received_at"])))]
    assert [{k: f.get(k) for k in e} for f, e in zip(facts, fixture["expect"], strict=True)] == fixture["expect"]
    assert all(f["ticket_id"] == "42" and f["source"] == "chatwoot" for f in facts)


def test_a_redelivered_payload_gives_the_same_fact_ids() -> None:
    body = case("03_agent_reply")["body"]
    assert [e.event_id for e in facts_of(body)] == [e.event_id for e in facts_of(copy.deepcopy(body))]


# --- authentication ------------------------------------------------------------------------


def signed(body: bytes, *, secret: str = "s", when: datetime = NOW) -> dict[str, str]:
    stamp = str(int(when.timestamp()))
    return {"x-chatwoot-timestamp": stamp, "x-chatwoot-signature": chatwoot.sign(secret, stamp, body)}


def test_the_signature_is_hex_hmac_sha256_of_timestamp_dot_body() -> None:
    # Worked by hand from the documented scheme: sha256=HMAC-SHA256(secret, "<ts>.<body>").
    import hashlib
    import hmac
    expected = "sha256=" + hmac.new(b"s", b'1794820800.{"event":"x"}', hashlib.sha256).hexdigest()
    assert chatwoot.sign("s", "1794820800", b'{"event":"x"}') == expected


def test_signature_checks() -> None:
    body = b'{"event": "message_created"}'
    chatwoot.verify(signed(body), body, "s", NOW, 300)
    stale = signed(body, when=NOW - timedelta(minutes=6))
    for headers, code in [(signed(body, secret="other"), "bad_signature"), ({}, "missing_signature"),
                          ({"x-chatwoot-signature": signed(body)["x-chatwoot-signature"]}, "missing_timestamp"),
                          (stale, "stale_timestamp"), (signed(body + b" "), "bad_signature")]:
        with pytest.raises(AuthError) as caught:
            chatwoot.verify(headers, body, "s", NOW, 300)
        assert caught.value.code == code
    chatwoot.verify(stale, body, "s", NOW, 0)  # window off: a re-sent archive is accepted


def test_an_unsigned_release_is_refused_with_a_hint_to_upgrade() -> None:
    with pytest.raises(AuthError) as caught:
        chatwoot.verify({"content-type": "application/json"}, b"{}", "s", NOW, 300)
    assert caught.value.code == "missing_signature" and "v4.11.2" in caught.value.detail


def test_signed_headers_are_what_verify_accepts_and_are_pure() -> None:
    body = b'{"event": "conversation_created", "id": 42}'
    headers = chatwoot.signed_headers("s", body, NOW)
    chatwoot.verify(headers, body, "s", NOW, 300)
    assert headers == chatwoot.signed_headers("s", body, NOW)
    assert headers["content-type"] == "application/json"
    assert uuid.UUID(headers["x-chatwoot-delivery"])


def test_delivery_keys() -> None:
    body = case("02_customer_message")["body"]
    assert chatwoot.delivery_key(delivery(body, headers={"x-chatwoot-delivery": " 0b6f-retry-safe "})) == \
        "chatwoot:delivery:0b6f-retry-safe"
    assert chatwoot.delivery_key(delivery(body)) is None  # older releases: the pipeline hashes the body


def test_chatwoot_sends_no_handshake() -> None:
    assert chatwoot.ADAPTER.handshake(delivery(case("01_conversation_created")["body"])) is None


# --- who wrote it ----------------------------------------------------------------------------


def message(message_type: Any, sender: dict[str, Any] | None, **extra: Any) -> dict[str, Any]:
    body = copy.deepcopy(case("03_agent_reply")["body"])
    body.update(message_type=message_type, sender=sender, **extra)
    return body


@pytest.mark.parametrize(("message_type", "sender", "extra", "role"), [
    ("incoming", {"id": 7, "type": "contact"}, {}, Role.CUSTOMER),
    (0, {"id": 7, "type": "contact"}, {}, Role.CUSTOMER),
    ("outgoing", {"id": 3, "type": "user"}, {}, Role.AGENT),
    (1, {"id": 3, "type": "user"}, {}, Role.AGENT),
    ("outgoing", {"id": 3, "name": "Ana"}, {}, Role.AGENT),  # early releases: agents had no type
    ("outgoing", {"id": 2, "type": "agent_bot"}, {}, Role.BOT),
    ("outgoing", {"id": 5, "type": "captain_assistant"}, {}, Role.BOT),
    ("outgoing", {"id": 3, "type": "user"}, {"content_attributes": {"automation_rule_id": 9}}, Role.SYSTEM),
    ("outgoing", {"id": 3, "type": "user"}, {"content_attributes": '{"automation_rule_id": 9}'}, Role.SYSTEM),
    ("outgoing", {"id": 3, "type": "user"}, {"additional_attributes": {"campaign_id": 4}}, Role.SYSTEM),
    ("outgoing", None, {}, Role.SYSTEM),
])
def test_who_wrote_a_message(message_type: Any, sender: dict[str, Any] | None, extra: dict[str, Any],
                             role: Role) -> None:
    posted = [e for e in facts_of(message(message_type, sender, **extra)) if isinstance(e, MessagePosted)]
    assert [m.author_role for m in posted] == [role]


@pytest.mark.parametrize("message_type", ["activity", 2, "template", 3])
def test_activity_lines_and_templates_are_not_messages(message_type: Any) -> None:
    assert [e.kind for e in facts_of(message(message_type, None))] == ["observed"]


def test_a_private_message_is_an_internal_note() -> None:
    posted = facts_of(message("outgoing", {"id": 3, "type": "user"}, private=True))[1]
    assert isinstance(posted, MessagePosted) and (posted.author_role, posted.public) == (Role.AGENT, False)


# --- the conversation's fields -----------------------------------------------------------------


def snapshot(**fields: Any) -> TicketObserved:
    body = {**case("01_conversation_created")["body"], **fields}
    observed = facts_of(body)[0]
    assert isinstance(observed, TicketObserved)
    return observed


@pytest.mark.parametrize(("word", "status"), [("open", Status.OPEN), ("resolved", Status.SOLVED),
                                             ("pending", Status.PENDING), ("snoozed", Status.ON_HOLD)])
def test_statuses(word: str, status: Status) -> None:
    assert (snapshot(status=word).status, snapshot(status=word).status_raw) == (status, word)


@pytest.mark.parametrize(("word", "priority"), [("low", Priority.LOW), ("medium", Priority.NORMAL),
                                               ("high", Priority.HIGH), ("urgent", Priority.URGENT), (None, None)])
def test_priorities(word: str | None, priority: Priority | None) -> None:
    assert snapshot(priority=word).priority == priority


@pytest.mark.parametrize(("inbox", "channel"), [
    ("Channel::WebWidget", Channel.CHAT), ("Channel::Email", Channel.EMAIL), ("Channel::Api", Channel.API),
    ("Channel::Whatsapp", Channel.SOCIAL), ("Channel::FacebookPage", Channel.SOCIAL),
    ("Channel::Instagram", Channel.SOCIAL), ("Channel::TwitterProfile", Channel.SOCIAL),
    ("Channel::Telegram", Channel.SOCIAL), ("Channel::Line", Channel.SOCIAL), ("Channel::Sms", Channel.SMS),
    ("Channel::TwilioSms", Channel.SMS), ("Channel::Voice", Channel.PHONE), ("Channel::Unheard", Channel.OTHER),
])
def test_inbox_channels(inbox: str, channel: Channel) -> None:
    assert (snapshot(channel=inbox).channel, snapshot(channel=inbox).channel_raw) == (channel, inbox)


def test_unassigning_clears_the_assignee() -> None:
    body = {**case("14_assigned_and_prioritised")["body"],
            "changed_attributes": [{"assignee_id": {"previous_value": 3, "current_value": None}}]}
    body["meta"] = {**body["meta"], "assignee": None, "team": None}
    assigned = [e for e in facts_of(body) if e.kind == "assigned"]
    assert len(assigned) == 1 and assigned[0].assignee is not None and assigned[0].assignee.id is None


# --- CSAT ----------------------------------------------------------------------------------------


def rated_with(rating: Any, updated_at: float = 1794820800.2) -> dict[str, Any]:
    body = copy.deepcopy(case("11_csat_rating")["body"])
    body["content_attributes"]["submitted_values"]["csat_survey_response"]["rating"] = rating
    body["conversation"]["updated_at"] = updated_at
    return body


@pytest.mark.parametrize(("rating", "csat"), [(1, Csat.BAD), (2, Csat.BAD), (3, Csat.NEUTRAL), (4, Csat.GOOD),
                                             (5, Csat.GOOD)])
def test_csat_on_the_five_point_scale(rating: int, csat: Csat) -> None:
    rated = facts_of(rated_with(rating))[-1]
    assert isinstance(rated, Rated) and (rated.rating, rated.score, rated.raw) == (csat, float(rating), str(rating))


def test_a_changed_rating_is_a_new_fact_and_a_repeated_one_is_not() -> None:
    first, again, changed = (facts_of(rated_with(2, 1794820800.2))[-1], facts_of(rated_with(2, 1794820800.2))[-1],
                             facts_of(rated_with(5, 1794820860.7))[-1])
    assert first.event_id == again.event_id != changed.event_id
    assert changed.occurred_at > first.occurred_at


def test_only_csat_answers_count_among_message_updates() -> None:
    edited = {**case("03_agent_reply")["body"], "event": "message_updated", "content": "edited"}
    assert facts_of(edited) == []


# --- bodies that cannot be read ---------------------------------------------------------------------


@pytest.mark.parametrize(("body", "code"), [
    ({"id": 1}, "missing_type"),
    ({"event": "message_created", "id": 5, "message_type": "incoming", "conversation": "42"}, "wrong_type"),
    ({"event": "message_created", "id": 5, "message_type": "incoming", "conversation": {"status": "open"}},
     "missing_id"),
    ({"event": "conversation_created", "id": 42, "labels": "vip"}, "wrong_type"),
])
def test_payloads_that_cannot_be_read(body: dict[str, Any], code: str) -> None:
    with pytest.raises(PayloadError) as caught:
        facts_of(body)
    assert caught.value.code == code


@pytest.mark.parametrize(("change", "code"), [({"message_type": True}, "wrong_type"),
                                              ({"private": "yes"}, "wrong_type"),
                                              ({"id": None}, "missing_id")])
def test_messages_that_cannot_be_read(change: dict[str, Any], code: str) -> None:
    with pytest.raises(PayloadError) as caught:
        facts_of({**case("02_customer_message")["body"], **change})
    assert caught.value.code == code


def test_a_rating_outside_one_to_five_is_refused() -> None:
    with pytest.raises(PayloadError) as caught:
        facts_of(rated_with(7))
    assert caught.value.code == "out_of_range"
