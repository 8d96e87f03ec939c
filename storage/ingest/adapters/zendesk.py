"""Zendesk: event-subscription webhooks and trigger/automation webhooks (docs/zendesk.md).

Both arrive at /webhooks/zendesk[/<hint>] and are signed alike:
base64(HMAC-SHA256(secret, timestamp + body)) in X-Zendesk-Webhook-Signature, the timestamp
in X-Zendesk-Webhook-Signature-Timestamp.

Event webhooks (`type` = zen:event-type:ticket.*) carry a ticket snapshot in `detail`
and the change in `event`. Trigger webhooks carry the JSON an admin typed (template in
docs/zendesk.md); their event name is the body's `event` or the URL's last segment.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import Any

from metrics.model import (
    Assigned,
    Channel,
    CsatScale,
    MessagePosted,
    Person,
    PriorityChanged,
    Rated,
    RemovalReason,
    Removed,
    Restored,
    Role,
    StatusChanged,
    TagsChanged,
    TicketEvent,
    TicketObserved,
)
from storage.ingest.adapters.contract import (
    AuthError,
    Delivery,
    Headers,
    HelpdeskAdapter,
    PayloadError,
    b64,
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

SOURCE = "zendesk"
SIGNATURE_HEADER = "x-zendesk-webhook-signature"
TIMESTAMP_HEADER = "x-zendesk-webhook-signature-timestamp"
INVOCATION_HEADER = "x-zendesk-webhook-invocation-id"
EVENT_PREFIX = "zen:event-type:ticket."
SYSTEM_USER_ID = "-1"  # Zendesk's own user: automations and system comments

# Zendesk's `via` words, in event webhooks (via.channel) and in trigger placeholders (ticket.via).
CHANNELS = {"web_form": Channel.WEB, "web_widget": Channel.CHAT, "chat": Channel.CHAT, "native_messaging": Channel.CHAT,
            "messaging": Channel.CHAT, "mail": Channel.EMAIL, "email": Channel.EMAIL, "voice": Channel.PHONE,
            "phone_call_inbound": Channel.PHONE, "phone_call_outbound": Channel.PHONE, "sms": Channel.SMS,
            "text": Channel.SMS, "facebook": Channel.SOCIAL, "twitter": Channel.SOCIAL, "instagram_dm": Channel.SOCIAL,
            "whatsapp": Channel.SOCIAL, "api": Channel.API, "web_service": Channel.API}
REMOVALS = {"merged": RemovalReason.MERGED, "marked_as_spam": RemovalReason.SPAM,
            "soft_deleted": RemovalReason.DELETED, "permanently_deleted": RemovalReason.DELETED}
TRIGGER_EVENTS = ("ticket_created", "ticket_updated", "status_changed", "public_comment", "ticket_solved",
                  "satisfaction_rated")
MINUTE = timedelta(seconds=120)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return b64(hmac_sha256(secret, timestamp.encode() + body))


def verify(headers: Headers, body: bytes, secret: str, now: datetime, max_age: int) -> None:
    signature = headers.get(SIGNATURE_HEADER)
    if not signature:
        raise AuthError("missing_signature", "header X-Zendesk-Webhook-Signature is missing")
    timestamp = headers.get(TIMESTAMP_HEADER, "").strip()
    check_timestamp(timestamp, now=now, max_age=max_age, header="X-Zendesk-Webhook-Signature-Timestamp")
    if not same_signature(sign(secret, timestamp, body), signature):
        raise AuthError("bad_signature", "X-Zendesk-Webhook-Signature does not match the body")


def signed_headers(secret: str, body: bytes, now: datetime) -> dict[str, str]:
    timestamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {"content-type": "application/json", TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body),
            INVOCATION_HEADER: hashlib.sha256(timestamp.encode() + body).hexdigest()[:32]}


def _is_event_webhook(payload: Any) -> bool:
    return isinstance(payload, dict) and isinstance(payload.get("type"), str) and payload["type"].startswith("zen:")


def delivery_key(delivery: Delivery) -> str | None:
    payload = delivery.payload
    if _is_event_webhook(payload) and payload.get("id"):
        return f"{SOURCE}:{payload.get('account_id', '')}:{payload['id']}"
    invocation = delivery.headers.get(INVOCATION_HEADER)
    return f"{SOURCE}:invocation:{invocation.strip()}" if invocation else None


def to_events(delivery: Delivery) -> list[TicketEvent]:
    payload = require_object(delivery.payload, what="the body")
    if _is_event_webhook(payload):
        return _from_event_webhook(payload, delivery.received_at)
    return _from_trigger(payload, delivery.hint, delivery.received_at)


# --- event-subscription webhooks --------------------------------------------------------


def _person_id(value: Any, what: str) -> Person | None:
    return None if value in (None, "", 0, "0") else Person(id=text_id(value, what=what))


def _snapshot(detail: dict[str, Any], base: dict[str, Any], *, opened: bool) -> TicketObserved:
    via = detail.get("via") if isinstance(detail.get("via"), dict) else {}
    channel_raw = optional_text(via.get("channel"), what="detail.via.channel")
    status_raw = optional_text(detail.get("status"), what="detail.status")
    priority_raw = optional_text(detail.get("priority"), what="detail.priority")
    tags = detail.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        raise PayloadError("wrong_type", "detail.tags must be a list of strings")
    return TicketObserved(
        **base, opened=opened, created_at=optional_time(detail.get("created_at")),
        subject=optional_text(detail.get("subject"), what="detail.subject"),
        channel=to_channel(channel_raw, CHANNELS) if channel_raw else None, channel_raw=channel_raw,
        status=to_status(status_raw) if status_raw else None, status_raw=status_raw,
        priority=to_priority(priority_raw) if priority_raw else None, priority_raw=priority_raw,
        tags=None if tags is None else tuple(tags), ticket_type=optional_text(detail.get("type"), what="detail.type"),
        requester=_person_id(detail.get("requester_id"), "detail.requester_id"),
        assignee=_person_id(detail.get("assignee_id"), "detail.assignee_id"),
        group=optional_text(detail.get("group_id"), what="detail.group_id"),
        organization=optional_text(detail.get("organization_id"), what="detail.organization_id"),
    )


def _from_event_webhook(payload: dict[str, Any], received_at: datetime) -> list[TicketEvent]:
    kind = payload["type"]
    if not kind.startswith(EVENT_PREFIX):
        return []  # user, organization ... events: kept, not counted
    change = kind.removeprefix(EVENT_PREFIX)
    detail = require_object(payload.get("detail"), what="detail")
    event = require_object(payload.get("event", {}), what="event")
    ticket_id = detail.get("id") or str(payload.get("subject", "")).removeprefix("zen:ticket:")
    event_id = text_id(payload.get("id"), what="id")
    at, source, suspect = event_time(payload.get("time"), received_at)

    def base(suffix: str) -> dict[str, Any]:
        return dict(source=SOURCE, ticket_id=text_id(ticket_id, what="detail.id"), event_id=f"{event_id}:{suffix}",
                    occurred_at=at, time_source=source, time_suspect=suspect)

    facts: list[TicketEvent] = [_snapshot(detail, base("observed"), opened=change == "created")]
    fact = _change(change, event, base)
    if fact is not None:
        facts.append(fact)
    return facts


def _change(change: str, event: dict[str, Any], base: Any) -> TicketEvent | None:
    if change == "comment_added":
        return _comment(require_object(event.get("comment"), what="event.comment"), base("message"))
    if change == "status_changed":
        current = optional_text(event.get("current"), what="event.current") or ""
        status = to_status(current)
        if status is None:
            return None  # a custom status Zendesk did not map; the snapshot still tells
        previous = optional_text(event.get("previous"), what="event.previous")
        return StatusChanged(**base("status"), status=status, status_raw=current,
                             previous=to_status(previous) if previous else None)
    if change == "agent_assignment_changed":
        return Assigned(**base("assigned"), assignee=_person_id(event.get("current"), "event.current") or Person())
    if change == "group_assignment_changed":
        return Assigned(**base("group"), assignee=None, group=optional_text(event.get("current"), what="event.current"))
    if change == "priority_changed":
        word = optional_text(event.get("current"), what="event.current") or ""
        priority = to_priority(word)
        return PriorityChanged(**base("priority"), priority=priority, priority_raw=word) if priority else None
    if change == "tags_changed":
        added, removed = event.get("tags_added") or [], event.get("tags_removed") or []
        if not all(isinstance(x, list) for x in (added, removed)):
            raise PayloadError("wrong_type", "event.tags_added and event.tags_removed must be lists")
        return TagsChanged(**base("tags"), added=tuple(map(str, added)), removed=tuple(map(str, removed)))
    if change in REMOVALS:
        return Removed(**base("removed"), reason=REMOVALS[change])
    if change == "undeleted":  # taken out of Deleted tickets; merges and spam have no undo event
        return Restored(**base("restored"))
    return None


def _comment(comment: dict[str, Any], base: dict[str, Any]) -> MessagePosted:
    author = require_object(comment.get("author", {}), what="event.comment.author")
    author_id = author.get("id")
    if str(author_id) == SYSTEM_USER_ID:
        role = Role.SYSTEM
    else:
        role = Role.AGENT if author.get("is_staff") is True else Role.CUSTOMER
    public = comment.get("is_public", True)
    if not isinstance(public, bool):
        raise PayloadError("wrong_type", "event.comment.is_public must be true or false")
    return MessagePosted(**base, message_id=text_id(comment.get("id"), what="event.comment.id"), author_role=role,
                         author=Person(id=None if author_id is None else str(author_id),
                                       name=optional_text(author.get("name"), what="event.comment.author.name")),
                         public=public, body=optional_text(comment.get("body"), what="event.comment.body") or "")


# --- trigger / automation webhooks -------------------------------------------------------


def _trigger_time(ticket: dict[str, Any], received_at: datetime) -> tuple[datetime, Any, bool]:
    """Placeholders give minutes only; the receipt is more precise when it falls in that minute."""
    stamp = optional_time(ticket.get("updated_at"))
    if stamp is not None and stamp <= received_at < stamp + MINUTE:
        return event_time(None, received_at)
    return event_time(ticket.get("updated_at"), received_at)


def _from_trigger(payload: dict[str, Any], hint: str | None, received_at: datetime) -> list[TicketEvent]:
    name = optional_text(payload.get("event"), what="event") or hint or ""
    name = name.strip().lower().replace("-", "_").replace(".", "_")
    ticket = require_object(payload.get("ticket"), what="ticket")
    ticket_id = text_id(ticket.get("id"), what="ticket.id")
    if name not in TRIGGER_EVENTS:
        return []
    at, source, suspect = _trigger_time(ticket, received_at)
    fingerprint = hashlib.sha256(repr((ticket_id, name, ticket.get("updated_at"), payload.get("actor_role"),
                                       payload.get("latest_public_comment"))).encode()).hexdigest()[:24]

    def base(suffix: str) -> dict[str, Any]:
        return dict(source=SOURCE, ticket_id=ticket_id, event_id=f"trigger:{fingerprint}:{suffix}",
                    occurred_at=at, time_source=source, time_suspect=suspect)

    facts: list[TicketEvent] = [_trigger_snapshot(ticket, base("observed"), opened=name == "ticket_created")]
    if name == "public_comment":
        role = _trigger_role(payload.get("actor_role"))
        user = payload.get("current_user") if isinstance(payload.get("current_user"), dict) else {}
        facts.append(MessagePosted(**base("message"), message_id=f"trigger:{fingerprint}", author_role=role,
                                   author=Person(name=optional_text(user.get("name"), what="current_user.name"),
                                                 email=optional_text(user.get("email"), what="current_user.email")),
                                   body=optional_text(payload.get("latest_public_comment"), what="comment") or ""))
    if name == "satisfaction_rated":
        rated = _rating(payload, base("rated"))
        if rated is not None:
            facts.append(rated)
    return facts


def _trigger_role(value: Any) -> Role:
    word = str(value or "").strip().lower().replace("-", "_")
    if word == "agent":
        return Role.AGENT
    if word in ("end_user", "enduser", "customer", "requester"):
        return Role.CUSTOMER
    raise PayloadError("out_of_range", "actor_role must be agent or end-user")


def _trigger_snapshot(ticket: dict[str, Any], base: dict[str, Any], *, opened: bool) -> TicketObserved:
    channel_raw = optional_text(ticket.get("via"), what="ticket.via")
    status_raw = optional_text(ticket.get("status"), what="ticket.status")
    priority_raw = optional_text(ticket.get("priority"), what="ticket.priority")
    tags = optional_text(ticket.get("tags"), what="ticket.tags")
    people = {k: ticket.get(k) if isinstance(ticket.get(k), dict) else {} for k in ("requester", "assignee")}
    return TicketObserved(
        **base, opened=opened, created_at=optional_time(ticket.get("created_at")),
        subject=optional_text(ticket.get("title"), what="ticket.title"),
        channel=to_channel(channel_raw, CHANNELS) if channel_raw else None, channel_raw=channel_raw,
        status=to_status(status_raw) if status_raw else None, status_raw=status_raw,
        priority=to_priority(priority_raw) if priority_raw else None, priority_raw=priority_raw,
        tags=None if tags is None else tuple(tags.split()),
        ticket_type=optional_text(ticket.get("ticket_type"), what="ticket.ticket_type"),
        requester=_named(people["requester"]), assignee=_named(people["assignee"]),
        group=optional_text(ticket.get("group"), what="ticket.group"),
    )


def _named(value: dict[str, Any]) -> Person | None:
    name, email = value.get("name") or None, value.get("email") or None
    return Person(id=email, name=name, email=email) if name or email else None


def _rating(payload: dict[str, Any], base: dict[str, Any]) -> Rated | None:
    satisfaction = require_object(payload.get("satisfaction", {}), what="satisfaction")
    raw = (optional_text(satisfaction.get("current_rating"), what="satisfaction.current_rating") or "").strip()
    word = raw.lower()
    value = "good" if word.startswith("good") else "bad" if word.startswith("bad") else None
    if value is None:
        return None  # "offered", "unoffered" or empty: asked, not answered
    rating, _ = normalize_rating(CsatScale.GOOD_BAD, value)
    return Rated(**base, rating=rating, scale=CsatScale.GOOD_BAD, raw=raw,
                 comment=optional_text(satisfaction.get("current_comment"), what="satisfaction.current_comment"))


ADAPTER = HelpdeskAdapter(source=SOURCE, verify=verify, to_events=to_events, delivery_key=delivery_key,
                          signed_headers=signed_headers)
