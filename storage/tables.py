"""The database schema (SQLAlchemy 2 typed models). Alembic owns changes to it.

Three layers, each derived from the one before and rebuildable from it:
raw deliveries (exact bytes as received) -> ticket events (canonical facts) -> tickets
(one row per ticket with every per-ticket number precomputed, so period metrics are
index range scans over a handful of columns).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

_NOT_STORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(value: str) -> str:
    """Text columns refuse NUL (PostgreSQL) and lone surrogates (UTF-8); the raw bytes keep them."""
    return _NOT_STORABLE.sub("\ufffd", value)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class CleanText(TypeDecorator[str]):
    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else clean_text(value)


class CleanJSON(TypeDecorator[Any]):
    """JSON whose strings are cleaned like text columns (PostgreSQL refuses \\u0000 in JSON).

    The cleaning happens where the value is serialised, once (`storable_json`, which
    storage.db gives every engine as its JSON serialiser), not in a walk per bound value."""

    impl = JSON
    cache_ok = True


def storable_json(value: Any) -> str:
    """JSON text with NUL and lone surrogates replaced: one C-speed dump finds them (NUL
    comes out escaped, lone surrogates as they are), and only then is the value walked."""
    try:
        dumped = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return json.dumps(_clean_json(value), ensure_ascii=False)
    if "\\u0000" in dumped or _SURROGATE.search(dumped) is not None:
        return json.dumps(_clean_json(value), ensure_ascii=False)
    return dumped


def _clean_json(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): _clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_json(v) for v in value]
    return value


Id = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER keys only


class Base(DeclarativeBase):
    pass


class RawDelivery(Base):
    """Every authenticated request to a webhook route, committed before it is answered."""

    __tablename__ = "raw_deliveries"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(40))
    endpoint: Mapped[str] = mapped_column(String(300))
    hint: Mapped[str | None] = mapped_column(String(100))
    headers: Mapped[dict[str, str]] = mapped_column(CleanJSON)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    body_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    idempotency_key: Mapped[str | None] = mapped_column(String(300))
    # pending -> processed | ignored | failed; duplicate when the key was seen before
    fate: Mapped[str] = mapped_column(String(12))
    error_code: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(CleanText)
    events_count: Mapped[int] = mapped_column(Integer, default=0)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        Index("ix_raw_deliveries_fate", "fate", "id"),
        Index("ix_raw_deliveries_received_at", "received_at"),
        Index("ix_raw_deliveries_key", "idempotency_key"),
    )


class DeliveryKey(Base):
    """The first delivery that carried each idempotency key; later ones are duplicates."""

    __tablename__ = "delivery_keys"

    idempotency_key: Mapped[str] = mapped_column(String(300), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(Id, ForeignKey("raw_deliveries.id"))


class QuarantinedRequest(Base):
    """Unauthenticated requests, kept (bounded) to debug a misconfigured secret."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(40))
    endpoint: Mapped[str] = mapped_column(String(300))
    headers: Mapped[dict[str, str]] = mapped_column(CleanJSON)
    body: Mapped[bytes] = mapped_column(LargeBinary)  # truncated to the quarantine's byte cap
    body_size: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(CleanText)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class TicketEventRow(Base):
    """One canonical fact; `data` is the whole event, the other columns are for queries."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(String(300))
    ticket_key: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(12))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    time_suspect: Mapped[bool] = mapped_column(Boolean, default=False)
    author_role: Mapped[str | None] = mapped_column(String(10))
    author_id: Mapped[str | None] = mapped_column(String(200))
    public: Mapped[bool | None] = mapped_column(Boolean)
    delivery_id: Mapped[int | None] = mapped_column(Id)
    data: Mapped[dict[str, Any]] = mapped_column(CleanJSON)

    __table_args__ = (
        UniqueConstraint("source", "event_id", name="uq_ticket_events_source_event"),
        Index("ix_ticket_events_ticket", "ticket_key", "occurred_at"),
        Index("ix_ticket_events_kind_time", "kind", "occurred_at"),
    )


class TicketRow(Base):
    """A ticket folded from its events (metrics.tickets.fold_ticket), refreshed on every event."""

    __tablename__ = "tickets"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    source: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[str] = mapped_column(String(160))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at_known: Mapped[bool] = mapped_column(Boolean)
    subject: Mapped[str | None] = mapped_column(CleanText)
    channel: Mapped[str] = mapped_column(String(10))
    channel_raw: Mapped[str | None] = mapped_column(CleanText)
    status: Mapped[str] = mapped_column(String(10))
    status_raw: Mapped[str | None] = mapped_column(CleanText)
    is_resolved: Mapped[bool] = mapped_column(Boolean)
    priority: Mapped[str | None] = mapped_column(String(10))
    ticket_type: Mapped[str | None] = mapped_column(CleanText)
    tags: Mapped[list[str]] = mapped_column(CleanJSON)
    # the tags ticket_tags holds for it, as one value daily measures can carry (`tag_set`)
    tag_set: Mapped[str | None] = mapped_column(Text)
    requester_id: Mapped[str | None] = mapped_column(String(200))
    requester_name: Mapped[str | None] = mapped_column(CleanText)
    requester_email: Mapped[str | None] = mapped_column(CleanText)
    organization: Mapped[str | None] = mapped_column(CleanText)
    assignee_id: Mapped[str | None] = mapped_column(String(200))
    assignee_name: Mapped[str | None] = mapped_column(CleanText)
    group_name: Mapped[str | None] = mapped_column(CleanText)
    outbound: Mapped[bool] = mapped_column(Boolean)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_response_seconds: Mapped[float | None] = mapped_column(Float)
    response_intervals: Mapped[list[float]] = mapped_column(JSON)
    awaiting_reply_since: Mapped[datetime | None] = mapped_column(UTCDateTime)
    agent_replies: Mapped[int] = mapped_column(Integer)
    customer_messages: Mapped[int] = mapped_column(Integer)
    bot_replies: Mapped[int] = mapped_column(Integer)
    first_resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    first_resolution_seconds: Mapped[float | None] = mapped_column(Float)
    full_resolution_seconds: Mapped[float | None] = mapped_column(Float)
    times_resolved: Mapped[int] = mapped_column(Integer)
    reopens: Mapped[int] = mapped_column(Integer)
    one_touch: Mapped[bool] = mapped_column(Boolean)
    abandoned: Mapped[bool] = mapped_column(Boolean)
    csat: Mapped[str | None] = mapped_column(String(8))
    csat_raw: Mapped[str | None] = mapped_column(CleanText)
    csat_scale: Mapped[str | None] = mapped_column(String(10))
    csat_score: Mapped[float | None] = mapped_column(Float)
    csat_comment: Mapped[str | None] = mapped_column(CleanText)
    csat_agent_id: Mapped[str | None] = mapped_column(String(200))
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    removed: Mapped[str | None] = mapped_column(String(10))
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    time_suspect_events: Mapped[int] = mapped_column(Integer)
    agents: Mapped[list[str]] = mapped_column(CleanJSON)
    first_responder: Mapped[str | None] = mapped_column(String(200))
    requester_key: Mapped[str | None] = mapped_column(String(320))  # lower-case email, else id

    __table_args__ = (
        Index("ix_tickets_created", "created_at"),
        Index("ix_tickets_activity", "last_activity_at"),
        Index("ix_tickets_requester_key", "requester_key"),
        Index("ix_tickets_channel_created", "channel", "created_at"),
        Index("ix_tickets_first_response", "first_response_at"),
        Index("ix_tickets_resolved", "last_resolved_at"),
        Index("ix_tickets_first_resolved", "first_resolved_at"),
        Index("ix_tickets_rated", "rated_at"),
        Index("ix_tickets_assignee", "assignee_id", "created_at"),
        Index("ix_tickets_requester", "requester_id"),
        # partial: where many requesters have no name (e-mail-only, chat visitors), statistics of a
        # full index say a name matches every ticket and SQLite's planner scans them all for /customer
        Index("ix_tickets_requester_name", "requester_name", sqlite_where=text("requester_name IS NOT NULL"),
              postgresql_where=text("requester_name IS NOT NULL")),
    )


class TicketTag(Base):
    """One row per tag a ticket carries now, for tag breakdowns without JSON scans."""

    __tablename__ = "ticket_tags"

    ticket_key: Mapped[str] = mapped_column(String(200), ForeignKey("tickets.key", ondelete="CASCADE"),
                                            primary_key=True)
    tag: Mapped[str] = mapped_column(String(200), primary_key=True)

    __table_args__ = (Index("ix_ticket_tags_tag", "tag"),)


def ticket_tags(tags: Iterable[str]) -> list[str]:
    """The tags ticket_tags holds for a ticket carrying `tags`: each once, cut to fit the column."""
    return list(dict.fromkeys(tag[:200] for tag in tags))


def tag_set(tags: Iterable[str]) -> str | None:
    """tickets.tag_set: the ticket's ticket_tags as sorted JSON (ASCII, so that no text cleaning
    changes it), None without tags. One value per ticket, so daily measures carry a ticket's tags
    as they carry its channel (storage.rollups)."""
    stored = sorted(ticket_tags(tags))
    return json.dumps(stored) if stored else None


class TicketMessage(Base):
    """A ticket's public messages (metrics.tickets.PublicMessage), for per-period message counts,
    response times and per-agent replies."""

    __tablename__ = "ticket_messages"

    ticket_key: Mapped[str] = mapped_column(String(200), ForeignKey("tickets.key", ondelete="CASCADE"),
                                            primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    role: Mapped[str] = mapped_column(String(10))
    author: Mapped[str | None] = mapped_column(String(200))
    wait_seconds: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (Index("ix_ticket_messages_at", "at"),)


class TicketSpan(Base):
    """A stretch during which a ticket was unresolved (metrics.tickets.OpenSpan): backlog and
    active tickets at any moment, resolutions and who resolved them."""

    __tablename__ = "ticket_spans"

    ticket_key: Mapped[str] = mapped_column(String(200), ForeignKey("tickets.key", ondelete="CASCADE"),
                                            primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    # which of SPAN_LENGTH_LIMITS a resolved span's length stays within (NULL while unresolved):
    # "open at a past moment" then reads, per class, only the spans opened within its limit before it
    length_class: Mapped[int | None] = mapped_column(Integer)

    __table_args__ = (
        Index("ix_ticket_spans_resolved", "resolved_at"),
        Index("ix_ticket_spans_opened", "opened_at"),
        Index("ix_ticket_spans_length_opened", "length_class", "opened_at"),
    )


SPAN_LENGTH_LIMITS = (timedelta(days=1), timedelta(days=7), timedelta(days=30), timedelta(days=90),
                      timedelta(days=365))  # a last class, longer than a year, has no limit


def span_length_class(opened_at: datetime, resolved_at: datetime | None) -> int | None:
    """The first class whose limit holds the span with a second to spare (so that rounding, here or
    in migration 0012's SQL, can only move a span up a class, which keeps it found)."""
    if resolved_at is None:
        return None
    length = resolved_at - opened_at + timedelta(seconds=1)
    return next((k for k, limit in enumerate(SPAN_LENGTH_LIMITS) if length <= limit), len(SPAN_LENGTH_LIMITS))


class DailyMeasure(Base):
    """One local day's measurements of one kind, packed (storage/rollups.py): what questions of a
    month or a year read instead of every ticket. Each packed row starts with the id of its
    ticket attributes in measure_dims."""

    __tablename__ = "daily_measures"

    measure: Mapped[str] = mapped_column(String(24), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    rows: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class MeasureDims(Base):
    """A distinct combination of the ticket attributes daily measures carry (storage.rollups.DIMS,
    as a JSON list), stored once and pointed to by id: a day's rows then decode as plain numbers."""

    __tablename__ = "measure_dims"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(Text)

    __table_args__ = (UniqueConstraint("key", name="uq_measure_dims_key"),)


class RollupDay(Base):
    """A day whose daily measures were built: in which time zone it is a day, when, under which
    business calendar, and in which layout (storage.rollups.LAYOUT: what their attribute tuples hold)."""

    __tablename__ = "rollup_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    # the IANA zone whose local day `day` is (the configured DESKPULSE_TIMEZONE when it was built)
    zone: Mapped[str] = mapped_column(String(64))
    built_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # the business calendar durations were kept under (metrics.business_hours.BusinessCalendar.fingerprint)
    calendar: Mapped[str | None] = mapped_column(String(16))
    # a day an older release builds names no layout: 1
    layout: Mapped[int] = mapped_column(Integer, server_default=text("1"))


class StaleSpan(Base):
    """A stretch of time [starts_at, ends_at) a stored ticket change may have touched since the
    days over it were built: in instants, so it means the same in any time zone's days. Only ever
    inserted by ingestion (no row to contend for); the builder of a day deletes the marks it has
    seen and puts back the parts outside its day."""

    __tablename__ = "stale_spans"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (Index("ix_stale_spans_starts_at", "starts_at"),)


class OrderRow(Base):
    """A shop's order (metrics.model.OrderPlaced): what converted tickets and retention count.
    `customer_key` is matched against tickets.requester_key (the lower-case e-mail)."""

    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(40))
    order_id: Mapped[str] = mapped_column(String(160))
    placed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    customer_key: Mapped[str | None] = mapped_column(String(320))
    customer_id: Mapped[str | None] = mapped_column(String(200))
    customer_name: Mapped[str | None] = mapped_column(CleanText)
    total: Mapped[float | None] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(8))
    time_suspect: Mapped[bool] = mapped_column(Boolean, default=False)
    delivery_id: Mapped[int | None] = mapped_column(Id)

    __table_args__ = (
        UniqueConstraint("source", "order_id", name="uq_orders_source_order"),
        Index("ix_orders_placed", "placed_at"),
        Index("ix_orders_customer", "customer_key", "placed_at"),
    )


class OrderChangeRow(Base):
    """A cancellation (`change` "cancelled") or a refund (`change` "refund:<refund id>") of a shop's
    order (metrics.model.OrderCancelled, OrderRefunded), kept once each. It names its order by source
    and order id and may arrive before it: the order is undone whenever both are stored."""

    __tablename__ = "order_changes"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(String(40))
    order_id: Mapped[str] = mapped_column(String(160))
    change: Mapped[str] = mapped_column(String(220))
    kind: Mapped[str] = mapped_column(String(12))  # "cancelled" | "refund"
    happened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    amount: Mapped[float | None] = mapped_column(Float)  # refunds only
    currency: Mapped[str | None] = mapped_column(String(8))
    reason: Mapped[str | None] = mapped_column(CleanText)  # cancellations only
    time_suspect: Mapped[bool] = mapped_column(Boolean, default=False)
    delivery_id: Mapped[int | None] = mapped_column(Id)

    __table_args__ = (UniqueConstraint("source", "order_id", "change", name="uq_order_changes_order_change"),)


class Subscription(Base):
    """A digest a channel asked for (`/deskpulse digest daily 09:00`), or one fixed in the environment."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    channel_id: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))  # "digest" | "alerts"
    cadence: Mapped[str] = mapped_column(String(10))  # "daily" | "weekly" (digests), "live" (alerts)
    weekday: Mapped[int | None] = mapped_column(Integer)  # 0 = Monday; weekly digests only
    at_time: Mapped[str] = mapped_column(String(5))  # "09:00", local time of `timezone`
    timezone: Mapped[str] = mapped_column(String(64))
    filters: Mapped[str] = mapped_column(CleanText, default="")  # query words, e.g. "channel:chat"
    created_by: Mapped[str] = mapped_column(String(40))  # a Slack user id, or "environment"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    muted_until: Mapped[datetime | None] = mapped_column(UTCDateTime)  # alerts only
    muted_signal: Mapped[str] = mapped_column(String(80), default="")  # "" mutes every signal

    __table_args__ = (UniqueConstraint("channel_id", "kind", "cadence", name="uq_subscriptions_channel_kind"),)


class ScheduledPost(Base):
    """One digest of one period: claimed by one process before it posts, so that it is posted
    once however many replicas run, and finished by another if its poster dies midway."""

    __tablename__ = "scheduled_posts"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(Id)
    period_key: Mapped[str] = mapped_column(String(40))  # "2026-11-22" (daily), "2026-11-16/w" (weekly)
    state: Mapped[str] = mapped_column(String(10))  # "posting" | "done" | "failed"
    holder: Mapped[str] = mapped_column(String(80))
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    message_ts: Mapped[str | None] = mapped_column(String(40))
    parts_posted: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(CleanText)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("subscription_id", "period_key", name="uq_scheduled_posts_period"),
        Index("ix_scheduled_posts_state", "state", "claimed_at"),
    )


class Incident(Base):
    """One unusual signal in one alerts subscription, from the first alert to "back to normal"."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(Id)
    signal: Mapped[str] = mapped_column(String(80))  # "frt:chat", "volume:all", ...
    open_key: Mapped[str | None] = mapped_column(String(80))  # = signal while open: one open incident per signal
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_ts: Mapped[str | None] = mapped_column(String(40))
    updates: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_by: Mapped[str | None] = mapped_column(String(40))
    value: Mapped[float | None] = mapped_column(Float)
    usual: Mapped[float | None] = mapped_column(Float)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (UniqueConstraint("subscription_id", "open_key", name="uq_incidents_open"),)
