"""Intercom: webhook notifications for conversation topics (docs/connect-intercom.md).

Authentication: `X-Hub-Signature: sha1=<hex HMAC-SHA1(app client secret, raw body)>`. Intercom
signs no timestamp, so there is no replay window: a replayed notification is recognised only by
its `id` (the delivery key), and its facts by their ids.

Every delivery is a notification `{type: "notification_event", app_id, id: "notif_…", topic,
created_at, delivery_attempts, first_sent_at, data: {item}}`; times are Unix seconds. For
conversation topics `item` is the conversation, with only the part(s) that caused the
notification in `conversation_parts`; the conversation's first message is `item.source`
(`conversation_message` in older API versions). The `ping` topic, sent when the endpoint is
saved, is answered as a handshake. Other objects (contacts, tickets, admins…) are kept, ignored.

Quirks read here:
- Bots look like admins: Fin and Operator parts have `author.type` "bot", but Operator also posts
  as an "admin" whose email is `operator+<app>@intercom.io`; `from_ai_agent` / `is_ai_answer` mark
  AI answers; the `conversation.operator.replied` topic is bot-only. Team authors (campaigns,
  workflows) are automations: role system.
- Part types: `comment` is a public message, `note` an internal one; `close`, `open`, `snoozed`…
  change the state (and are a public reply too when the admin typed text with them);
  `assignment` parts carry the new assignee in `assigned_to`.
- `priority` is `priority` / `not_priority` (high / normal). Ratings are 1-5, only from
  `conversation.rating.added`; `conversation_rating.created_at` is when it was *requested*, so
  the notification's time is used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from metrics.model import (
    Assigned,
    Channel,
    CsatScale,
    MessagePosted,
    Person,
    Priority,
    PriorityChanged,
    Rated,
    RemovalReason,
    Removed,
    Role,
    Status,
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
    event_time,
    hmac_sha1,
    normalize_rating,
    optional_text,
    optional_time,
    require_object,
    same_signature,
    text_id,
    to_channel,
    to_status,
)

SOURCE = "intercom"
SIGNATURE_HEADER = "x-hub-signature"

# `source.type` of a conversation: where the customer wrote from.
CHANNELS = {"conversation": Channel.CHAT, "email": Channel.EMAIL, "phone_call": Channel.PHONE,
            "phone_switch": Channel.PHONE, "sms": Channel.SMS, "facebook": Channel.SOCIAL,
            "instagram": Channel.SOCIAL, "twitter": Channel.SOCIAL, "whatsapp": Channel.SOCIAL}
PRIORITIES = {"priority": Priority.HIGH, "not_priority": Priority.NORMAL}
OPENING_TOPICS = ("conversation.user.created", "conversation.admin.single.created")
CUSTOMER_TYPES = ("user", "lead", "contact")
# Part types that say something to the customer, or internally.
MESSAGE_PARTS = ("comment", "quick_reply")
NOTE_PARTS = ("note", "note_and_reopen")
STATUS_PARTS = {"close": Status.CLOSED, "open": Status.OPEN, "snoozed": Status.ON_HOLD, "unsnoozed": Status.OPEN,
                "timer_unsnooze": Status.OPEN, "note_and_reopen": Status.OPEN, "assign_and_reopen": Status.OPEN,
                "assign_and_unsnooze": Status.OPEN}
ASSIGNMENT_PARTS = ("assignment", "assign_and_reopen", "assign_and_unsnooze", "away_mode_assignment",
                    "default_assignment")
# How the first message came to be; only customer_initiated conversations had a customer waiting.
OPENERS = {"customer_initiated": Role.CUSTOMER, "admin_initiated": Role.AGENT, "operator_initiated": Role.BOT,
           "automated": Role.SYSTEM, "campaigns_initiated": Role.SYSTEM}


def sign(secret: str, body: bytes) -> str:
    """The value of X-Hub-Signature for this body."""
    return "sha1=" + hmac_sha1(secret, body).hex()


def verify(headers: Headers, body: bytes, secret: str, now: datetime, max_age: int) -> None:
    """No timestamp is signed, so `now` and `max_age` have nothing to check."""
    signature = headers.get(SIGNATURE_HEADER)
    if not signature:
        raise AuthError("missing_signature", "header X-Hub-Signature is missing")
    if not same_signature(sign(secret, body), signature.strip().lower()):
        raise AuthError("bad_signature", "X-Hub-Signature does not match the body")


def signed_headers(secret: str, body: bytes, now: datetime) -> dict[str, str]:
    return {"content-type": "application/json", SIGNATURE_HEADER: sign(secret, body)}


def delivery_key(delivery: Delivery) -> str | None:
    payload = delivery.payload
    if isinstance(payload, dict) and isinstance(payload.get("id"), str) and payload["id"]:
        return f"{SOURCE}:{payload.get('app_id') or ''}:{payload['id']}"
    return None


def handshake(delivery: Delivery) -> dict[str, Any] | None:
    payload = delivery.payload
    if isinstance(payload, dict) and payload.get("topic") == "ping":
        return {"ok": True, "topic": "ping"}
    return None


def to_events(delivery: Delivery) -> list[TicketEvent]:
    payload = require_object(delivery.payload, what="the body")
    topic = optional_text(payload.get("topic"), what="topic")
    if not topic:
        raise PayloadError("missing_type", "topic is missing")
    if not topic.startswith(("conversation.", "conversation_part.")):
        return []  # contacts, tickets, admins…: kept, not counted
    item = require_object(require_object(payload.get("data"), what="data").get("item"), what="data.item")
    notification = _Notification(topic=topic, id=text_id(payload.get("id"), what="id"),
                                 created_at=payload.get("created_at"), received_at=delivery.received_at)
    if topic == "conversation.deleted":
        ticket_id = text_id(item.get("conversation_id") or item.get("id"), what="data.item.conversation_id")
        return [Removed(**notification.base(ticket_id, "removed"), reason=RemovalReason.DELETED)]
    return _conversation(item, notification)


@dataclass(frozen=True, kw_only=True)
class _Notification:
    """What every fact of one notification shares."""

    topic: str
    id: str
    created_at: Any
    received_at: datetime

    def base(self, ticket_id: str, suffix: str, when: Any = None) -> dict[str, Any]:
        """Facts named after the notification (its id survives redelivery) happen at its time."""
        return _base(ticket_id, f"{self.id}:{suffix}", self.created_at if when is None else when, self.received_at)


def _base(ticket_id: str, event_id: str, when: Any, received_at: datetime) -> dict[str, Any]:
    at, source, suspect = event_time(when, received_at)
    return dict(source=SOURCE, ticket_id=ticket_id, event_id=event_id, occurred_at=at, time_source=source,
                time_suspect=suspect)


def _conversation(item: dict[str, Any], notification: _Notification) -> list[TicketEvent]:
    ticket_id = text_id(item.get("id"), what="data.item.id")
    facts: list[TicketEvent] = [_snapshot(item, notification.base(ticket_id, "observed"),
                                          opened=notification.topic in OPENING_TOPICS)]
    facts += _first_message(item, ticket_id, notification.received_at)
    bot_topic = notification.topic == "conversation.operator.replied"
    for index, part in enumerate(_parts(item)):
        facts += _part(part, index, ticket_id, notification.received_at, bot=bot_topic)
    change = _topic_change(item, notification, ticket_id)
    if change is not None:
        facts.append(change)
    return facts


def _topic_change(item: dict[str, Any], notification: _Notification, ticket_id: str) -> TicketEvent | None:
    if notification.topic == "conversation_part.tag.created":
        added = _tag_names(item.get("tags_added"), what="data.item.tags_added") or ()
        return TagsChanged(**notification.base(ticket_id, "tags"), added=added) if added else None
    if notification.topic == "conversation.priority.updated":
        raw = optional_text(item.get("priority"), what="data.item.priority") or ""
        priority = PRIORITIES.get(raw)
        return PriorityChanged(**notification.base(ticket_id, "priority"), priority=priority,
                               priority_raw=raw) if priority else None
    if notification.topic == "conversation.rating.added":
        return _rating(item, notification.base(ticket_id, "rated"))
    return None


# --- the conversation itself ---------------------------------------------------------------


def _snapshot(item: dict[str, Any], base: dict[str, Any], *, opened: bool) -> TicketObserved:
    source = item.get("source") if isinstance(item.get("source"), dict) else {}
    channel_raw = optional_text(source.get("type"), what="data.item.source.type")
    state = optional_text(item.get("state"), what="data.item.state")
    priority_raw = optional_text(item.get("priority"), what="data.item.priority")
    delivered_as = optional_text(source.get("delivered_as"), what="data.item.source.delivered_as")
    subject = optional_text(item.get("title"), what="data.item.title") or optional_text(
        source.get("subject"), what="data.item.source.subject")
    return TicketObserved(
        **base, opened=opened, created_at=optional_time(item.get("created_at")),
        # Nobody waited before an outbound message; deskpulse's fold only knows "agent" for that.
        opened_by=None if delivered_as is None else (
            Role.CUSTOMER if OPENERS.get(delivered_as) == Role.CUSTOMER else Role.AGENT),
        subject=subject, channel=to_channel(channel_raw, CHANNELS) if channel_raw else None, channel_raw=channel_raw,
        status=to_status(state) if state else None, status_raw=state,
        priority=PRIORITIES.get(priority_raw or ""), priority_raw=priority_raw,
        tags=_tag_names(item.get("tags"), what="data.item.tags"),
        requester=_requester(item), assignee=_assignee(item),
        group=None if item.get("team_assignee_id") in (0, "0") else optional_text(
            item.get("team_assignee_id"), what="data.item.team_assignee_id"),
    )


def _tag_names(value: Any, *, what: str) -> tuple[str, ...] | None:
    """`{type: "tag.list", tags: [{type: "tag", id, name}]}`."""
    if value is None:
        return None
    tags = require_object(value, what=what).get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, dict) and isinstance(t.get("name"), str) for t in tags):
        raise PayloadError("wrong_type", f"{what}.tags must be a list of tags with names")
    return tuple(t["name"] for t in tags)


def _requester(item: dict[str, Any]) -> Person | None:
    contacts = item.get("contacts")
    if isinstance(contacts, dict) and isinstance(contacts.get("contacts"), list) and contacts["contacts"]:
        return _person(contacts["contacts"][0], what="data.item.contacts.contacts[0]")
    user = item.get("user")  # older API versions
    return _person(user, what="data.item.user") if isinstance(user, dict) else None


def _assignee(item: dict[str, Any]) -> Person | None:
    """`admin_assignee_id` (an integer among string ids); older versions: `assignee {type, id}`."""
    admin_id = item.get("admin_assignee_id")
    if admin_id not in (None, "", 0, "0"):
        return Person(id=text_id(admin_id, what="data.item.admin_assignee_id"))
    assignee = item.get("assignee")
    if isinstance(assignee, dict) and assignee.get("type") == "admin" and assignee.get("id"):
        return _person(assignee, what="data.item.assignee")
    return None


def _person(value: dict[str, Any], *, what: str) -> Person:
    ident = value.get("id")
    return Person(id=None if ident in (None, "") else text_id(ident, what=f"{what}.id"),
                  name=optional_text(value.get("name"), what=f"{what}.name"),
                  email=optional_text(value.get("email"), what=f"{what}.email"))


def _rating(item: dict[str, Any], base: dict[str, Any]) -> Rated | None:
    rating = item.get("conversation_rating")
    if not isinstance(rating, dict) or rating.get("rating") in (None, ""):
        return None
    value = rating["rating"]
    csat, score = normalize_rating(CsatScale.ONE_TO_FIVE, value)
    teammate = rating.get("teammate")
    return Rated(**base, rating=csat, scale=CsatScale.ONE_TO_FIVE, raw=str(value), score=score,
                 comment=optional_text(rating.get("remark"), what="conversation_rating.remark"),
                 agent=_person(teammate, what="conversation_rating.teammate")
                 if isinstance(teammate, dict) and teammate.get("id") else None)


# --- messages and parts ----------------------------------------------------------------------


def _role(author: dict[str, Any], *, bot: bool = False) -> Role:
    kind = str(author.get("type") or "").lower()
    if kind in CUSTOMER_TYPES:
        return Role.CUSTOMER
    email = str(author.get("email") or "").lower()
    if (bot or kind == "bot" or author.get("from_ai_agent") is True or author.get("is_ai_answer") is True
            or (email.startswith("operator+") and email.endswith("@intercom.io"))):
        return Role.BOT  # Fin and Operator, whatever type they were given
    return Role.AGENT if kind == "admin" else Role.SYSTEM


def _first_message(item: dict[str, Any], ticket_id: str, received_at: datetime) -> list[TicketEvent]:
    """The message that opened the conversation; every notification repeats it, under one id."""
    source = item.get("source") or item.get("conversation_message")
    if not isinstance(source, dict) or source.get("id") in (None, ""):
        return []
    author = source.get("author") if isinstance(source.get("author"), dict) else {}
    opener = OPENERS.get(str(source.get("delivered_as") or ""))
    role = _role(author) if opener in (None, Role.CUSTOMER, Role.AGENT) else opener
    message_id = f"source:{text_id(source['id'], what='data.item.source.id')}"
    return [MessagePosted(**_base(ticket_id, f"{ticket_id}:{message_id}", item.get("created_at"), received_at),
                          message_id=message_id, author_role=role, author=_person(author, what="source.author"),
                          body=optional_text(source.get("body"), what="data.item.source.body") or "")]


def _parts(item: dict[str, Any]) -> list[dict[str, Any]]:
    parts = item.get("conversation_parts")
    if parts is None:
        return []
    listed = require_object(parts, what="data.item.conversation_parts").get("conversation_parts", [])
    if not isinstance(listed, list):
        raise PayloadError("wrong_type", "data.item.conversation_parts.conversation_parts must be a list")
    return [require_object(p, what=f"conversation_parts[{i}]") for i, p in enumerate(listed)]


def _part(part: dict[str, Any], index: int, ticket_id: str, received_at: datetime, *, bot: bool) -> list[TicketEvent]:
    part_id = text_id(part.get("id"), what=f"conversation_parts[{index}].id")
    kind = str(part.get("part_type") or "")
    author = part.get("author") if isinstance(part.get("author"), dict) else {}

    def base(suffix: str) -> dict[str, Any]:
        return _base(ticket_id, f"{ticket_id}:part:{part_id}{suffix}", part.get("created_at"), received_at)

    facts: list[TicketEvent] = []
    body = optional_text(part.get("body"), what=f"conversation_parts[{index}].body") or ""
    # A close, open or assignment typed with text is also a reply; without text it is only an action.
    if kind in MESSAGE_PARTS or kind in NOTE_PARTS or (body and (kind in STATUS_PARTS or kind in ASSIGNMENT_PARTS)):
        facts.append(MessagePosted(**base(""), message_id=part_id, author_role=_role(author, bot=bot),
                                   author=_person(author, what="part.author"), public=kind not in NOTE_PARTS,
                                   body=body))
    if kind in STATUS_PARTS:
        actor = _person(author, what="part.author") if author.get("type") == "admin" else None
        facts.append(StatusChanged(**base(":status"), status=STATUS_PARTS[kind], status_raw=kind, actor=actor))
    if kind in ASSIGNMENT_PARTS:
        facts.append(_assignment(part.get("assigned_to"), base(":assigned")))
    return facts


def _assignment(target: Any, base: dict[str, Any]) -> Assigned:
    """`assigned_to` is `{type: admin|team|nobody_admin, id}`, or null for unassigned."""
    if not isinstance(target, dict) or target.get("id") in (None, "", 0, "0") or target.get("type") == "nobody_admin":
        return Assigned(**base, assignee=Person())
    ident = text_id(target["id"], what="part.assigned_to.id")
    if target.get("type") == "team":
        return Assigned(**base, assignee=None, group=ident)
    return Assigned(**base, assignee=Person(id=ident))


ADAPTER = HelpdeskAdapter(source=SOURCE, verify=verify, to_events=to_events, delivery_key=delivery_key,
                          signed_headers=signed_headers, handshake=handshake)
