"""Receive (decide, then store before answering) and process (adapter -> events -> tickets).

`receive` is pure: it authenticates and reads a request and says what to store and what
to answer. The caller stores the result and commits before it answers (storage.ingest.writer).
`process_pending` turns stored deliveries into events and tickets; `deskpulse replay`
runs the same function, so a delivery that failed can be processed again after a fix.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from storage import deliveries, tickets
from storage.deliveries import DUPLICATE, FAILED, IGNORED, PENDING, PROCESSED, NewDelivery
from storage.ingest.adapters import get_adapter
from storage.ingest.adapters.contract import AuthError, Delivery, HelpdeskAdapter, PayloadError
from storage.ingest.strict_json import parse_json

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
_SECRET_HEADER_WORDS = ("authorization", "cookie", "token", "secret", "password", "api-key", "apikey")


@dataclass(frozen=True, kw_only=True)
class Request:
    source: str
    endpoint: str
    hint: str | None
    headers: Mapping[str, str]  # lower-case names
    body: bytes
    received_at: datetime


@dataclass(frozen=True, kw_only=True)
class Quarantine:
    source: str
    endpoint: str
    headers: dict[str, str]
    body: bytes
    reason: str
    detail: str
    received_at: datetime


@dataclass(frozen=True, kw_only=True)
class Answer:
    """The HTTP answer, plus what must be stored before it is sent."""

    status: int
    body: dict[str, Any]
    delivery: NewDelivery | None = None
    quarantine: Quarantine | None = None

    def stored(self, delivery_id: int, fate: str) -> Answer:
        """The answer once the delivery is committed (a duplicate is answered 200)."""
        if fate == DUPLICATE:
            return replace(self, status=200, body={"status": "duplicate", "delivery_id": delivery_id})
        return replace(self, body={**self.body, "delivery_id": delivery_id})


def error(code: str, detail: str) -> dict[str, Any]:
    return {"error": code, "detail": detail}


def storable_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers worth keeping: everything but credentials (signatures are not secrets)."""
    return {k: v[:1000] for k, v in headers.items()
            if not any(word in k for word in _SECRET_HEADER_WORDS) or k.endswith("-signature")}


def _is_json(content_type: str) -> bool:
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def reject(request: Request, status: int, code: str, detail: str) -> Answer:
    """Refuse an unauthenticated request, keeping it in the quarantine."""
    return Answer(status=status, body=error(code, detail), quarantine=Quarantine(
        source=request.source, endpoint=request.endpoint, headers=storable_headers(request.headers),
        body=request.body, reason=code, detail=detail, received_at=request.received_at))


def receive(request: Request, *, secrets: Mapping[str, str], max_age: int) -> Answer:
    """Authenticate and read one webhook request; nothing is processed here."""
    adapter = get_adapter(request.source)
    if adapter is None:
        return reject(request, 404, "unknown_helpdesk", f"no helpdesk called {request.source[:40]!r}")
    secret = secrets.get(adapter.source)
    if not secret:
        return reject(request, 401, "not_configured",
                      f"set {adapter.secret_setting} to accept {adapter.source} webhooks")
    try:
        adapter.verify(request.headers, request.body, secret, request.received_at, max_age)
    except AuthError as exc:
        return reject(request, 401, exc.code, exc.detail)
    return _read(adapter, request)


def _read(adapter: HelpdeskAdapter, request: Request) -> Answer:
    """An authenticated request is always stored; this decides its fate and answer."""
    new = NewDelivery(source=adapter.source, endpoint=request.endpoint, hint=request.hint,
                      headers=storable_headers(request.headers), body=request.body,
                      received_at=request.received_at, idempotency_key=None)
    if not _is_json(request.headers.get("content-type", "")):
        detail = "send the body as application/json"
        return Answer(status=415, body=error("unsupported_media_type", detail),
                      delivery=replace(new, fate=FAILED, error_code="unsupported_media_type", error=detail))
    try:
        delivery = _delivery(request)
        handshake = adapter.handshake(delivery)
        if handshake is not None:
            return Answer(status=200, body=handshake, delivery=replace(new, fate=IGNORED, error_code="handshake"))
        events = adapter.to_events(delivery)
        key = adapter.delivery_key(delivery) or body_key(adapter.source, request.body)
    except PayloadError as exc:
        return Answer(status=exc.status, body=error(exc.code, exc.detail),
                      delivery=replace(new, fate=FAILED, error_code=exc.code, error=exc.detail))
    except Exception as exc:  # an adapter bug must not lose the delivery nor make it retried forever
        log.exception("adapter %s failed on a delivery; kept for replay", adapter.source)
        return Answer(status=202, body={"status": "accepted", "note": "kept for replay"},
                      delivery=replace(new, fate=FAILED, error_code="adapter_error", error=repr(exc)[:500]))
    if not events:
        return Answer(status=200, body={"status": "ignored"}, delivery=replace(new, fate=IGNORED, idempotency_key=key))
    return Answer(status=202, body={"status": "accepted", "events": len(events)},
                  delivery=replace(new, idempotency_key=key))


def _delivery(request: Request) -> Delivery:
    return Delivery(headers=request.headers, body=request.body, payload=parse_json(request.body),
                    hint=request.hint, received_at=request.received_at)


def body_key(source: str, body: bytes) -> str:
    return f"{source}:sha256:{hashlib.sha256(body).hexdigest()}"


def store(session: Session, answer: Answer) -> Answer:
    """Persist what `receive` decided (the caller commits before answering)."""
    if answer.quarantine is not None:
        q = answer.quarantine
        deliveries.quarantine(session, source=q.source, endpoint=q.endpoint, headers=q.headers, body=q.body,
                              reason=q.reason, detail=q.detail, received_at=q.received_at)
    if answer.delivery is None:
        return answer
    delivery_id, fate = deliveries.save(session, answer.delivery)
    return answer.stored(delivery_id, fate)


# --- processing -------------------------------------------------------------------------


@dataclass
class ProcessReport:
    processed: int = 0
    ignored: int = 0
    duplicates: int = 0
    failed: int = 0
    events: int = 0

    @property
    def total(self) -> int:
        return self.processed + self.ignored + self.duplicates + self.failed


def process_pending(sessions: sessionmaker[Session], *, now: datetime, limit: int = 200) -> ProcessReport:
    """Process up to `limit` pending deliveries in one transaction, each in a savepoint."""
    report = ProcessReport()
    session = sessions()
    try:
        touched: dict[str, list[int]] = {}
        for delivery_id in deliveries.pending_ids(session, limit=limit):
            for key in _process_one(session, delivery_id, now=now, report=report):
                touched.setdefault(key, []).append(delivery_id)
        _refresh_tickets(session, touched, now=now, report=report)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
    return report


def _process_one(session: Session, delivery_id: int, *, now: datetime, report: ProcessReport) -> set[str]:
    row = deliveries.get(session, delivery_id)
    if row is None or row.fate != PENDING:
        return set()
    adapter = get_adapter(row.source)
    savepoint = session.begin_nested()
    try:
        if adapter is None:
            raise PayloadError("unknown_helpdesk", f"no adapter for {row.source!r} any more")
        delivery = Delivery(headers=row.headers, body=row.body, payload=parse_json(row.body), hint=row.hint,
                            received_at=row.received_at)
        events = adapter.to_events(delivery)
        key = row.idempotency_key or adapter.delivery_key(delivery) or body_key(row.source, row.body)
        if row.idempotency_key is None and not deliveries.claim_key(session, key, row.id):
            deliveries.mark(session, row.id, fate=DUPLICATE, processed_at=now)
            savepoint.commit()
            report.duplicates += 1
            return set()
        touched = tickets.save_events(session, events, delivery_id=row.id)
        fate = PROCESSED if events else IGNORED
        deliveries.mark(session, row.id, fate=fate, processed_at=now, events_count=len(events))
        savepoint.commit()
    except Exception as exc:
        savepoint.rollback()
        code = exc.code if isinstance(exc, PayloadError) else "processing_error"
        if not isinstance(exc, PayloadError):
            log.exception("delivery %s failed; kept for replay", delivery_id)
        deliveries.mark(session, delivery_id, fate=FAILED, processed_at=now, error_code=code,
                        error=str(exc)[:500] or repr(exc))
        report.failed += 1
        return set()
    if events:
        report.processed += 1
    else:
        report.ignored += 1
    report.events += len(events)
    return touched


def _refresh_tickets(session: Session, touched: dict[str, list[int]], *, now: datetime,
                     report: ProcessReport) -> None:
    for key, delivery_ids in touched.items():
        savepoint = session.begin_nested()
        try:
            tickets.refresh(session, [key])
            savepoint.commit()
        except Exception as exc:
            savepoint.rollback()
            log.exception("folding ticket %s failed", key)
            for delivery_id in delivery_ids:
                deliveries.mark(session, delivery_id, fate=FAILED, processed_at=now,
                                error_code="fold_error", error=repr(exc)[:500])


def process_all(sessions: sessionmaker[Session], *, now: datetime, batch: int = 200) -> ProcessReport:
    """Process until nothing is pending (replay, import, demo)."""
    total = ProcessReport()
    while True:
        report = process_pending(sessions, now=now, limit=batch)
        for field in ("processed", "ignored", "duplicates", "failed", "events"):
            setattr(total, field, getattr(total, field) + getattr(report, field))
        if report.total == 0:
            return total


def receive_trusted(request: Request) -> Answer:
    """Read a request that needs no signature: it comes from this machine's operator
    (`deskpulse import`), not from the network."""
    adapter = get_adapter(request.source)
    if adapter is None:
        raise ValueError(f"no helpdesk called {request.source!r}")
    return _read(adapter, request)


def split_endpoint(endpoint: str) -> tuple[str, str | None]:
    """`/webhooks/zendesk/solved` -> ("zendesk", "solved")."""
    parts = [p for p in endpoint.split("/") if p]
    if len(parts) not in (2, 3) or parts[0] != "webhooks":
        raise ValueError(f"{endpoint!r} is not a webhook endpoint (/webhooks/<helpdesk>[/<hint>])")
    return parts[1].lower(), parts[2] if len(parts) == 3 else None
