"""Raw deliveries: save before answering, de-duplicate, quarantine, list for processing."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from storage.db import is_postgres
from storage.tables import DeliveryKey, QuarantinedRequest, RawDelivery

PENDING, PROCESSED, DUPLICATE, IGNORED, FAILED = "pending", "processed", "duplicate", "ignored", "failed"
FATES = (PENDING, PROCESSED, DUPLICATE, IGNORED, FAILED)

QUARANTINE_MAX_ROWS = 1000
QUARANTINE_MAX_BYTES = 8 * 1024 * 1024
QUARANTINE_MAX_BODY = 16 * 1024


@dataclass(frozen=True, kw_only=True)
class NewDelivery:
    """A request as received, with what the receiver already knows of it."""

    source: str
    endpoint: str
    hint: str | None
    headers: dict[str, str]
    body: bytes
    received_at: datetime
    idempotency_key: str | None
    fate: str = PENDING
    error_code: str | None = None
    error: str | None = None


def claim_key(session: Session, key: str, delivery_id: int) -> bool:
    """Register `key` for this delivery; False when another delivery already has it."""
    table = DeliveryKey.__table__
    dialect_insert = pg_insert if is_postgres(session) else sqlite_insert
    statement = dialect_insert(table).values(idempotency_key=key, delivery_id=delivery_id)
    result = session.execute(statement.on_conflict_do_nothing(index_elements=["idempotency_key"]))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def save(session: Session, delivery: NewDelivery) -> tuple[int, str]:
    """Store one delivery; returns its id and fate (`duplicate` when its key was seen)."""
    row = RawDelivery(
        source=delivery.source, endpoint=delivery.endpoint, hint=delivery.hint,
        headers=delivery.headers, body=delivery.body,
        body_sha256=hashlib.sha256(delivery.body).hexdigest(), received_at=delivery.received_at,
        idempotency_key=delivery.idempotency_key, fate=delivery.fate,
        error_code=delivery.error_code, error=delivery.error, events_count=0,
    )
    session.add(row)
    session.flush()
    if delivery.idempotency_key and not claim_key(session, delivery.idempotency_key, row.id):
        row.fate = DUPLICATE
    return row.id, row.fate


def quarantine(session: Session, *, source: str, endpoint: str, headers: dict[str, str], body: bytes,
               reason: str, detail: str, received_at: datetime) -> None:
    """Keep an unauthenticated request for debugging, within fixed row and byte caps."""
    session.execute(insert(QuarantinedRequest).values(
        source=source[:40], endpoint=endpoint[:300], headers=headers, body=body[:QUARANTINE_MAX_BODY],
        body_size=len(body), reason=reason, detail=detail[:500], received_at=received_at))
    _trim_quarantine(session)


def _trim_quarantine(session: Session) -> None:
    ids = select(QuarantinedRequest.id).order_by(QuarantinedRequest.id.desc())
    oldest_kept = session.scalar(ids.offset(QUARANTINE_MAX_ROWS - 1).limit(1))
    if oldest_kept is not None:
        session.execute(delete(QuarantinedRequest).where(QuarantinedRequest.id < oldest_kept))
    # Each body is capped, so the byte cap holds once rows * cap fit; trim by bytes otherwise.
    total = session.scalar(select(func.coalesce(func.sum(func.length(QuarantinedRequest.body)), 0)))
    while total and total > QUARANTINE_MAX_BYTES:
        first = session.scalar(select(func.min(QuarantinedRequest.id)))
        size = session.scalar(select(func.length(QuarantinedRequest.body)).where(QuarantinedRequest.id == first))
        session.execute(delete(QuarantinedRequest).where(QuarantinedRequest.id == first))
        total -= size or 0


def pending_ids(session: Session, *, limit: int) -> list[int]:
    """Oldest unprocessed deliveries; on PostgreSQL rows another replica holds are skipped."""
    query = select(RawDelivery.id).where(RawDelivery.fate == PENDING).order_by(RawDelivery.id).limit(limit)
    if is_postgres(session):
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def get(session: Session, delivery_id: int) -> RawDelivery | None:
    return session.get(RawDelivery, delivery_id)


def mark(session: Session, delivery_id: int, *, fate: str, processed_at: datetime, events_count: int = 0,
         error_code: str | None = None, error: str | None = None) -> None:
    session.execute(update(RawDelivery).where(RawDelivery.id == delivery_id).values(
        fate=fate, processed_at=processed_at, events_count=events_count, error_code=error_code, error=error))


def requeue_failed(session: Session) -> int:
    """Put failed deliveries back in the queue (`deskpulse replay --failed`)."""
    result = session.execute(update(RawDelivery).where(RawDelivery.fate == FAILED).values(fate=PENDING))
    return int(result.rowcount)  # type: ignore[attr-defined]


def count_by_fate(session: Session) -> dict[str, int]:
    rows = session.execute(select(RawDelivery.fate, func.count()).group_by(RawDelivery.fate))
    return {fate: int(n) for fate, n in rows}


def all_in_order(session: Session, *, batch: int = 500) -> Sequence[RawDelivery]:
    """Every delivery, oldest first, streamed in batches (`deliveries export`)."""
    return session.scalars(select(RawDelivery).order_by(RawDelivery.id).execution_options(yield_per=batch))  # type: ignore[return-value]
