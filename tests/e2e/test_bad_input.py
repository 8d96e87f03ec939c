"""Every kind of bad input gets a clear 4xx, is kept when authentic, and never breaks the server."""

from __future__ import annotations

import dataclasses

import httpx
import pytest
from sqlalchemy import select, update

from bot.runtime import utc_now
from bot.settings import Settings
from storage import deliveries, tickets
from storage.ingest.adapters import ADAPTERS, deskpulse
from storage.ingest.pipeline import process_all
from storage.tables import QuarantinedRequest, RawDelivery
from tests.support.server import RunningServer
from tests.support.signing import deskpulse_request

EVENT = b'{"id":"e1","type":"ticket.created","ticket_id":"1","ticket":{"channel":"email"}}'

BAD_BODIES = [
    (b'{"id": "e1", "type": ', 400, "malformed_json"),
    (b'{"id":"e1","type":"ticket.created","ticket_id":NaN}', 400, "non_finite_number"),
    (b'{"id":"e1","type":"ticket.created","ticket_id":Infinity}', 400, "non_finite_number"),
    (b'{"id":"e1","id":"e2","type":"ticket.created","ticket_id":"1"}', 400, "duplicate_key"),
    (b'{"a":' * 100 + b"1" + b"}" * 100, 400, "too_deep"),
    (b'{"id":"e1","type":"ticket.created","ticket_id":' + b"9" * 60 + b"}", 400, "number_too_long"),
    (b"\xff\xfe{}", 400, "invalid_encoding"),
    (b'{"id":"e1","type":"ticket.created","ticket_id":{"x":1}}', 422, "wrong_type"),
    (b'{"id":"e1","type":"ticket.created"}', 422, "missing_id"),
    (b'{"type":"ticket.created","ticket_id":"1"}', 422, "missing_id"),
    (b'{"id":"e1","type":"message.created","ticket_id":"1","message":{"id":"m","author":{"role":"alien"}}}',
     422, "out_of_range"),
    (b'[1, 2, 3]', 422, "wrong_type"),
    (b'{"version": 2, "events": []}', 422, "unsupported_version"),
]


@pytest.mark.parametrize(("raw", "status", "code"), BAD_BODIES, ids=[c for _, _, c in BAD_BODIES])
def test_bad_bodies_get_a_clear_error_and_are_kept(server: RunningServer, raw: bytes, status: int,
                                                   code: str) -> None:
    body, headers = deskpulse_request(None, raw=raw)
    response = server.post("/webhooks/deskpulse", body, headers)
    assert response.status_code == status
    assert response.json()["error"] == code and response.json()["detail"]
    with server.sessions() as session:
        row = session.scalars(select(RawDelivery)).one()
    assert (row.fate, row.error_code, row.body) == ("failed", code, raw)


def test_wrong_content_type_is_refused_but_kept(server: RunningServer) -> None:
    body, headers = deskpulse_request(None, raw=EVENT)
    response = server.post("/webhooks/deskpulse", body, {**headers, "content-type": "text/plain"})
    assert response.status_code == 415 and response.json()["error"] == "unsupported_media_type"
    with server.sessions() as session:
        assert session.scalar(select(RawDelivery.fate)) == "failed"


def test_bodies_over_one_mebibyte_are_refused(server: RunningServer) -> None:
    huge = b'{"pad":"' + b"x" * (1024 * 1024) + b'"}'
    body, headers = deskpulse_request(None, raw=huge)
    response = server.post("/webhooks/deskpulse", body, headers)
    assert response.status_code == 413 and response.json()["error"] == "body_too_large"
    ok_body, ok_headers = deskpulse_request(None, raw=EVENT)
    assert server.post("/webhooks/deskpulse", ok_body, ok_headers).status_code == 202  # still serving


def test_the_quarantine_stays_bounded(server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deliveries, "QUARANTINE_MAX_ROWS", 5)
    for i in range(12):
        server.post("/webhooks/deskpulse", b'{"n": %d}' % i, {"content-type": "application/json"})
    with server.sessions() as session:
        kept = list(session.scalars(select(QuarantinedRequest.body).order_by(QuarantinedRequest.id)))
    assert kept == [b'{"n": %d}' % i for i in range(7, 12)]  # the newest five


def _broken_adapter(delivery):  # type: ignore[no-untyped-def]
    raise RuntimeError("a bug in the adapter")


def test_a_delivery_that_failed_is_processed_by_replay_after_a_fix(
        server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """An adapter bug must not lose a delivery: it is stored, marked failed, and replayed."""
    with monkeypatch.context() as patch:
        patch.setitem(ADAPTERS, "deskpulse", dataclasses.replace(deskpulse.ADAPTER, to_events=_broken_adapter))
        body, headers = deskpulse_request(None, raw=EVENT)
        response = server.post("/webhooks/deskpulse", body, headers)
    assert response.status_code == 202  # kept; the helpdesk need not retry
    with server.sessions() as session:
        assert session.scalar(select(RawDelivery.error_code)) == "adapter_error"
        deliveries.requeue_failed(session)
        session.commit()
    process_all(server.sessions, now=utc_now())  # what `deskpulse replay --failed` runs
    with server.sessions() as session:
        assert session.scalar(select(RawDelivery.fate)) == "processed"
        assert tickets.get(session, "deskpulse:1") is not None


def test_a_replayed_delivery_handled_twice_at_once_is_processed_not_a_duplicate(
        server: RunningServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """`deskpulse replay --failed` while serve's own processor runs: both may read the requeued
    delivery as pending (SQLite locks no rows). The second must not call it a duplicate of itself."""
    with monkeypatch.context() as patch:
        patch.setitem(ADAPTERS, "deskpulse", dataclasses.replace(deskpulse.ADAPTER, to_events=_broken_adapter))
        body, headers = deskpulse_request(None, raw=EVENT)
        assert server.post("/webhooks/deskpulse", body, headers).status_code == 202
        server.wait_processed()
    with server.sessions() as session:
        deliveries.requeue_failed(session)
        session.commit()
    process_all(server.sessions, now=utc_now())
    with server.sessions() as session:  # as the other processor read it: still pending
        session.execute(update(RawDelivery).values(fate=deliveries.PENDING))
        session.commit()
    process_all(server.sessions, now=utc_now())
    with server.sessions() as session:
        assert session.scalars(select(RawDelivery.fate)).all() == ["processed"]


def test_replay_reads_a_refused_body_as_strictly_as_on_arrival(server: RunningServer) -> None:
    """Processing trusts the arrival check only for deliveries that passed it."""
    body, headers = deskpulse_request(None, raw=EVENT.replace(b'"type"', b'"id":"e2","type"'))
    assert server.post("/webhooks/deskpulse", body, headers).status_code == 400
    with server.sessions() as session:
        deliveries.requeue_failed(session)
        session.commit()
    process_all(server.sessions, now=utc_now())
    with server.sessions() as session:
        assert session.execute(select(RawDelivery.fate, RawDelivery.error_code)).one() == ("failed", "duplicate_key")
        assert tickets.get(session, "deskpulse:1") is None


def test_health_check_fails_when_the_database_does_not_answer(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tests.support.server import start_server

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/health.db")
    monkeypatch.setenv("DESKPULSE_WEBHOOK_SECRET", "deskpulse-test-secret")
    running = start_server(Settings())
    try:
        assert httpx.get(running.base_url + "/healthz").status_code == 200
        running.service.database.engine.dispose()
        (tmp_path / "health.db").unlink()
        (tmp_path / "health.db").mkdir()  # the file is gone and cannot be created again
        response = httpx.get(running.base_url + "/healthz")
        assert response.status_code == 503 and response.json()["status"] == "unavailable"
        body, headers = deskpulse_request(None, raw=EVENT)
        delivery = running.post("/webhooks/deskpulse", body, headers)
        assert delivery.status_code == 503 and delivery.json()["error"] == "unavailable"  # retry, not lost
    finally:
        running.stop()
