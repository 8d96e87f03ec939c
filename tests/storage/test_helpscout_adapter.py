"""Help Scout webhooks (written from Help Scout's documented formats) become the expected facts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from metrics.model import RemovalReason
from metrics.tickets import fold_ticket
from storage.codec import event_to_json
from storage.ingest.adapters import helpscout
from storage.ingest.adapters.contract import AuthError, PayloadError
from tests.support.adapter_cases import case_delivery as delivery
from tests.support.adapter_cases import load_case, subset

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks" / "helpscout"
load = partial(load_case, "helpscout")
CASES = sorted(FIXTURES.glob("*.json"))
NOW = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_fixture_becomes_the_expected_facts(path: Path) -> None:
    case = json.loads(path.read_text())
    facts = [event_to_json(e) for e in helpscout.to_events(delivery(case))]
    assert [subset(f, e) for f, e in zip(facts, case["expect"], strict=True)] == case["expect"]
    assert all(f["ticket_id"] == "2391938111" for f in facts)


def test_signatures_follow_the_documented_recipe() -> None:
    body = b'{"id": 2391938111}'
    documented = base64.b64encode(hmac.new(b"my-secret-key", body, hashlib.sha1).digest()).decode()
    headers = helpscout.signed_headers("my-secret-key", body, NOW)
    assert headers == {"content-type": "application/json", "x-helpscout-signature": documented}
    helpscout.verify(headers, body, "my-secret-key", NOW, 300)
    helpscout.verify(headers, body, "my-secret-key", datetime(2030, 1, 1, tzinfo=UTC), 300)  # nothing dated is signed
    for given, code in [({}, "missing_signature"), (helpscout.signed_headers("other", body, NOW), "bad_signature"),
                        ({"x-helpscout-signature": helpscout.sign("my-secret-key", body + b"\n")}, "bad_signature")]:
        with pytest.raises(AuthError) as caught:
            helpscout.verify(given, body, "my-secret-key", NOW, 300)
        assert caught.value.code == code


def test_delivery_keys_name_the_event_and_the_body() -> None:
    case = load("02_agent_reply.json")
    key = helpscout.delivery_key(delivery(case))
    assert key is not None and key.startswith("helpscout:convo.agent.reply.created:")
    assert helpscout.delivery_key(delivery(case, {"x-helpscout-event": "convo.assigned"})) != key
    assert helpscout.delivery_key(delivery(case, {})) is None


def test_every_delivery_restates_the_history_under_the_same_fact_ids() -> None:
    """A thread keeps its id whichever later delivery carries it, so it counts once."""
    created = {e.event_id for e in helpscout.to_events(delivery(load("01_convo_created.json")))}
    closed = {e.event_id for e in helpscout.to_events(delivery(load("04_status_closed.json")))}
    assert {"2391938111:thread:10001", "2391938111:thread:10001:status"} <= created & closed
    again = [e.event_id for e in helpscout.to_events(delivery(load("04_status_closed.json")))]
    assert sorted(again) == sorted(closed) and len(again) == len(set(again))


def test_a_customer_reply_reopens_at_the_time_of_its_thread() -> None:
    case = load("04_status_closed.json")
    reply = {"id": 10005, "type": "customer", "status": "active", "state": "published", "body": "Still nothing",
             "createdBy": {"id": 449379, "type": "customer"}, "createdAt": "2026-11-16T12:00:00Z"}
    case["body"].update(status="active", _embedded={"threads": [reply, *case["body"]["_embedded"]["threads"]]})
    snapshot, *rest = helpscout.to_events(delivery(case, {"x-helpscout-event": "convo.customer.reply.created"}))
    assert snapshot.occurred_at == datetime(2026, 11, 16, 12, 0, tzinfo=UTC)  # not userUpdatedAt, which is older
    assert [(e.kind, getattr(e, "status", None)) for e in rest[:2]] == [("message", None), ("status", "open")]


def test_the_test_event_is_a_handshake() -> None:
    case = {"headers": {"x-helpscout-event": "helpscout.test"}, "body": {}, "received_at": NOW.isoformat()}
    assert helpscout.handshake(delivery(case)) == {"ok": True, "event": "helpscout.test"}
    assert helpscout.handshake(delivery(load("01_convo_created.json"))) is None


@pytest.mark.parametrize(("event", "body", "code"), [
    (None, {"id": 1}, "missing_event"),
    ("convo.created", [1, 2], "wrong_type"),
    ("convo.created", {"status": "active"}, "missing_id"),
    ("convo.created", {"id": 5, "_embedded": {"threads": "x"}}, "wrong_type"),
    ("convo.created", {"id": 5, "tags": ["vip"]}, "wrong_type"),
    ("satisfaction.ratings", {"id": 1, "conversationId": 5, "rating": "superb"}, "out_of_range"),
    ("satisfaction.ratings", {"id": 1, "rating": "great"}, "missing_id"),
])
def test_payloads_that_cannot_be_read(event: str | None, body: Any, code: str) -> None:
    headers = {"x-helpscout-event": event} if event else {}
    with pytest.raises(PayloadError) as caught:
        helpscout.to_events(delivery({"body": body, "received_at": NOW.isoformat()}, headers))
    assert caught.value.code == code


def test_the_assigned_event_also_says_when_nobody_is_assigned() -> None:
    case = load("16_no_threads_embedded.json")
    case["body"]["assignee"] = None
    observed, assigned = helpscout.to_events(delivery(case))
    assert observed.assignee is None  # a snapshot cannot tell "nobody" from "not said"
    assert assigned.kind == "assigned" and assigned.assignee is not None and assigned.assignee.id is None


def test_a_conversation_marked_not_spam_counts_again_and_can_be_flagged_again() -> None:
    spam, not_spam = load("13_marked_as_spam.json"), load("18_marked_not_spam.json")
    again = load("13_marked_as_spam.json")
    again.update(received_at="2026-11-16T16:00:00Z")
    again["body"]["userUpdatedAt"] = "2026-11-16T16:00:00Z"

    def ticket(*cases: dict[str, Any]) -> Any:
        return fold_ticket([e for case in cases for e in helpscout.to_events(delivery(case))])

    assert ticket(spam).removed is RemovalReason.SPAM
    back = ticket(spam, not_spam)
    assert back.removed is None and back.customer_messages == 1  # its history counts again
    assert ticket(not_spam, spam).removed is None  # delivered out of order: the receipt times decide
    assert ticket(spam, not_spam, again).removed is RemovalReason.SPAM
