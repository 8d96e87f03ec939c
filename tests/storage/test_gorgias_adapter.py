"""Gorgias payloads (its Ticket and TicketMessage objects, as an HTTP integration sends them) become facts."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from metrics.model import RemovalReason, Role, Status, TimeSource
from metrics.tickets import fold_ticket
from storage.codec import event_to_json
from storage.ingest.adapters import gorgias
from storage.ingest.adapters.contract import AuthError, Delivery, PayloadError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks" / "gorgias"
CASES = sorted(FIXTURES.glob("*.json"))
NOW = datetime(2026, 11, 16, 9, 30, tzinfo=UTC)


def delivery(body: Any, hint: str | None, *, received_at: datetime = NOW) -> Delivery:
    return Delivery(headers={}, body=b"", payload=body, hint=hint, received_at=received_at)


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def message(**fields: Any) -> dict[str, Any]:
    return {"id": 77, "ticket_id": 86538298, "channel": "chat", "via": "gorgias_chat", "from_agent": True,
            "rule_id": None, "public": True, "sender": {"id": 9001, "name": "Ana Agent"}, "body_text": "Hi",
            "created_datetime": "2026-11-16T09:10:00.000000", **fields}


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_fixture_becomes_the_expected_facts(path: Path) -> None:
    case = json.loads(path.read_text())
    received = datetime.fromisoformat(case["received_at"])
    facts = [event_to_json(e) for e in gorgias.to_events(delivery(case["body"], case["hint"], received_at=received))]
    assert [{k: f.get(k) for k in e} for f, e in zip(facts, case["expect"], strict=True)] == case["expect"]
    assert all(f["ticket_id"] == "86538298" for f in facts)


# --- authentication ---------------------------------------------------------------------


def test_the_static_token_header_is_the_secret() -> None:
    gorgias.verify({"x-deskpulse-token": "s3cret"}, b"{}", "s3cret", NOW, 300)
    gorgias.verify(gorgias.signed_headers("s3cret", b"{}", NOW), b"{}", "s3cret", NOW, 300)


@pytest.mark.parametrize(("headers", "code"), [
    ({}, "missing_token"),
    ({"authorization": "Bearer s3cret"}, "missing_token"),
    ({"x-deskpulse-token": "s3cre"}, "bad_token"),
    ({"x-deskpulse-token": ""}, "bad_token"),
])
def test_a_missing_or_wrong_token_is_refused(headers: dict[str, str], code: str) -> None:
    with pytest.raises(AuthError) as caught:
        gorgias.verify(headers, b"{}", "s3cret", NOW, 300)
    assert caught.value.code == code


# --- who wrote --------------------------------------------------------------------------


@pytest.mark.parametrize(("fields", "role", "public"), [
    ({"from_agent": False, "sender": {"id": 5005, "name": "Cleo"}}, Role.CUSTOMER, True),
    ({"from_agent": True, "rule_id": 4411}, Role.BOT, True),  # a rule's auto-reply is no first response
    ({"from_agent": True, "rule_id": None}, Role.AGENT, True),
    ({"from_agent": True, "public": False, "channel": "internal-note"}, Role.AGENT, False),
])
def test_authors(fields: dict[str, Any], role: Role, public: bool) -> None:
    [posted] = gorgias.to_events(delivery({"message": message(**fields)}, "ticket-message-created"))
    assert (posted.author_role, posted.public) == (role, public)  # type: ignore[attr-defined]


# --- ids, times, status -----------------------------------------------------------------


def test_delivery_keys_name_messages_and_ticket_versions() -> None:
    assert gorgias.delivery_key(delivery({"message": message()}, "ticket-message-created")) == "gorgias:message:77"
    updated = fixture("06_ticket_closed")
    assert gorgias.delivery_key(delivery(updated["body"], "ticket-updated")) == \
        "gorgias:ticket-updated:86538298:2026-11-16T09:26:00.000000"
    assert gorgias.delivery_key(delivery({"ticket": {"id": 1}}, "ticket-updated")) is None  # the body is hashed


def test_offset_less_datetimes_are_utc_and_a_missing_one_is_the_receipt_time() -> None:
    [posted] = gorgias.to_events(delivery({"message": message()}, "ticket-message-created"))
    assert (posted.occurred_at, posted.time_source) == (datetime(2026, 11, 16, 9, 10, tzinfo=UTC), TimeSource.PAYLOAD)
    [undated] = gorgias.to_events(delivery({"message": message(created_datetime=None)}, "ticket-message-created"))
    assert (undated.occurred_at, undated.time_source, undated.time_suspect) == (NOW, TimeSource.RECEIVED, False)
    [future] = gorgias.to_events(delivery({"message": message(created_datetime="2099-01-01T00:00:00")},
                                          "ticket-message-created"))
    assert (future.occurred_at, future.time_suspect) == (NOW, True)


def test_a_snooze_that_has_ended_is_an_ordinary_close() -> None:
    body = fixture("07_ticket_snoozed")["body"]
    body["ticket"]["snooze_datetime"] = "2026-11-16T09:00:00.000000"  # before the update: no longer snoozed
    observed = gorgias.to_events(delivery(body, "ticket-updated"))[0]
    assert observed.status == Status.CLOSED  # type: ignore[attr-defined]


def test_without_a_hint_a_message_or_a_ticket_says_what_it_is() -> None:
    assert [e.kind for e in gorgias.to_events(delivery({"message": message()}, None))] == ["message"]
    ticket = fixture("06_ticket_closed")["body"]
    assert [e.kind for e in gorgias.to_events(delivery(ticket, None))] == ["observed", "status", "restored"]


def ticket_after(*cases: dict[str, Any]) -> Any:
    """The ticket folded from these deliveries, in the order given."""
    return fold_ticket([e for case in cases for e in gorgias.to_events(
        delivery(case["body"], case["hint"], received_at=datetime.fromisoformat(case["received_at"])))])


def test_a_ticket_marked_not_spam_counts_again_and_can_be_flagged_again() -> None:
    created, spam, not_spam = fixture("01_ticket_created"), fixture("10_marked_as_spam"), fixture("14_marked_not_spam")
    assert ticket_after(created, spam).removed is RemovalReason.SPAM
    for order in ((created, spam, not_spam), (not_spam, spam, created)):  # any arrival order: 11:00, then 12:30
        back = ticket_after(*order)
        assert back.removed is None and back.status == Status.OPEN and back.reopens == 1
    again = fixture("10_marked_as_spam")
    again.update(received_at="2026-11-16T14:00:01Z")
    again["body"]["ticket"]["updated_datetime"] = "2026-11-16T14:00:00.000000"
    assert ticket_after(created, spam, not_spam, again).removed is RemovalReason.SPAM


def test_a_ticket_taken_out_of_the_trash_counts_again() -> None:
    trashed, restored = fixture("14_marked_not_spam"), fixture("14_marked_not_spam")
    trashed.update(received_at="2026-11-16T13:00:01Z")
    trashed["body"]["ticket"].update(updated_datetime="2026-11-16T13:00:00.000000",
                                     trashed_datetime="2026-11-16T13:00:00.000000")
    restored.update(received_at="2026-11-16T15:00:01Z")
    restored["body"]["ticket"]["updated_datetime"] = "2026-11-16T15:00:00.000000"
    assert ticket_after(trashed).removed is RemovalReason.DELETED
    assert ticket_after(restored, trashed).removed is None


def test_a_form_without_the_spam_or_trash_fields_says_nothing_of_them() -> None:
    body = fixture("14_marked_not_spam")["body"]
    del body["ticket"]["trashed_datetime"]
    assert [e.kind for e in gorgias.to_events(delivery(body, "ticket-updated"))] == ["observed"]


def test_redelivery_gives_the_same_fact_ids() -> None:
    body = fixture("03_agent_reply_with_ticket")["body"]
    first = gorgias.to_events(delivery(body, "ticket-message-created"))
    again = gorgias.to_events(delivery(body, "ticket-message-created", received_at=datetime(2026, 11, 17, tzinfo=UTC)))
    assert [e.event_id for e in first] == [e.event_id for e in again]


@pytest.mark.parametrize(("body", "hint", "code"), [
    ({"message": "nope"}, "ticket-message-created", "wrong_type"),
    ({}, "ticket-updated", "wrong_type"),
    ({"ticket": {"status": "open"}}, "ticket-created", "missing_id"),
    ({"message": {**message(), "from_agent": "yes"}}, "ticket-message-created", "wrong_type"),
    ({"message": {**message(), "ticket_id": None}}, "ticket-message-created", "missing_id"),
    ({"ticket": {"id": 1, "tags": "vip"}}, "ticket-updated", "wrong_type"),
])
def test_payloads_that_cannot_be_read(body: dict[str, Any], hint: str, code: str) -> None:
    with pytest.raises(PayloadError) as caught:
        gorgias.to_events(delivery(body, hint))
    assert caught.value.code == code


def test_unknown_triggers_are_ignored_and_no_handshake_exists() -> None:
    assert gorgias.to_events(delivery({"customer": {"id": 1}}, "customer-updated")) == []
    assert gorgias.ADAPTER.handshake(delivery({}, None)) is None
