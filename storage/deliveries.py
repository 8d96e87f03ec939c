"""Raw deliveries: save before answering, de-duplicate, quarantine, list for processing."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from storage.db import dialect_insert, is_postgres
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



def _new_keys(session: Session) -> Any:
    """Insert idempotency keys, skipping those another delivery has already."""
    return dialect_insert(session, DeliveryKey.__table__).on_conflict_do_nothing(index_elements=["idempotency_key"])


def claim_key(session: Session, key: str, delivery_id: int) -> bool:
    """Register `key` for this delivery; False when another delivery already has it. True when
    this one has (a replay while `serve`'s processor handles the same delivery is no duplicate)."""
    result = session.execute(_new_keys(session), {"idempotency_key": key, "delivery_id": delivery_id})
    if result.rowcount:  # type: ignore[attr-defined]
        return True
    owner = session.scalar(select(DeliveryKey.delivery_id).where(DeliveryKey.idempotency_key == key))
    return owner == delivery_id


def save_many(session: Session, batch: Sequence[NewDelivery]) -> list[tuple[int, str]]:
    """Store deliveries in one round trip; returns (id, fate) for each, in order.

    A delivery whose idempotency key was seen before (in the database or earlier in this
    batch) is stored too, with the fate `duplicate`.
    """
    if not batch:
        return []
    rows = [{"source": d.source, "endpoint": d.endpoint, "hint": d.hint, "headers": d.headers, "body": d.body,
             "body_sha256": hashlib.sha256(d.body).hexdigest(), "received_at": d.received_at,
             "idempotency_key": d.idempotency_key, "fate": d.fate, "error_code": d.error_code, "error": d.error,
             "events_count": 0} for d in batch]
    statement = insert(RawDelivery.__table__).returning(RawDelivery.__table__.c.id, sort_by_parameter_order=True)
    ids = [row[0] for row in session.execute(statement, rows)]
    fates = [d.fate for d in batch]
    first_with_key: dict[str, int] = {}
    for index, d in enumerate(batch):
        if d.idempotency_key:
            first_with_key.setdefault(d.idempotency_key, index)
    claimed: set[str] = set()
    if first_with_key:
        claimed = set(session.scalars(_new_keys(session).returning(DeliveryKey.__table__.c.idempotency_key),
                                      [{"idempotency_key": k, "delivery_id": ids[i]}
                                       for k, i in first_with_key.items()]))
    duplicates = [i for i, d in enumerate(batch)
                  if d.idempotency_key and (first_with_key[d.idempotency_key] != i or d.idempotency_key not in claimed)]
    if duplicates:
        session.execute(update(RawDelivery).where(RawDelivery.id.in_([ids[i] for i in duplicates]))
                        .values(fate=DUPLICATE))
        for i in duplicates:
            fates[i] = DUPLICATE
    return list(zip(ids, fates, strict=True))


def save(session: Session, delivery: NewDelivery) -> tuple[int, str]:
    """Store one delivery; returns its id and fate (`duplicate` when its key was seen)."""
    return save_many(session, [delivery])[0]


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


def get_many(session: Session, ids: Sequence[int]) -> list[RawDelivery]:
    return list(session.scalars(select(RawDelivery).where(RawDelivery.id.in_(ids)).order_by(RawDelivery.id)))


def mark(session: Session, delivery_id: int, *, fate: str, processed_at: datetime, events_count: int = 0,
         error_code: str | None = None, error: str | None = None) -> None:
    mark_many(session, [{"delivery_id": delivery_id, "fate": fate, "processed_at": processed_at,
                         "events_count": events_count, "error_code": error_code, "error": error}])


_OUTCOME_FIELDS = ("fate", "processed_at", "events_count", "error_code", "error")
# Bound names differ from column names: SQLAlchemy reserves a column's own name in SET.
_MARK = (update(RawDelivery.__table__).where(RawDelivery.__table__.c.id == bindparam("delivery_id"))
         .values({name: bindparam(f"new_{name}") for name in _OUTCOME_FIELDS}))


def mark_many(session: Session, outcomes: Sequence[dict[str, Any]]) -> None:
    """Record what processing made of deliveries: dicts with delivery_id, fate, processed_at,
    events_count, error_code, error."""
    if outcomes:
        session.connection().execute(_MARK, [{"delivery_id": o["delivery_id"],
                                              **{f"new_{name}": o.get(name) for name in _OUTCOME_FIELDS}}
                                             for o in outcomes])


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
