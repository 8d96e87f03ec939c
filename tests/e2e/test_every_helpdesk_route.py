"""The ingestion issue's bad-input rules hold on every helpdesk's route, whoever signs it.

Each adapter says how its helpdesk signs a body (`signed_headers`), so a helpdesk added later
is checked here without a line of this file changing.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from storage.ingest.adapters import ADAPTERS
from storage.tables import QuarantinedRequest, RawDelivery
from tests.support.server import RunningServer
from tests.support.signing import signed_request

HELPDESKS = sorted(ADAPTERS)

UNREADABLE = [
    (b'{"id": "e1", "type": ', "malformed_json"),
    (b'{"id": "e1", "ticket_id": NaN}', "non_finite_number"),
    (b'{"id": "e1", "id": "e2"}', "duplicate_key"),
    (b'{"a":' * 100 + b"1" + b"}" * 100, "too_deep"),
    (b'{"id": ' + b"9" * 60 + b"}", "number_too_long"),
]


@pytest.mark.parametrize("source", HELPDESKS)
def test_unreadable_bodies_get_a_clear_400_and_are_kept_for_replay(server: RunningServer, source: str) -> None:
    for raw, code in UNREADABLE:
        body, headers = signed_request(source, raw=raw)
        response = server.post(f"/webhooks/{source}", body, headers)
        assert response.status_code == 400, (source, code, response.text)
        assert response.json()["error"] == code and response.json()["detail"]
    with server.sessions() as session:
        kept = session.execute(select(RawDelivery.body, RawDelivery.fate, RawDelivery.error_code)
                               .order_by(RawDelivery.id)).all()
    assert [tuple(row) for row in kept] == [(raw, "failed", code) for raw, code in UNREADABLE]


@pytest.mark.parametrize("source", HELPDESKS)
def test_a_wrong_secret_is_refused_and_nothing_is_processed(server: RunningServer, source: str) -> None:
    body, headers = signed_request(source, {"id": "1"}, secret="not-the-secret")
    response = server.post(f"/webhooks/{source}", body, headers)
    assert response.status_code == 401 and response.json()["error"]
    unsigned = server.post(f"/webhooks/{source}", body, {"content-type": "application/json"})
    assert unsigned.status_code == 401
    with server.sessions() as session:
        assert session.scalar(select(RawDelivery.id)) is None
        assert len(session.scalars(select(QuarantinedRequest.id)).all()) == 2  # kept for debugging only


@pytest.mark.parametrize("source", HELPDESKS)
def test_oversized_and_non_json_bodies_are_refused_and_the_server_keeps_serving(
        server: RunningServer, source: str) -> None:
    huge = b'{"pad":"' + b"x" * (1024 * 1024) + b'"}'
    body, headers = signed_request(source, raw=huge)
    assert server.post(f"/webhooks/{source}", body, headers).status_code == 413
    body, headers = signed_request(source, raw=b'{"id": "1"}')
    response = server.post(f"/webhooks/{source}", body, {**headers, "content-type": "text/plain"})
    assert response.status_code == 415 and response.json()["error"] == "unsupported_media_type"
    assert httpx.get(server.base_url + "/healthz").status_code == 200
