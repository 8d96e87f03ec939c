"""Receive (decide, then store before answering) and process (adapter -> events -> tickets).

`receive` is pure: it authenticates and reads a request and says what to store and what
to answer. The caller stores the result and commits before it answers (bot.intake).
`process_pending` turns stored deliveries into events and tickets; `deskpulse replay`
runs the same function, so a delivery that failed can be processed again after a fix.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from metrics.model import ORDER_FACTS, Event, OrderFact, TicketEvent
from storage import deliveries, orders, tickets
from storage.db import unit_of_work
from storage.deliveries import DUPLICATE, FAILED, IGNORED, PROCESSED, NewDelivery
from storage.ingest.adapters import get_adapter
from storage.ingest.adapters.contract import AuthError, Delivery, HelpdeskAdapter, PayloadError
from storage.ingest.strict_json import parse_checked_json, parse_json
from storage.tables import RawDelivery

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
        if self.delivery is not None and self.delivery.error_code == "handshake":
            return self  # the helpdesk expects its challenge answered exactly
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
        _verify_any(adapter, request, secrets=secret.split(","), max_age=max_age)
    except AuthError as exc:
        return reject(request, 401, exc.code, exc.detail)
    return _read(adapter, request)


def _verify_any(adapter: HelpdeskAdapter, request: Request, *, secrets: Sequence[str], max_age: int) -> None:
    """Several secrets may be configured, comma-separated: Zendesk gives every webhook its
    own signing secret, and a rotated secret must keep working until the helpdesk has the new one."""
    failure: AuthError | None = None
    for secret in (s.strip() for s in secrets if s.strip()):
        try:
            adapter.verify(request.headers, request.body, secret, request.received_at, max_age)
            return
        except AuthError as exc:
            failure = exc
    raise failure or AuthError("not_configured", f"set {adapter.secret_setting}")


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
    return store_many(session, [answer])[0]


def store_many(session: Session, answers: Sequence[Answer]) -> list[Answer]:
    """Persist a group of answers in a few statements; duplicates are found here."""
    for q in (a.quarantine for a in answers if a.quarantine is not None):
        deliveries.quarantine(session, source=q.source, endpoint=q.endpoint, headers=q.headers, body=q.body,
                              reason=q.reason, detail=q.detail, received_at=q.received_at)
    with_delivery = [a for a in answers if a.delivery is not None]
    saved = iter(deliveries.save_many(session, [a.delivery for a in with_delivery if a.delivery]))
    return [a.stored(*next(saved)) if a.delivery is not None else a for a in answers]


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

    def add(self, other: ProcessReport) -> None:
        for name in ("processed", "ignored", "duplicates", "failed", "events"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class _Batch:
    """What processing made of a batch of deliveries, before anything is written."""

    now: datetime
    report: ProcessReport = field(default_factory=ProcessReport)
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[int, list[TicketEvent]]] = field(default_factory=list)
    orders: dict[int, list[OrderFact]] = field(default_factory=dict)

    def outcome(self, delivery_id: int, fate: str, *, events: int = 0, code: str | None = None,
                detail: str | None = None) -> None:
        self.outcomes.append({"delivery_id": delivery_id, "fate": fate, "processed_at": self.now,
                              "events_count": events, "error_code": code, "error": detail})
        name = {PROCESSED: "processed", IGNORED: "ignored", DUPLICATE: "duplicates", FAILED: "failed"}[fate]
        setattr(self.report, name, getattr(self.report, name) + 1)
        self.report.events += events


def process_pending(sessions: sessionmaker[Session], *, now: datetime, limit: int = 200) -> ProcessReport:
    """Process up to `limit` pending deliveries: one transaction, or one per delivery if that fails."""
    try:
        with unit_of_work(sessions) as session:
            ids = deliveries.pending_ids(session, limit=limit)
            return _process(session, ids, now=now)
    except Exception:
        log.exception("processing a batch failed; retrying delivery by delivery")
    report = ProcessReport()
    with sessions() as session:
        ids = deliveries.pending_ids(session, limit=limit)
    for delivery_id in ids:
        try:
            with unit_of_work(sessions) as session:
                report.add(_process(session, [delivery_id], now=now))
        except Exception as exc:
            log.exception("delivery %s could not be processed", delivery_id)
            with unit_of_work(sessions) as session:
                deliveries.mark(session, delivery_id, fate=FAILED, processed_at=now, error_code="storage_error",
                                error=repr(exc)[:500])
            report.failed += 1
    return report


def _process(session: Session, ids: Sequence[int], *, now: datetime) -> ProcessReport:
    """Read, fold, then write: on SQLite the write lock is held only for the last step."""
    batch = _Batch(now=now)
    for row in deliveries.get_many(session, ids):
        _read_stored(session, row, batch)
    folded, failures, unseen = tickets.fold_with(session, [e for _, events in batch.events for e in events])
    for delivery_id, events in batch.events:
        broken = {e.ticket_key for e in events} & failures.keys()
        if broken:
            key = min(broken)
            batch.outcome(delivery_id, FAILED, code="fold_error", detail=f"{key}: {failures[key]!r}"[:500])
        else:
            batch.outcome(delivery_id, PROCESSED, events=len(events) + len(batch.orders.get(delivery_id, ())))
    new_facts = {id(e) for e in unseen}
    tickets.save_events_many(session, [(delivery_id, [e for e in events if id(e) in new_facts])
                                       for delivery_id, events in batch.events])
    orders.save_many(session, list(batch.orders.items()))
    deliveries.mark_many(session, batch.outcomes)
    tickets.store(session, folded)
    return batch.report


def _read_stored(session: Session, row: RawDelivery, batch: _Batch) -> None:
    """Run the adapter on a stored delivery; records its outcome or its events."""
    adapter = get_adapter(row.source)
    try:
        if adapter is None:
            raise PayloadError("unknown_helpdesk", f"no adapter for {row.source!r} any more")
        # A delivery that never failed was parsed strictly when it was received.
        parse = parse_json if row.error_code else parse_checked_json
        delivery = Delivery(headers=row.headers, body=row.body, payload=parse(row.body), hint=row.hint,
                            received_at=row.received_at)
        events = adapter.to_events(delivery)
        key = row.idempotency_key or adapter.delivery_key(delivery) or body_key(row.source, row.body)
    except PayloadError as exc:
        batch.outcome(row.id, FAILED, code=exc.code, detail=exc.detail)
        return
    except Exception as exc:
        log.exception("delivery %s failed; kept for replay", row.id)
        batch.outcome(row.id, FAILED, code="adapter_error", detail=repr(exc)[:500])
        return
    if row.idempotency_key is None and not deliveries.claim_key(session, key, row.id):
        batch.outcome(row.id, DUPLICATE)  # a replayed delivery whose key arrived meanwhile
    elif not events:
        batch.outcome(row.id, IGNORED)
    else:
        _keep(batch, row.id, events)


def _keep(batch: _Batch, delivery_id: int, events: list[Event]) -> None:
    """Ticket facts are folded into tickets; a shop's orders, cancellations and refunds are stored
    as they are (each names its order, so none needs another to have arrived first)."""
    ticket_events = [e for e in events if isinstance(e, TicketEvent)]
    shop = [e for e in events if isinstance(e, ORDER_FACTS)]
    if ticket_events:
        batch.events.append((delivery_id, ticket_events))
    if shop:
        batch.orders[delivery_id] = shop
        if not ticket_events:
            batch.outcome(delivery_id, PROCESSED, events=len(shop))


def process_all(sessions: sessionmaker[Session], *, now: datetime, batch: int = 200) -> ProcessReport:
    """Process until nothing is pending (replay, import, demo)."""
    total = ProcessReport()
    while True:
        report = process_pending(sessions, now=now, limit=batch)
        total.add(report)
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
