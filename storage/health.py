"""What `deskpulse doctor` reads (docs/doctor.md): recent webhook traffic per helpdesk, refused
requests, deliveries waiting to be processed, events with untrusted times, the schema version.

Plain numbers out; bot.doctor decides what they mean. Windows are bounded (the last 30 days at
most), so the reads stay index range scans however long deskpulse has run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from alembic.script import ScriptDirectory
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from metrics.model import KIND_BY_CLASS
from storage.deliveries import FAILED, PENDING
from storage.migrate import alembic_config, current_revision
from storage.tables import QuarantinedRequest, RawDelivery, TicketEventRow

WEBHOOK_ENDPOINTS = "/webhooks/%"
LOOKBACK = timedelta(days=30)  # "last delivery" is searched this far back
DAY, WEEK = timedelta(hours=24), timedelta(days=7)


@dataclass(kw_only=True)
class Activity:
    """One helpdesk's webhook traffic, as counts (the `source` as the URL named it)."""

    source: str
    last_delivery_at: datetime | None = None  # within LOOKBACK
    deliveries_24h: int = 0
    deliveries_7d: int = 0
    failed_24h: int = 0
    failed_7d: int = 0
    errors_7d: dict[str, int] = field(default_factory=dict)  # error code -> deliveries still failed
    refused_24h: dict[str, int] = field(default_factory=dict)  # quarantine reason -> requests
    refused_7d: dict[str, int] = field(default_factory=dict)
    last_refused_at: datetime | None = None
    pending: int = 0  # stored, not processed yet (any endpoint)
    oldest_pending_at: datetime | None = None
    suspect_events_7d: int = 0  # events whose time came from receipt, the payload's being untrustworthy


def webhook_activity(session: Session, *, now: datetime) -> dict[str, Activity]:
    """Every helpdesk (or unknown name) that sent something, or still has something waiting."""
    found: dict[str, Activity] = {}

    def of(source: str) -> Activity:
        return found.setdefault(source, Activity(source=source))

    _deliveries(session, now, of)
    _errors(session, now, of)
    _refused(session, now, of)
    _pending(session, of)
    _suspect(session, now, of)
    return found


def _deliveries(session: Session, now: datetime, of: Callable[[str], Activity]) -> None:
    r = RawDelivery
    day, week = now - DAY, now - WEEK
    failed = r.fate == FAILED
    rows = session.execute(
        select(r.source, func.max(r.received_at),
               func.sum(case((r.received_at >= day, 1), else_=0)), func.sum(case((r.received_at >= week, 1), else_=0)),
               func.sum(case(((r.received_at >= day) & failed, 1), else_=0)),
               func.sum(case(((r.received_at >= week) & failed, 1), else_=0)))
        .where(r.received_at >= now - LOOKBACK, r.endpoint.like(WEBHOOK_ENDPOINTS)).group_by(r.source))
    for source, last, d1, d7, f1, f7 in rows:
        activity = of(source)
        activity.last_delivery_at = last
        activity.deliveries_24h, activity.deliveries_7d = int(d1 or 0), int(d7 or 0)
        activity.failed_24h, activity.failed_7d = int(f1 or 0), int(f7 or 0)


def _errors(session: Session, now: datetime, of: Callable[[str], Activity]) -> None:
    r = RawDelivery
    rows = session.execute(
        select(r.source, r.error_code, func.count())
        .where(r.received_at >= now - WEEK, r.endpoint.like(WEBHOOK_ENDPOINTS), r.fate == FAILED)
        .group_by(r.source, r.error_code))
    for source, code, count in rows:
        of(source).errors_7d[code or "unknown"] = int(count)


def _refused(session: Session, now: datetime, of: Callable[[str], Activity]) -> None:
    q = QuarantinedRequest
    rows = session.execute(
        select(q.source, q.reason, func.count(), func.sum(case((q.received_at >= now - DAY, 1), else_=0)),
               func.max(q.received_at))
        .where(q.received_at >= now - WEEK).group_by(q.source, q.reason))
    for source, reason, week, day, last in rows:
        activity = of(source)
        activity.refused_7d[reason] = int(week)
        if day:
            activity.refused_24h[reason] = int(day)
        if activity.last_refused_at is None or last > activity.last_refused_at:
            activity.last_refused_at = last


def _pending(session: Session, of: Callable[[str], Activity]) -> None:
    r = RawDelivery
    rows = session.execute(select(r.source, func.count(), func.min(r.received_at))
                           .where(r.fate == PENDING).group_by(r.source))
    for source, count, oldest in rows:
        activity = of(source)
        activity.pending, activity.oldest_pending_at = int(count), oldest


def _suspect(session: Session, now: datetime, of: Callable[[str], Activity]) -> None:
    e, r = TicketEventRow, RawDelivery
    rows = session.execute(
        select(e.source, func.count()).join(r, r.id == e.delivery_id)
        .where(e.kind.in_(list(KIND_BY_CLASS.values())), e.occurred_at >= now - WEEK, e.time_suspect.is_(True),
               r.endpoint.like(WEBHOOK_ENDPOINTS))
        .group_by(e.source))
    for source, count in rows:
        of(source).suspect_events_7d = int(count)


@dataclass(frozen=True)
class Schema:
    current: str | None  # None: no deskpulse tables yet
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def schema(url: str) -> Schema:
    """The database's migration revision and the newest one this deskpulse knows."""
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    return Schema(current=current_revision(url), head=str(head))
