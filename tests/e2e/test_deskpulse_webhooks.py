"""deskpulse's own format over real, signed HTTP: a lead's story gives the exact numbers."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

from sqlalchemy import func, select

from metrics.model import Csat
from storage import tickets
from storage.tables import QuarantinedRequest, RawDelivery
from tests.support.scenarios import Story
from tests.support.server import RunningServer
from tests.support.signing import deskpulse_request

MONDAY_9 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)


def send(server: RunningServer, payload: object, **kwargs: object):  # type: ignore[no-untyped-def]
    body, headers = deskpulse_request(payload, **kwargs)  # type: ignore[arg-type]
    return server.post("/webhooks/deskpulse", body, headers)


def ticket(server: RunningServer, key: str):  # type: ignore[no-untyped-def]
    server.wait_processed()
    with server.sessions() as session:
        return tickets.get(session, key)


def test_a_reopened_ticket_counts_both_resolutions(server: RunningServer) -> None:
    story = (Story("501", MONDAY_9).opened("chat").customer("+0m").agent("+3m").solved("+10m")
             .customer("+2h", "It still does not work").status("+2h", "open").agent("+150m")
             .solved("+3h").rated("+4h", 5))
    for event in story.events:  # one delivery per event, as a helpdesk would send them
        assert send(server, event).status_code == 202
    t = ticket(server, "deskpulse:501")
    assert t.first_response_seconds == 3 * 60
    assert t.response_intervals_seconds == (180.0, 1800.0)
    assert (t.agent_replies, t.customer_messages) == (2, 2)
    assert t.first_resolution_seconds == 10 * 60
    assert t.full_resolution_seconds == 3 * 3600
    assert (t.times_resolved, t.reopens) == (2, 1)
    assert not t.one_touch and not t.abandoned
    assert t.csat == Csat.GOOD and t.csat_score == 5


def test_events_out_of_order_give_the_same_ticket(server: RunningServer) -> None:
    def story(ticket_id: str) -> Story:
        return (Story(ticket_id, MONDAY_9).opened("email").customer("+0m").agent("+2h").solved("+3h")
                .customer("+1d").status("+1d", "open").agent("+26h").solved("+27h").rated("+28h", 2))

    in_order, shuffled = story("601"), story("602")
    random.Random(4).shuffle(shuffled.events)
    shuffled.events.sort(key=lambda e: e["type"] != "ticket.rated", reverse=True)  # the rating first of all
    for a, b in zip(in_order.events, shuffled.events, strict=True):
        send(server, a)
        send(server, b)
    first, second = ticket(server, "deskpulse:601"), ticket(server, "deskpulse:602")
    numbers = ("first_response_seconds", "response_intervals_seconds", "first_resolution_seconds",
               "full_resolution_seconds", "times_resolved", "reopens", "csat", "status", "created_at")
    assert {n: getattr(first, n) for n in numbers} == {n: getattr(second, n) for n in numbers}
    assert first.reopens == 1 and first.csat == Csat.BAD


def test_a_ticket_flagged_as_spam_by_mistake_counts_again_once_restored(server: RunningServer) -> None:
    story = (Story("651", MONDAY_9).opened("chat").customer("+0m").agent("+4m").solved("+20m")
             .removed("+30m", "spam").restored("+2h"))
    *flagged, restored = story.events
    for event in reversed(flagged):  # the removal arrives before the ticket's own history
        assert send(server, event).status_code == 202
    assert ticket(server, "deskpulse:651").removed is not None
    with server.sessions() as session:  # a removed ticket keeps no messages for the metrics
        assert tickets.get(session, "deskpulse:651").messages == ()  # type: ignore[union-attr]
    assert send(server, restored).status_code == 202
    t = ticket(server, "deskpulse:651")
    assert t.removed is None and t.first_response_seconds == 4 * 60 and t.one_touch
    assert len(t.messages) == 2 and t.times_resolved == 1
    merged = Story("652", MONDAY_9).opened("email").removed("+5m", "merged").restored("+1h")
    assert send(server, merged.body()).status_code == 202
    assert ticket(server, "deskpulse:652").removed.value == "merged"  # type: ignore[union-attr]


def test_a_delivery_sent_twice_is_stored_twice_and_counted_once(server: RunningServer) -> None:
    story = Story("701", MONDAY_9).opened("chat").customer("+0m").agent("+1m")
    first = send(server, story.body())
    again = send(server, story.body())
    reordered = send(server, {"events": list(reversed(story.events)), "version": 1})  # same ids, other bytes
    assert first.status_code == 202
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    assert reordered.status_code == 200 and reordered.json()["status"] == "duplicate"
    t = ticket(server, "deskpulse:701")
    assert (t.agent_replies, t.customer_messages) == (1, 1)
    with server.sessions() as session:
        fates = sorted(session.scalars(select(RawDelivery.fate)))
    assert fates == ["duplicate", "duplicate", "processed"]


def test_wrong_signatures_are_refused_and_quarantined(server: RunningServer) -> None:
    payload = Story("801", MONDAY_9).opened().body()
    wrong_secret = send(server, payload, secret="not-the-secret")
    body, headers = deskpulse_request(payload)
    missing = server.post("/webhooks/deskpulse", body, {"content-type": "application/json"})
    stale = send(server, payload, timestamp=int(datetime.now(UTC).timestamp()) - 3600)
    unknown = server.post("/webhooks/nosuchdesk", body, headers)
    assert [r.status_code for r in (wrong_secret, missing, stale, unknown)] == [401, 401, 401, 404]
    assert [r.json()["error"] for r in (wrong_secret, missing, stale)] == [
        "bad_signature", "missing_signature", "stale_timestamp"]
    with server.sessions() as session:
        assert session.scalar(select(func.count()).select_from(RawDelivery)) == 0
        reasons = sorted(session.scalars(select(QuarantinedRequest.reason)))
    assert reasons == ["bad_signature", "missing_signature", "stale_timestamp", "unknown_helpdesk"]


def test_unknown_event_types_are_kept_and_ignored(server: RunningServer) -> None:
    response = send(server, {"id": "x1", "type": "ticket.sentiment_guessed", "ticket_id": "9"})
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    with server.sessions() as session:
        assert list(session.scalars(select(RawDelivery.fate))) == ["ignored"]


def test_a_ping_is_answered(server: RunningServer) -> None:
    response = send(server, {"type": "ping", "challenge": "abc"})
    assert response.status_code == 200 and response.json() == {"ok": True, "pong": "abc"}


def test_text_with_nul_and_lone_surrogates_is_stored(server: RunningServer) -> None:
    raw = (b'{"version":1,"events":[{"id":"n1","type":"ticket.created","ticket_id":"77",'
           b'"occurred_at":"2026-11-16T09:00:00Z","ticket":{"subject":"bad \\u0000 text \\ud800 here",'
           b'"channel":"email","tags":["<!channel>"]}}]}')
    response = send(server, None, raw=raw)
    assert response.status_code == 202
    t = ticket(server, "deskpulse:77")
    assert t.subject == "bad \ufffd text \ufffd here"
    assert t.tags == ("<!channel>",)  # stored verbatim; escaping happens where it is shown
    with server.sessions() as session:
        assert session.scalar(select(RawDelivery.body)) == raw  # the exact bytes stay


def test_times_that_cannot_be_right_fall_back_to_receipt_and_are_flagged(server: RunningServer) -> None:
    events = [{"id": f"t{i}", "type": "message.created", "ticket_id": "88", "occurred_at": value,
               "message": {"id": f"tm{i}", "author": {"role": "customer"}}}
              for i, value in enumerate([0, "1970-01-01T00:00:00Z", "1999-12-31T23:59:59Z", "2099-01-01T00:00:00Z"])]
    before = datetime.now(UTC)
    assert send(server, {"version": 1, "events": events}).status_code == 202
    t = ticket(server, "deskpulse:88")
    assert t.time_suspect_events == 4
    assert before <= t.created_at <= datetime.now(UTC)


def test_payload_json_survives_the_export_format(server: RunningServer) -> None:
    payload = Story("901", MONDAY_9).opened("social").body()
    assert send(server, payload).status_code == 202
    with server.sessions() as session:
        row = session.scalars(select(RawDelivery)).one()
    assert json.loads(row.body) == payload
    assert "x-deskpulse-signature" in row.headers and row.endpoint == "/webhooks/deskpulse"
