"""Adapter fixtures: one JSON file per case under tests/fixtures/webhooks/<helpdesk>/, holding
`received_at`, the `body` (and optionally `headers` and `hint`) and the facts it must give."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from storage.ingest.adapters.contract import Delivery

WEBHOOK_FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "webhooks"


def load_case(helpdesk: str, name: str) -> dict[str, Any]:
    return json.loads((WEBHOOK_FIXTURES / helpdesk / name).read_text())


def case_delivery(case: dict[str, Any], headers: dict[str, str] | None = None) -> Delivery:
    """What the adapter sees of the case's request (its own headers unless others are given)."""
    return Delivery(headers=case.get("headers", {}) if headers is None else headers,
                    body=json.dumps(case["body"]).encode(), payload=case["body"], hint=case.get("hint"),
                    received_at=datetime.fromisoformat(case["received_at"]))


def subset(actual: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """The fields of `actual` that `expected` names: fixtures list only what matters."""
    return {k: actual.get(k) for k in expected}
