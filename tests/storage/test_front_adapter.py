"""Front webhooks (written from Front's documented formats) become the expected facts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from metrics.model import RemovalReason
from metrics.tickets import fold_ticket
from storage.codec import event_to_json
from storage.ingest.adapters import front
from storage.ingest.adapters.contract import AuthError, PayloadError
from tests.support.adapter_cases import case_delivery as delivery
from tests.support.adapter_cases import load_case, subset

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks" / "front"
load = partial(load_case, "front")
CASES = sorted(FIXTURES.glob("*.json"))
NOW = datetime(2026, 11, 16, 14, 0, tzinfo=UTC)


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_fixture_becomes_the_expected_facts(path: Path) -> None:
    case = json.loads(path.read_text())
    facts = [event_to_json(e) for e in front.to_events(delivery(case))]
    assert [subset(f, e) for f, e in zip(facts, case["expect"], strict=True)] == case["expect"]
    assert all(f["ticket_id"] == "cnv_yo1kg5q" for f in facts)


def millis(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def test_application_webhooks_sign_the_timestamp_and_the_body() -> None:
    body = json.dumps(load("01_inbound.json")["body"]).encode()
    stamp = millis(NOW)
    digest = hmac.new(b"app-secret", f"{stamp}:".encode() + body, hashlib.sha256).digest()
    documented = base64.b64encode(digest).decode()
    headers = front.signed_headers("app-secret", body, NOW)
    assert headers == {"content-type": "application/json", "x-front-request-timestamp": stamp,
                       "x-front-signature": documented}
    front.verify(headers, body, "app-secret", NOW + timedelta(minutes=4), 300)
    stale = front.signed_headers("app-secret", body, NOW - timedelta(minutes=6))
    for given, code in [({}, "missing_signature"), (front.signed_headers("other", body, NOW), "bad_signature"),
                        (stale, "stale_timestamp"),
                        ({**headers, "x-front-request-timestamp": millis(NOW + timedelta(seconds=1))}, "bad_signature"),
                        ({**headers, "x-front-request-timestamp": "yesterday"}, "bad_timestamp")]:
        with pytest.raises(AuthError) as caught:
            front.verify(given, body, "app-secret", NOW, 300)
        assert caught.value.code == code
    front.verify(stale, body, "app-secret", NOW, 0)  # window off: archives


def test_rule_webhooks_sign_the_body_alone_with_sha1() -> None:
    body = json.dumps(load("17_rule_webhook_sends_the_bare_event.json")["body"]).encode()
    documented = base64.b64encode(hmac.new(b"api-secret", body, hashlib.sha1).digest()).decode()
    front.verify({"x-front-signature": documented}, body, "api-secret", NOW, 300)
    with pytest.raises(AuthError) as caught:  # an application webhook's signature without its timestamp
        front.verify({"x-front-signature": front.sign_application("api-secret", millis(NOW), body)}, body,
                     "api-secret", NOW, 300)
    assert caught.value.code == "bad_signature"


def test_the_validation_request_is_answered_with_its_challenge() -> None:
    case = load("20_validation_sync.json")
    assert front.handshake(delivery(case, {"x-front-challenge": "b3f9e1"})) == {"challenge": "b3f9e1"}
    assert front.handshake(delivery(case)) == {"ok": True}
    assert front.handshake(delivery(load("01_inbound.json"))) is None


def test_delivery_keys_and_fact_ids_follow_the_event_id() -> None:
    app = load("01_inbound.json")
    rule = {**app, "body": app["body"]["payload"]}  # the same event through a rule webhook
    assert front.delivery_key(delivery(app)) == front.delivery_key(delivery(rule)) == "front:evt_55c8c149"
    assert [e.event_id for e in front.to_events(delivery(app))] == [e.event_id for e in front.to_events(delivery(rule))]
    assert front.delivery_key(delivery(load("20_validation_sync.json"))) is None


def test_times_are_float_seconds_and_a_missing_one_falls_back_to_receipt() -> None:
    case = load("02_reply_by_a_teammate.json")
    assert front.to_events(delivery(case))[1].occurred_at == datetime(2026, 11, 16, 9, 25, 0, 125000, tzinfo=UTC)
    del case["body"]["payload"]["emitted_at"]
    message = front.to_events(delivery(case))[1]
    assert (message.occurred_at, message.time_source.value, message.time_suspect) == (NOW, "received", False)


@pytest.mark.parametrize(("kind", "role_of"), [
    ("user", "agent"), ("visitor", "agent"), ("API", "bot"), ("integration", "bot"), ("rule", "system"),
    ("macro", "system"), ("CSAT", "system"), (None, "agent"),
])
def test_who_sent_a_reply(kind: str | None, role_of: str) -> None:
    case = load("02_reply_by_a_teammate.json")
    case["body"]["payload"]["target"]["data"]["author"]["type"] = kind
    assert front.to_events(delivery(case))[1].author_role.value == role_of


@pytest.mark.parametrize(("body", "code"), [
    ([1], "wrong_type"),
    ({"type": "inbound_received", "authorization": {"id": "cmp_1"}, "payload": {"id": "evt_1"}}, "missing_type"),
    ({"id": "evt_1", "type": "inbound", "conversation": "cnv_1"}, "wrong_type"),
    ({"id": "evt_1", "type": "archive", "conversation": {"status": "archived"}}, "missing_id"),
    ({"type": "archive", "conversation": {"id": "cnv_1"}}, "missing_id"),
    ({"id": "evt_1", "type": "out_reply", "conversation": {"id": "cnv_1"}, "target": {"data": {"type": "email"}}},
     "missing_id"),
    ({"id": "evt_1", "type": "tag", "conversation": {"id": "cnv_1", "tags": "vip"}}, "wrong_type"),
])
def test_payloads_that_cannot_be_read(body: Any, code: str) -> None:
    with pytest.raises(PayloadError) as caught:
        front.to_events(delivery({"body": body, "received_at": NOW.isoformat()}))
    assert caught.value.code == code


def test_a_conversation_taken_out_of_the_trash_counts_again() -> None:
    inbound, reply = load("01_inbound.json"), load("02_reply_by_a_teammate.json")
    trashed, restored = load("16_trashed.json"), load("21_restored_from_the_trash.json")

    def ticket(*cases: dict[str, Any]) -> Any:
        return fold_ticket([e for case in cases for e in front.to_events(delivery(case))])

    assert ticket(inbound, reply, trashed).removed is RemovalReason.DELETED
    back = ticket(restored, reply, trashed, inbound)  # any arrival order
    assert back.removed is None and back.agent_replies == 1
    assert back.first_response_seconds == 25 * 60  # the teammate's reply, 25 minutes after the customer wrote
