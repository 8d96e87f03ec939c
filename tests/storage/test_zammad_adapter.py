"""Zammad trigger webhooks (written from Zammad's documented default payload) become the expected facts."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from metrics.model import Channel, MessagePosted, Person, Priority, Role, Status, TicketObserved
from storage.codec import event_to_json
from storage.ingest.adapters import zammad
from storage.ingest.adapters.contract import AuthError, Delivery, PayloadError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks" / "zammad"
CASES = sorted(FIXTURES.glob("*.json"))
NOW = datetime(2026, 11, 16, 9, 25, tzinfo=UTC)


def case(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def delivery(body: Any, *, headers: dict[str, str] | None = None, received_at: datetime = NOW) -> Delivery:
    return Delivery(headers=headers or {}, body=b"", payload=body, hint=None, received_at=received_at)


def facts_of(body: Any) -> list[Any]:
    return zammad.to_events(delivery(body))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_fixture_becomes_the_expected_facts(path: Path) -> None:
    fixture = json.loads(path.read_text())
    received_at = datetime.fromisoformat(fixture["received_at"])
    facts = [event_to_json(e) for e in zammad.to_events(
        delivery(fixture["body"], headers=fixture["headers"], received_at=received_at))]
    assert [{k: f.get(k) for k in e} for f, e in zip(facts, fixture["expect"], strict=True)] == fixture["expect"]
    assert all(f["ticket_id"] in ("10081", "10082") and f["source"] == "zammad" for f in facts)


def test_zammad_has_no_satisfaction_ratings() -> None:
    kinds = {e.kind for path in CASES for e in facts_of(json.loads(path.read_text())["body"])}
    assert "rated" not in kinds


def test_every_delivery_repeats_the_opening_under_one_id() -> None:
    openings = {next(e.event_id for e in facts_of(case(name)["body"]) if getattr(e, "opened", False))
                for name in ("01_created_by_customer_email", "02_agent_reply", "05_closed_without_article")}
    assert openings == {"ticket:10081:opened"}  # stored once, whichever delivery arrives first


# --- authentication ------------------------------------------------------------------------


def test_the_signature_is_hex_hmac_sha1_of_the_body() -> None:
    body = b'{"ticket": {"number": "10081"}}'
    assert zammad.sign("token", body) == "sha1=" + hmac.new(b"token", body, hashlib.sha1).hexdigest()


def test_signature_checks() -> None:
    body = b'{"ticket": {"number": "10081"}, "article": {}}'
    zammad.verify({"x-hub-signature": zammad.sign("s", body)}, body, "s", NOW, 300)
    zammad.verify({"x-hub-signature": zammad.sign("s", body).upper().replace("SHA1=", "sha1=")}, body, "s", NOW, 300)
    for headers, code in [({"x-hub-signature": zammad.sign("other", body)}, "bad_signature"),
                          ({}, "missing_signature"),
                          ({"x-hub-signature": zammad.sign("s", body + b" ")}, "bad_signature"),
                          ({"x-hub-signature": zammad.sign("s", body).removeprefix("sha1=")}, "bad_signature")]:
        with pytest.raises(AuthError) as caught:
            zammad.verify(headers, body, "s", NOW, 300)
        assert caught.value.code == code


def test_no_timestamp_is_signed_so_old_deliveries_pass() -> None:
    body = b'{"ticket": {"number": "10081"}}'
    zammad.verify({"x-hub-signature": zammad.sign("s", body)}, body, "s", NOW + timedelta(days=30), 300)


def test_signed_headers_are_what_verify_accepts_and_are_pure() -> None:
    body = b'{"ticket": {"number": "10081"}, "article": {}}'
    headers = zammad.signed_headers("s", body, NOW)
    zammad.verify(headers, body, "s", NOW, 300)
    assert headers == zammad.signed_headers("s", body, NOW)
    assert headers["user-agent"] == "Zammad User Agent" and headers["content-type"].startswith("application/json")
    assert uuid.UUID(headers["x-zammad-delivery"])


def test_a_retry_rebuilds_the_body_but_keeps_the_delivery_id() -> None:
    first = case("02_agent_reply")
    retried = copy.deepcopy(first["body"])
    retried["ticket"]["updated_at"] = "2026-11-16T09:25:40.001Z"  # the job reloads the ticket on each attempt
    keys = {zammad.delivery_key(delivery(body, headers=first["headers"])) for body in (first["body"], retried)}
    assert keys == {f"zammad:delivery:{first['headers']['x-zammad-delivery']}"}
    assert zammad.delivery_key(delivery(first["body"])) is None  # the pipeline then hashes the body


def test_zammad_sends_no_handshake() -> None:
    assert zammad.ADAPTER.handshake(delivery(case("01_created_by_customer_email")["body"])) is None


# --- who wrote it ----------------------------------------------------------------------------


def with_article(**fields: Any) -> dict[str, Any]:
    body = copy.deepcopy(case("02_agent_reply")["body"])
    body["article"].update(fields)
    return body


def posted(body: dict[str, Any]) -> MessagePosted:
    message = facts_of(body)[-1]
    assert isinstance(message, MessagePosted)
    return message


@pytest.mark.parametrize(("fields", "role", "public"), [
    ({"sender": "Customer", "type": "email"}, Role.CUSTOMER, True),
    ({"sender": "Customer", "type": "web"}, Role.CUSTOMER, True),
    ({"sender": "Agent", "type": "email"}, Role.AGENT, True),
    ({"sender": "Agent", "type": "phone"}, Role.AGENT, True),
    ({"sender": "Agent", "type": "note", "internal": True}, Role.AGENT, False),
    ({"sender": "Agent", "type": "note", "internal": False}, Role.AGENT, False),  # Zammad: a note communicates nothing
    ({"sender": "Agent", "type": "email", "internal": True}, Role.AGENT, False),
    ({"sender": "Agent", "type": "email", "internal": "false"}, Role.AGENT, True),  # custom payloads render text
    ({"sender": "System", "type": "email"}, Role.SYSTEM, True),
    ({"sender": "Agent", "type": "email", "created_by_id": 1}, Role.SYSTEM, True),
    ({"sender": {"name": "Agent"}, "type": {"name": "email"}}, Role.AGENT, True),
])
def test_who_wrote_an_article(fields: dict[str, Any], role: Role, public: bool) -> None:
    message = posted(with_article(**fields))
    assert (message.author_role, message.public) == (role, public)


# --- the ticket's fields -----------------------------------------------------------------------


def snapshot(**fields: Any) -> TicketObserved:
    body = copy.deepcopy(case("05_closed_without_article")["body"])
    body["ticket"].update(fields)
    observed = facts_of(body)[1]
    assert isinstance(observed, TicketObserved) and not observed.opened
    return observed


@pytest.mark.parametrize(("state", "status"), [
    ("new", Status.NEW), ("open", Status.OPEN), ("pending reminder", Status.PENDING),
    ("pending close", Status.PENDING), ("closed", Status.CLOSED), ("merged", Status.CLOSED),
    ("waiting for parts", None)])
def test_states(state: str, status: Status | None) -> None:
    assert (snapshot(state=state).status, snapshot(state=state).status_raw) == (status, state)


@pytest.mark.parametrize(("name", "priority"), [("1 low", Priority.LOW), ("2 normal", Priority.NORMAL),
                                               ("3 high", Priority.HIGH), ("4 very high", None)])
def test_priorities(name: str, priority: Priority | None) -> None:
    assert snapshot(priority={"id": 9, "name": name}).priority == priority
    assert snapshot(priority=name).priority == priority


@pytest.mark.parametrize(("kind", "channel"), [
    ("email", Channel.EMAIL), ("phone", Channel.PHONE), ("web", Channel.WEB), ("chat", Channel.CHAT),
    ("sms", Channel.SMS), ("fax", Channel.OTHER), ("note", Channel.OTHER), ("twitter status", Channel.SOCIAL),
    ("facebook feed post", Channel.SOCIAL), ("telegram personal-message", Channel.SOCIAL),
    ("whatsapp message", Channel.SOCIAL), ("signal message", Channel.OTHER)])
def test_channels_come_from_the_first_article_type(kind: str, channel: Channel) -> None:
    observed = snapshot(create_article_type=kind)
    assert (observed.channel, observed.channel_raw) == (channel, kind)


@pytest.mark.parametrize("owner_id", [1, "1", None, ""])
def test_the_system_user_as_owner_means_unassigned(owner_id: Any) -> None:
    body = copy.deepcopy(case("05_closed_without_article")["body"])
    body["ticket"].update(owner_id=owner_id, owner={})
    facts = facts_of(body)
    assert facts[1].assignee is None
    assert [e.assignee for e in facts if e.kind == "assigned"] == [Person()]  # clears an earlier owner


def test_times_without_an_offset_are_utc_and_missing_times_are_the_receipt() -> None:
    assert snapshot(updated_at="2026-11-16 09:20:00").occurred_at == datetime(2026, 11, 16, 9, 20, tzinfo=UTC)
    missing = snapshot(updated_at="")
    assert (missing.occurred_at, missing.time_source.value, missing.time_suspect) == (NOW, "received", False)
    future = snapshot(updated_at="2099-01-01T00:00:00.000Z")
    assert (future.occurred_at, future.time_suspect) == (NOW, True)


# --- bodies that cannot be read ---------------------------------------------------------------------


@pytest.mark.parametrize(("body", "code"), [
    ({"ticket": "10081"}, "wrong_type"),
    ({"ticket": {"id": 81, "title": "no number"}}, "missing_id"),
    ({"ticket": {"number": "10081"}, "article": "104"}, "wrong_type"),
    ({"ticket": {"number": "10081"}, "article": {"id": 104, "sender": "Robot"}}, "out_of_range"),
    ({"ticket": {"number": "10081"}, "article": {"id": 104, "sender": "Agent", "internal": "maybe"}}, "wrong_type"),
    ({"ticket": {"number": "10081"}, "article": {"sender": "Agent"}}, "missing_id"),
])
def test_payloads_that_cannot_be_read(body: dict[str, Any], code: str) -> None:
    with pytest.raises(PayloadError) as caught:
        facts_of(body)
    assert caught.value.code == code
