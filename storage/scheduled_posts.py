"""Claims on scheduled posts: each (subscription, period) is posted by one process, once.

A claim is a row with a unique (subscription, period). The process that inserts it posts;
if it dies midway, the claim's lease runs out and another process takes it over (a compare-
and-set on `claimed_at`), finishing from the progress recorded (`message_ts`, `parts_posted`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.db import dialect_insert
from storage.tables import ScheduledPost

POSTING, DONE, FAILED = "posting", "done", "failed"


@dataclass(frozen=True)
class Claim:
    id: int
    subscription_id: int
    period_key: str
    claimed_at: datetime
    attempts: int
    message_ts: str | None
    parts_posted: int

    @property
    def retaken(self) -> bool:
        """An earlier attempt may have posted without recording it: look before posting."""
        return self.attempts > 1


def claim(session: Session, subscription_id: int, period_key: str, *, holder: str, now: datetime,
          lease: timedelta) -> Claim | None:
    """The claim to post this period, or None when it is done or another process holds it."""
    existing = _row(session, subscription_id, period_key)
    if existing is not None and (existing.state != POSTING or existing.claimed_at > now - lease):
        return None  # done, or held: answered by a read, so the scheduler's checks write nothing
    table = ScheduledPost.__table__
    new = dialect_insert(session, table).values(
        subscription_id=subscription_id, period_key=period_key, state=POSTING, holder=holder, claimed_at=now,
        attempts=1, parts_posted=0).on_conflict_do_nothing(index_elements=["subscription_id", "period_key"])
    inserted = session.scalar(new.returning(table.c.id))
    if inserted is not None:
        return Claim(inserted, subscription_id, period_key, now, 1, None, 0)
    row = _row(session, subscription_id, period_key)
    if row is None or row.state != POSTING or row.claimed_at > now - lease:
        return None
    taken = session.execute(update(ScheduledPost).where(
        ScheduledPost.id == row.id, ScheduledPost.claimed_at == row.claimed_at, ScheduledPost.state == POSTING,
    ).values(holder=holder, claimed_at=now, attempts=row.attempts + 1)).rowcount  # type: ignore[attr-defined]
    if not taken:
        return None  # another process took it over first
    session.refresh(row)
    return _claim(row)


def record_message(session: Session, claim_id: int, ts: str) -> None:
    session.execute(update(ScheduledPost).where(ScheduledPost.id == claim_id).values(message_ts=ts))


def record_parts(session: Session, claim_id: int, parts: int) -> None:
    session.execute(update(ScheduledPost).where(ScheduledPost.id == claim_id).values(parts_posted=parts))


def finish(session: Session, claim_id: int, *, now: datetime, error: str | None = None) -> None:
    session.execute(update(ScheduledPost).where(ScheduledPost.id == claim_id).values(
        state=FAILED if error else DONE, done_at=now, error=error))


def release(session: Session, claim_id: int, *, error: str, now: datetime, lease: timedelta) -> None:
    """Give the claim up for the next attempt (by any process) right away, saying why."""
    session.execute(update(ScheduledPost).where(ScheduledPost.id == claim_id).values(
        claimed_at=now - lease - timedelta(seconds=1), error=error))


def posts(session: Session, subscription_id: int) -> list[ScheduledPost]:
    return list(session.scalars(select(ScheduledPost).where(ScheduledPost.subscription_id == subscription_id)
                                .order_by(ScheduledPost.id)))


def _row(session: Session, subscription_id: int, period_key: str) -> ScheduledPost | None:
    return session.scalar(select(ScheduledPost).where(ScheduledPost.subscription_id == subscription_id,
                                                      ScheduledPost.period_key == period_key))


def _claim(row: ScheduledPost) -> Claim:
    return Claim(id=row.id, subscription_id=row.subscription_id, period_key=row.period_key,
                 claimed_at=row.claimed_at, attempts=row.attempts, message_ts=row.message_ts,
                 parts_posted=row.parts_posted)
