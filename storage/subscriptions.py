"""Digest subscriptions: which channel gets which digest, when, in which time zone, with which filters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from storage.db import dialect_insert
from storage.tables import Subscription

DIGEST = "digest"


@dataclass(frozen=True)
class DigestPlan:
    """What a subscription asks for, as plain data (storage rows stay in storage)."""

    channel_id: str
    cadence: str  # "daily" | "weekly"
    at_time: str  # "HH:MM"
    timezone: str
    weekday: int | None = None  # 0 = Monday, weekly only
    filters: str = ""
    id: int | None = None
    created_by: str = ""
    created_at: datetime | None = None


def save_digest(session: Session, plan: DigestPlan, *, created_by: str, now: datetime) -> DigestPlan:
    """Set the channel's daily or weekly digest, replacing the one it had. Two writers at once
    (replicas starting together, two people in Slack) end with one row: the second waits for the
    first's insert and then updates that row."""
    wanted = {"weekday": plan.weekday, "at_time": plan.at_time, "timezone": plan.timezone, "filters": plan.filters}
    # a new or changed schedule starts counting now: the slot that just passed is not posted late
    started = {"created_by": created_by, "created_at": now}
    session.execute(dialect_insert(session, Subscription.__table__).values(
        channel_id=plan.channel_id, kind=DIGEST, cadence=plan.cadence, **wanted, **started,
    ).on_conflict_do_nothing(index_elements=["channel_id", "kind", "cadence"]))
    row = session.scalars(select(Subscription).where(
        Subscription.channel_id == plan.channel_id, Subscription.kind == DIGEST,
        Subscription.cadence == plan.cadence).execution_options(populate_existing=True)).one()
    if {name: getattr(row, name) for name in wanted} != wanted:
        for name, value in (wanted | started).items():
            setattr(row, name, value)
        session.flush()
    return _plan(row)


def remove_digests(session: Session, channel_id: str, cadence: str | None = None) -> int:
    """Switch off a channel's digests (one cadence, or all); returns how many there were."""
    query = delete(Subscription).where(Subscription.channel_id == channel_id, Subscription.kind == DIGEST)
    if cadence is not None:
        query = query.where(Subscription.cadence == cadence)
    return int(session.execute(query).rowcount or 0)  # type: ignore[attr-defined]


def digests(session: Session, channel_id: str | None = None) -> list[DigestPlan]:
    """Every digest (or one channel's), daily before weekly."""
    query = select(Subscription).where(Subscription.kind == DIGEST).order_by(
        Subscription.channel_id, Subscription.cadence, Subscription.id)
    if channel_id is not None:
        query = query.where(Subscription.channel_id == channel_id)
    return [_plan(row) for row in session.scalars(query)]


def _plan(row: Subscription) -> DigestPlan:
    return DigestPlan(channel_id=row.channel_id, cadence=row.cadence, at_time=row.at_time, timezone=row.timezone,
                      weekday=row.weekday, filters=row.filters, id=row.id, created_by=row.created_by,
                      created_at=row.created_at)


ALERTS = "alerts"


@dataclass(frozen=True)
class AlertPlan:
    channel_id: str
    timezone: str
    filters: str = ""
    id: int | None = None
    muted_until: datetime | None = None
    muted_signal: str = ""  # "" mutes every signal

    def muted(self, signal: str, now: datetime) -> bool:
        return self.muted_until is not None and now < self.muted_until and \
            (not self.muted_signal or signal.startswith(self.muted_signal))


def save_alerts(session: Session, plan: AlertPlan, *, created_by: str, now: datetime) -> AlertPlan:
    """Switch a channel's alerts on (or change their filters); a mute stays as it was."""
    row = session.scalar(select(Subscription).where(Subscription.channel_id == plan.channel_id,
                                                    Subscription.kind == ALERTS))
    if row is None:
        row = Subscription(channel_id=plan.channel_id, kind=ALERTS, cadence="live", at_time="", muted_signal="",
                           created_by=created_by, created_at=now)
        session.add(row)
    row.timezone, row.filters = plan.timezone, plan.filters
    session.flush()
    return _alert_plan(row)


def remove_alerts(session: Session, channel_id: str) -> int:
    query = delete(Subscription).where(Subscription.channel_id == channel_id, Subscription.kind == ALERTS)
    return int(session.execute(query).rowcount or 0)  # type: ignore[attr-defined]


def mute_alerts(session: Session, channel_id: str, *, until: datetime, signal: str = "") -> AlertPlan | None:
    row = session.scalar(select(Subscription).where(Subscription.channel_id == channel_id,
                                                    Subscription.kind == ALERTS))
    if row is None:
        return None
    row.muted_until, row.muted_signal = until, signal
    session.flush()
    return _alert_plan(row)


def alert_plans(session: Session, channel_id: str | None = None) -> list[AlertPlan]:
    query = select(Subscription).where(Subscription.kind == ALERTS).order_by(Subscription.id)
    if channel_id is not None:
        query = query.where(Subscription.channel_id == channel_id)
    return [_alert_plan(row) for row in session.scalars(query)]


def alert_plan(session: Session, subscription_id: int) -> AlertPlan | None:
    row = session.get(Subscription, subscription_id)
    return None if row is None or row.kind != ALERTS else _alert_plan(row)


def _alert_plan(row: Subscription) -> AlertPlan:
    return AlertPlan(channel_id=row.channel_id, timezone=row.timezone, filters=row.filters, id=row.id,
                     muted_until=row.muted_until, muted_signal=row.muted_signal or "")
