"""Sign requests the way each helpdesk does, so tests send what a real helpdesk would."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from storage.ingest.adapters import deskpulse

DESKPULSE_SECRET = "deskpulse-test-secret"
ZENDESK_SECRET = "zendesk-test-secret"


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
