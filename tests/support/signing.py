"""Sign requests the way each helpdesk does, so tests send what a real helpdesk would."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from storage.ingest.adapters import ADAPTERS, deskpulse

DESKPULSE_SECRET = "deskpulse-test-secret"
ZENDESK_SECRET = "zendesk-test-secret"


def secret_for(source: str) -> str:
    """The test secret of any helpdesk (tests.support.server sets it for every adapter)."""
    return f"{source}-test-secret"


def signed_request(source: str, payload: Any = None, *, raw: bytes | None = None, when: datetime | None = None,
                   secret: str | None = None) -> tuple[bytes, dict[str, str]]:
    """A body and the headers helpdesk `source` would send with it (its adapter's signed_headers)."""
    body = raw if raw is not None else json.dumps(payload).encode()
    adapter = ADAPTERS[source]
    return body, adapter.signed_headers(secret or secret_for(source), body, when or datetime.now(UTC))


def deskpulse_request(payload: Any, *, secret: str = DESKPULSE_SECRET, timestamp: int | None = None,
                      raw: bytes | None = None) -> tuple[bytes, dict[str, str]]:
    body = raw if raw is not None else json.dumps(payload).encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return body, {"content-type": "application/json", "x-deskpulse-timestamp": ts,
                  "x-deskpulse-signature": deskpulse.sign(secret, ts, body)}


def zendesk_request(payload: Any, *, secret: str = ZENDESK_SECRET, when: datetime | None = None,
                    raw: bytes | None = None) -> tuple[bytes, dict[str, str]]:
    from storage.ingest.adapters import zendesk

    body = raw if raw is not None else json.dumps(payload).encode()
    ts = (when or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return body, {"content-type": "application/json", "x-zendesk-webhook-signature-timestamp": ts,
                  "x-zendesk-webhook-signature": zendesk.sign(secret, ts, body),
                  "x-zendesk-webhook-invocation-id": str(time.time_ns())}
