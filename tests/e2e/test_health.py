"""The health check says whether the database answers."""

from __future__ import annotations

import httpx

from tests.support.server import RunningServer


def test_healthy_when_the_database_answers(server: RunningServer) -> None:
    response = httpx.get(server.base_url + "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_only_post_reaches_the_webhooks(server: RunningServer) -> None:
    response = httpx.get(server.base_url + "/webhooks/zendesk")
    assert response.status_code == 405 and response.json()["error"] == "method_not_allowed"
    assert httpx.post(server.base_url + "/webhooks/", content=b"{}").status_code == 404
