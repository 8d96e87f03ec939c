"""deskpulse's own event format, version 1 (docs/webhook-format.md).

For scripts, automation tools and history imports: anything that can sign and POST JSON.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from metrics.model import (
    Assigned,
    CsatScale,
    Event,
    MessagePosted,
    OrderCancelled,
    OrderPlaced,
    OrderRefunded,
    Person,
    PriorityChanged,
    Rated,
    RemovalReason,
    Removed,
    Restored,
    Role,
    StatusChanged,
    TagsChanged,
    TicketObserved,
)
from storage.ingest.adapters.contract import (
    AuthError,
    Delivery,
    Headers,
    HelpdeskAdapter,
    PayloadError,
    amount,
    check_timestamp,
    event_time,
    hmac_sha256,
    normalize_rating,
    optional_text,
    optional_time,
    require_object,
    same_signature,
    text_id,
    to_channel,
    to_priority,
    to_status,
)

SOURCE = "deskpulse"
VERSION = 1
MAX_EVENTS = 1000
TIMESTAMP_HEADER = "x-deskpulse-timestamp"
SIGNATURE_HEADER = "x-deskpulse-signature"
DELIVERY_HEADER = "x-deskpulse-delivery"


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The value of X-Deskpulse-Signature for this body (also used by `deskpulse demo`)."""
    return "sha256=" + hmac_sha256(secret, f"{timestamp}.".encode() + body).hex()


def verify(headers: Headers, body: bytes, secret: str, now: datetime, max_age: int) -> None:
    signature = headers.get(SIGNATURE_HEADER)
    if not signature:
        raise AuthError("missing_signature", "header X-Deskpulse-Signature is missing")
    timestamp = headers.get(TIMESTAMP_HEADER, "").strip()
    check_timestamp(timestamp, now=now, max_age=max_age, header="X-Deskpulse-Timestamp")
    if not same_signature(sign(secret, timestamp, body), signature):
        raise AuthError("bad_signature", "X-Deskpulse-Signature does not match the body")


def signed_headers(secret: str, body: bytes, now: datetime) -> dict[str, str]:
    timestamp = str(int(now.timestamp()))
    return {"content-type": "application/json", TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body)}


def _events_of(payload: Any) -> list[dict[str, Any]]:
    payload = require_object(payload, what="the body")
    if "events" not in payload:
        return [payload]  # a single event may be posted on its own
    version = payload.get("version", VERSION)
    if version != VERSION:
        raise PayloadError("unsupported_version", f"version {version!r} is not supported; use {VERSION}")
    events = payload["events"]
    if not isinstance(events, list):
        raise PayloadError("wrong_type", "events must be a list")
    if len(events) > MAX_EVENTS:
        raise PayloadError("too_many_events", f"at most {MAX_EVENTS} events per delivery")
    return [require_object(e, what=f"events[{i}]") for i, e in enumerate(events)]


def delivery_key(delivery: Delivery) -> str | None:
    """The sender's delivery id if given, else the set of event ids it carries."""
    given = delivery.headers.get(DELIVERY_HEADER)
    if given:
        return f"{SOURCE}:delivery:{given.strip()[:200]}"
    ids = sorted(str(e.get("id")) for e in _events_of(delivery.payload))
    return f"{SOURCE}:events:" + hashlib.sha256("\n".join(ids).encode()).hexdigest()


def handshake(delivery: Delivery) -> dict[str, Any] | None:
    payload = delivery.payload
    if isinstance(payload, dict) and payload.get("type") == "ping" and "events" not in payload:
        return {"ok": True, "pong": payload.get("challenge")}
    return None


def _person(value: Any, *, what: str) -> Person | None:
    if value is None:
        return None
    value = require_object(value, what=what)
    ident = value.get("id")
    return Person(id=None if ident is None else text_id(ident, what=f"{what}.id"),
                  name=optional_text(value.get("name"), what=f"{what}.name"),
                  email=optional_text(value.get("email"), what=f"{what}.email"))


def _role(value: Any, *, what: str) -> Role:
    try:
        return Role(str(value).lower())
    except ValueError:
        raise PayloadError("out_of_range", f"{what} must be one of customer, agent, bot, system") from None


def _observed(raw: dict[str, Any], base: dict[str, Any], *, opened: bool) -> TicketObserved:
    t = require_object(raw.get("ticket", {}), what="ticket")
    status_raw = optional_text(t.get("status"), what="ticket.status")
    priority_raw = optional_text(t.get("priority"), what="ticket.priority")
    channel_raw = optional_text(t.get("channel"), what="ticket.channel")
    tags = t.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(x, str) for x in tags)):
        raise PayloadError("wrong_type", "ticket.tags must be a list of strings")
    opened_by = t.get("opened_by")
    return TicketObserved(
        **base, opened=opened,
        created_at=optional_time(t.get("created_at")) or (base["occurred_at"] if opened else None),
        opened_by=None if opened_by is None else _role(opened_by, what="ticket.opened_by"),
        subject=optional_text(t.get("subject"), what="ticket.subject"),
        channel=to_channel(channel_raw) if channel_raw else None, channel_raw=channel_raw,
        status=to_status(status_raw) if status_raw else None, status_raw=status_raw,
        priority=to_priority(priority_raw) if priority_raw else None, priority_raw=priority_raw,
        tags=None if tags is None else tuple(tags),
        ticket_type=optional_text(t.get("type"), what="ticket.type"),
        requester=_person(t.get("requester"), what="ticket.requester"),
        assignee=_person(t.get("assignee"), what="ticket.assignee"),
        group=optional_text(t.get("group"), what="ticket.group"),
        organization=optional_text(t.get("organization"), what="ticket.organization"),
    )


def _message(raw: dict[str, Any], base: dict[str, Any]) -> MessagePosted:
    m = require_object(raw.get("message"), what="message")
    author = require_object(m.get("author"), what="message.author")
    public = m.get("public", True)
    if not isinstance(public, bool):
        raise PayloadError("wrong_type", "message.public must be true or false")
    return MessagePosted(**base, message_id=text_id(m.get("id"), what="message.id"),
                         author_role=_role(author.get("role"), what="message.author.role"),
                         author=_person(author, what="message.author") or Person(), public=public,
                         body=optional_text(m.get("body"), what="message.body") or "")


def _status(raw: dict[str, Any], base: dict[str, Any]) -> StatusChanged:
    word = optional_text(raw.get("status"), what="status")
    status = to_status(word) if word else None
    if status is None:
        raise PayloadError("out_of_range", f"status {word!r} is not one of new, open, pending, on_hold, solved, closed")
    before = optional_text(raw.get("previous_status"), what="previous_status")
    return StatusChanged(**base, status=status, status_raw=word or "",
                         previous=to_status(before) if before else None,
                         actor=_person(raw.get("actor"), what="actor"))


def _rated(raw: dict[str, Any], base: dict[str, Any]) -> Rated:
    r = require_object(raw.get("rating"), what="rating")
    try:
        scale = CsatScale(str(r.get("scale", CsatScale.ONE_TO_FIVE.value)))
    except ValueError:
        raise PayloadError("out_of_range", "rating.scale must be good_bad, 1_5 or 3pt") from None
    rating, score = normalize_rating(scale, r.get("value"))
    return Rated(**base, rating=rating, scale=scale, raw=str(r.get("value")), score=score,
                 comment=optional_text(r.get("comment"), what="rating.comment"),
                 agent=_person(raw.get("agent"), what="agent"))


def _tags(raw: dict[str, Any], base: dict[str, Any]) -> TagsChanged:
    lists = {k: raw.get(k, []) for k in ("added", "removed")}
    for k, v in lists.items():
        if not (isinstance(v, list) and all(isinstance(x, str) for x in v)):
            raise PayloadError("wrong_type", f"{k} must be a list of strings")
    return TagsChanged(**base, added=tuple(lists["added"]), removed=tuple(lists["removed"]))


def _order(raw: dict[str, Any], index: int, received_at: datetime) -> OrderPlaced:
    """`order.placed`: a purchase, for converted tickets and retention (no ticket_id)."""
    o = require_object(raw.get("order"), what=f"events[{index}].order")
    at, source, suspect = event_time(o.get("placed_at", raw.get("occurred_at")), received_at)
    total = amount(o.get("total"), what=f"events[{index}].order.total")
    customer = _person(o.get("customer"), what=f"events[{index}].order.customer") or Person()
    return OrderPlaced(source=SOURCE, order_id=text_id(o.get("id"), what=f"events[{index}].order.id"),
                       placed_at=at, time_source=source, time_suspect=suspect, customer=customer, total=total,
                       currency=optional_text(o.get("currency"), what=f"events[{index}].order.currency"))


def _cancelled(raw: dict[str, Any], index: int, received_at: datetime) -> OrderCancelled:
    """`order.cancelled`: the order is no purchase (it may come before its `order.placed`)."""
    o = require_object(raw.get("order"), what=f"events[{index}].order")
    at, source, suspect = event_time(o.get("cancelled_at", raw.get("occurred_at")), received_at)
    return OrderCancelled(source=SOURCE, order_id=text_id(o.get("id"), what=f"events[{index}].order.id"),
                          cancelled_at=at, time_source=source, time_suspect=suspect,
                          reason=optional_text(o.get("reason"), what=f"events[{index}].order.reason"))


def _refunded(raw: dict[str, Any], index: int, received_at: datetime) -> OrderRefunded:
    """`order.refunded`: money given back on an order, once per refund id."""
    o = require_object(raw.get("order"), what=f"events[{index}].order")
    r = require_object(raw.get("refund"), what=f"events[{index}].refund")
    at, source, suspect = event_time(r.get("refunded_at", raw.get("occurred_at")), received_at)
    back = amount(r.get("amount"), what=f"events[{index}].refund.amount")
    if back is None or back < 0:
        raise PayloadError("out_of_range", f"events[{index}].refund.amount must be a number of 0 or more")
    return OrderRefunded(source=SOURCE, order_id=text_id(o.get("id"), what=f"events[{index}].order.id"),
                         refund_id=text_id(r.get("id"), what=f"events[{index}].refund.id"), refunded_at=at,
                         amount=back,
                         currency=optional_text(r.get("currency"), what=f"events[{index}].refund.currency"),
                         time_source=source, time_suspect=suspect)


def _one_event(raw: dict[str, Any], index: int, received_at: datetime) -> Event | None:
    kind = raw.get("type")
    if kind == "order.placed":
        return _order(raw, index, received_at)
    if kind == "order.cancelled":
        return _cancelled(raw, index, received_at)
    if kind == "order.refunded":
        return _refunded(raw, index, received_at)
    at, source, suspect = event_time(raw.get("occurred_at"), received_at)
    base = dict(source=SOURCE, ticket_id=text_id(raw.get("ticket_id"), what=f"events[{index}].ticket_id"),
                event_id=text_id(raw.get("id"), what=f"events[{index}].id"),
                occurred_at=at, time_source=source, time_suspect=suspect)
    match kind:
        case "ticket.created" | "ticket.updated":
            return _observed(raw, base, opened=kind == "ticket.created")
        case "message.created":
            return _message(raw, base)
        case "ticket.status_changed":
            return _status(raw, base)
        case "ticket.assigned":
            return Assigned(**base, assignee=_person(raw.get("assignee"), what="assignee") or Person(),
                            group=optional_text(raw.get("group"), what="group"))
        case "ticket.priority_changed":
            word = optional_text(raw.get("priority"), what="priority") or ""
            priority = to_priority(word)
            if priority is None:
                raise PayloadError("out_of_range", f"priority {word!r} is not one of low, normal, high, urgent")
            return PriorityChanged(**base, priority=priority, priority_raw=word)
        case "ticket.tags_changed":
            return _tags(raw, base)
        case "ticket.rated":
            return _rated(raw, base)
        case "ticket.removed":
            try:
                return Removed(**base, reason=RemovalReason(str(raw.get("reason"))))
            except ValueError:
                raise PayloadError("out_of_range", "reason must be merged, spam or deleted") from None
        case "ticket.restored":
            return Restored(**base)
        case str():
            return None  # a newer event type: kept in the delivery, ignored here
        case _:
            raise PayloadError("missing_type", f"events[{index}].type is missing")


def to_events(delivery: Delivery) -> list[Event]:
    events = [_one_event(raw, i, delivery.received_at) for i, raw in enumerate(_events_of(delivery.payload))]
    return [e for e in events if e is not None]


ADAPTER = HelpdeskAdapter(source=SOURCE, verify=verify, to_events=to_events,
                          delivery_key=delivery_key, handshake=handshake, signed_headers=signed_headers)
