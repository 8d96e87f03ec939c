"""Zendesk payloads (written from Zendesk's documented formats) become the expected facts."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from metrics.model import RemovalReason
from metrics.tickets import fold_ticket
from storage.codec import event_to_json
from storage.ingest.adapters import ADAPTERS, zendesk
from storage.ingest.adapters.contract import AuthError, PayloadError
from tests.support.adapter_cases import case_delivery as delivery
from tests.support.adapter_cases import subset

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"
CASES = sorted((FIXTURES / "zendesk").glob("*.json"))


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_fixture_becomes_the_expected_facts(path: Path) -> None:
    case = json.loads(path.read_text())
    facts = [event_to_json(e) for e in zendesk.to_events(delivery(case))]
    assert [subset(f, e) for f, e in zip(facts, case["expect"], strict=True)] == case["expect"]
    assert all(f["ticket_id"] in ("48213", "555") for f in facts)


def test_every_helpdesk_with_an_adapter_has_fixtures() -> None:
    folders = {p.name for p in FIXTURES.iterdir() if p.is_dir()}
    assert folders == set(ADAPTERS) - {"deskpulse"}  # deskpulse's format is covered end to end


def test_the_same_trigger_sent_again_gives_the_same_fact_ids() -> None:
    case = json.loads((FIXTURES / "zendesk" / "21_trigger_agent_comment.json").read_text())
    first, again = zendesk.to_events(delivery(case)), zendesk.to_events(delivery(case))
    assert [e.event_id for e in first] == [e.event_id for e in again]


NOW = datetime(2026, 11, 16, 9, 25, tzinfo=UTC)


def signed(body: bytes, *, secret: str = "s", when: datetime = NOW) -> dict[str, str]:
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"x-zendesk-webhook-signature-timestamp": stamp,
            "x-zendesk-webhook-signature": zendesk.sign(secret, stamp, body)}


def test_signature_checks() -> None:
    body = b'{"type": "zen:event-type:ticket.created"}'
    zendesk.verify(signed(body), body, "s", NOW, 300)
    for headers, code in [(signed(body, secret="other"), "bad_signature"), ({}, "missing_signature"),
                          (signed(body, when=NOW - timedelta(minutes=6)), "stale_timestamp"),
                          (signed(body + b" "), "bad_signature")]:
        with pytest.raises(AuthError) as caught:
            zendesk.verify(headers, body, "s", NOW, 300)
        assert caught.value.code == code
    zendesk.verify(signed(body, when=NOW - timedelta(days=30)), body, "s", NOW, 0)  # window off: archives


def test_delivery_keys() -> None:
    event = json.loads((FIXTURES / "zendesk" / "02_customer_comment.json").read_text())
    trigger = json.loads((FIXTURES / "zendesk" / "24_trigger_rating_good.json").read_text())
    assert zendesk.delivery_key(delivery(event)) == "zendesk:9012345:01J-comment_added"
    assert zendesk.delivery_key(delivery(trigger, {"x-zendesk-webhook-invocation-id": "inv-7"})) == \
        "zendesk:invocation:inv-7"
    assert zendesk.delivery_key(delivery(trigger)) is None  # the pipeline hashes the body


@pytest.mark.parametrize(("body", "code"), [
    ({"type": "zen:event-type:ticket.created", "id": "1", "detail": "nope"}, "wrong_type"),
    ({"type": "zen:event-type:ticket.created", "id": "1", "detail": {}, "subject": ""}, "missing_id"),
    ({"event": "public_comment", "ticket": {"title": "no id"}}, "missing_id"),
    ({"event": "public_comment", "actor_role": "robot", "ticket": {"id": "5"}}, "out_of_range"),
])
def test_payloads_that_cannot_be_read(body: dict[str, Any], code: str) -> None:
    with pytest.raises(PayloadError) as caught:
        zendesk.to_events(delivery({"body": body, "hint": None, "received_at": NOW.isoformat()}))
    assert caught.value.code == code


def test_a_ticket_taken_out_of_deleted_tickets_counts_again_but_a_merge_stays() -> None:
    def case(name: str, change: str | None = None) -> dict[str, Any]:
        loaded = json.loads((FIXTURES / "zendesk" / name).read_text())
        if change:
            loaded["body"].update(type=f"zen:event-type:ticket.{change}", id=f"01J-{change}")
        return loaded

    def ticket(*cases: dict[str, Any]) -> Any:
        return fold_ticket([e for c in cases for e in zendesk.to_events(delivery(c))])

    deleted, undeleted = case("10_spam.json", "soft_deleted"), case("16_undeleted.json")
    assert ticket(deleted).removed is RemovalReason.DELETED
    assert ticket(deleted, undeleted).removed is None
    assert ticket(undeleted, deleted).removed is None  # 10:40 is after 09:25, whatever came first
    assert ticket(case("10_spam.json", "merged"), undeleted).removed is RemovalReason.MERGED
