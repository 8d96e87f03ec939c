"""Incidents: one per unusual signal per alerts subscription, open until it is back to normal.

At most one incident per (subscription, signal) is open: `open_key` holds the signal while it is
open and is unique, so two replicas that see the same spike open one incident between them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from storage.db import dialect_insert
from storage.tables import Incident


@dataclass(frozen=True)
class OpenIncident:
    id: int
    subscription_id: int
    signal: str
    opened_at: datetime
    updated_at: datetime
    message_ts: str | None
    updates: int
    acknowledged_by: str | None
    window_start: datetime
    window_end: datetime


def open_incident(session: Session, subscription_id: int, signal: str, *, now: datetime, value: float | None,
                  usual: float | None, window: tuple[datetime, datetime]) -> OpenIncident | None:
    """Open an incident for the signal; None if one is open already (here or in another replica)."""
    table = Incident.__table__
    statement = dialect_insert(session, table).values(
        subscription_id=subscription_id, signal=signal, open_key=signal, opened_at=now, updated_at=now, updates=0,
        value=value, usual=usual, window_start=window[0], window_end=window[1],
    ).on_conflict_do_nothing(index_elements=["subscription_id", "open_key"])
    new_id = session.scalar(statement.returning(table.c.id))
    return None if new_id is None else get(session, new_id)


def open_incidents(session: Session, subscription_id: int) -> dict[str, OpenIncident]:
    rows = session.scalars(select(Incident).where(Incident.subscription_id == subscription_id,
                                                  Incident.open_key.is_not(None)))
    return {row.signal: _open(row) for row in rows}


def get(session: Session, incident_id: int) -> OpenIncident | None:
    row = session.get(Incident, incident_id)
    return None if row is None else _open(row)


def record_message(session: Session, incident_id: int, ts: str) -> None:
    session.execute(update(Incident).where(Incident.id == incident_id).values(message_ts=ts))


def record_update(session: Session, incident: OpenIncident, *, now: datetime, value: float | None) -> bool:
    """Count one thread update; False if another replica did it first (compare-and-set on `updates`)."""
    done = session.execute(update(Incident).where(Incident.id == incident.id, Incident.updates == incident.updates)
                           .values(updates=incident.updates + 1, updated_at=now, value=value)).rowcount  # type: ignore[attr-defined]
    return bool(done)


def close(session: Session, incident: OpenIncident, *, now: datetime) -> bool:
    """Close the incident; False if it was closed already."""
    done = session.execute(update(Incident).where(Incident.id == incident.id, Incident.open_key.is_not(None))
                           .values(open_key=None, closed_at=now)).rowcount  # type: ignore[attr-defined]
    return bool(done)


def acknowledge(session: Session, incident_id: int, user_id: str) -> None:
    session.execute(update(Incident).where(Incident.id == incident_id).values(acknowledged_by=user_id))


def _open(row: Incident) -> OpenIncident:
    return OpenIncident(id=row.id, subscription_id=row.subscription_id, signal=row.signal, opened_at=row.opened_at,
                        updated_at=row.updated_at, message_ts=row.message_ts, updates=row.updates,
                        acknowledged_by=row.acknowledged_by,
                        window_start=row.window_start, window_end=row.window_end)
