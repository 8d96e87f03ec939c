"""What `deskpulse doctor` reads from the database (storage.health), on SQLite and PostgreSQL.

Requests go through the real receiving pipeline, each at a chosen moment.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from bot.runtime import Database
from storage import health, imports
from storage.db import unit_of_work
from storage.ingest.pipeline import Request, process_all, receive, split_endpoint, store
from storage.migrate import current_revision
from tests.support.signing import signed_request

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SECRETS = {"zendesk": "zendesk-test-secret", "deskpulse": "deskpulse-test-secret"}


def zendesk_event(event_id: str, *, time: str = "2026-11-23T08:00:00Z") -> dict[str, object]:
    return {"type": "zen:event-type:ticket.status_changed", "account_id": 1, "id": event_id, "time": time,
            "subject": "zen:ticket:7", "detail": {"id": "7", "status": "OPEN"},
            "event": {"current": "OPEN", "previous": "NEW"}}


def arrive(db: Database, endpoint: str, *, ago: timedelta, payload: object = None, raw: bytes | None = None,
           secret: str | None = None) -> None:
    """A request as the server would take it, received `ago` before NOW."""
    source, hint = split_endpoint(endpoint)
    when = NOW - ago
    body, headers = signed_request(source if source in SECRETS else "zendesk", payload, raw=raw, when=when,
                                   secret=secret)
    answer = receive(Request(source=source, endpoint=endpoint, hint=hint, headers=headers, body=body,
                             received_at=when), secrets=SECRETS, max_age=300)
    with unit_of_work(db.sessions) as session:
        store(session, answer)


def test_counts_per_helpdesk_over_a_day_a_week_and_a_month(db: Database) -> None:
    arrive(db, "/webhooks/zendesk", ago=timedelta(minutes=3), payload=zendesk_event("a"))
    arrive(db, "/webhooks/zendesk/solved", ago=timedelta(hours=30), payload=zendesk_event("b"))
    arrive(db, "/webhooks/zendesk", ago=timedelta(days=12), payload=zendesk_event("c"))
    arrive(db, "/webhooks/zendesk", ago=timedelta(hours=2), raw=b'{"id": ')  # kept, failed
    for n in range(3):
        arrive(db, "/webhooks/zendesk", ago=timedelta(hours=n), payload=zendesk_event(f"x{n}"), secret="wrong")
    arrive(db, "/webhooks/zendesk", ago=timedelta(days=3), payload=zendesk_event("y"), secret="wrong")
    arrive(db, "/webhooks/zendsk", ago=timedelta(hours=1), payload={})
    with db.sessions() as session:
        found = health.webhook_activity(session, now=NOW)
    z = found["zendesk"]
    assert z.last_delivery_at == NOW - timedelta(minutes=3)
    assert (z.deliveries_24h, z.deliveries_7d, z.failed_24h, z.failed_7d) == (2, 3, 1, 1)
    assert z.errors_7d == {"malformed_json": 1}
    assert (z.refused_24h, z.refused_7d) == ({"bad_signature": 3}, {"bad_signature": 4})
    assert z.last_refused_at == NOW
    assert (z.pending, z.oldest_pending_at) == (3, NOW - timedelta(days=12))  # never processed in this test
    assert found["zendsk"].refused_7d == {"unknown_helpdesk": 1}


def test_processed_deliveries_leave_nothing_held_back_and_suspect_times_are_counted(db: Database) -> None:
    arrive(db, "/webhooks/zendesk", ago=timedelta(minutes=10), payload=zendesk_event("a"))
    arrive(db, "/webhooks/zendesk", ago=timedelta(minutes=5), payload=zendesk_event("b", time="2099-07-04T05:33:18Z"))
    process_all(db.sessions, now=NOW)
    with db.sessions() as session:
        z = health.webhook_activity(session, now=NOW)["zendesk"]
    assert (z.pending, z.oldest_pending_at) == (0, None)
    assert z.suspect_events_7d == 2  # the 2099 one: its snapshot and its status change


def test_imported_history_is_not_webhook_traffic(db: Database) -> None:
    with unit_of_work(db.sessions) as session:
        imports.save_page(session, imports.ImportedPage(
            source="zendesk", origin="acme.zendesk.com", stream="tickets", request="/api/v2/…",
            body=json.dumps({"tickets": []}).encode(), received_at=NOW - timedelta(hours=1), events=[]))
    with db.sessions() as session:
        assert "zendesk" not in health.webhook_activity(session, now=NOW)


def test_the_schema_is_compared_with_the_newest_migration(db: Database, database_url: str) -> None:
    schema = health.schema(database_url)
    assert schema.up_to_date and schema.current == current_revision(database_url)
