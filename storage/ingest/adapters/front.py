"""Front: application webhooks and rule webhooks (docs/connect-front.md).

Authentication, as Front documents it today:
- Application webhooks (recommended): `X-Front-Signature = base64(HMAC-SHA256(app secret,
  X-Front-Request-Timestamp + ":" + raw body))`, the timestamp in milliseconds. It is signed, so
  the replay window applies.
- Rule webhooks: `X-Front-Signature = base64(HMAC-SHA1(API secret, raw body))`, no timestamp:
  replays are caught only by the event id. A request without X-Front-Request-Timestamp is
  checked this way, so a captured application webhook cannot be replayed by dropping its
  timestamp (its SHA-256 signature never matches the SHA-1 one).

Bodies: application webhooks wrap the event, `{type: "inbound_received"…, authorization: {id:
"cmp_…"}, payload: {event}}`; rule webhooks send the event itself. An event is `{id: "evt_…",
type, emitted_at (Unix seconds, a float), source, target, conversation}`. Saving an application
webhook sends a signed `{type: "sync"}` with an `X-Front-Challenge` header, answered with
`{"challenge": <value>}` (one of the three answers Front accepts).

Quirks read here:
- Authors: `inbound` messages are the customer's; `outbound` (a new conversation we started)
  and `out_reply` are by the message's `author`, a teammate whose `type` tells people ("user",
  "visitor") from bots (rule, macro, API, integration, CSAT). A message with no author was sent
  by no teammate (rules, API): role system. `comment`s are internal notes.
- Status: `archive` resolves, `reopen` and `reminder` (a snooze ending) reopen; the snapshot in
  every event says `archived` / `assigned` / `unassigned` (or, with ticketing, `status_category`
  open / waiting / resolved), so a customer message that unarchives a conversation is a reopen.
- Front has no CSAT webhook and no priority. `trash` removes the conversation and `restore`
  (taken out of the trash; the application webhook calls it `conversation_restored`) brings it
  back into the metrics.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from metrics.model import (
    Assigned,
    Channel,
    MessagePosted,
    Person,
    RemovalReason,
    Removed,
    Restored,
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
    b64,
    check_timestamp,
    event_time,
    hmac_sha1,
    hmac_sha256,
    optional_text,
    optional_time,
    require_object,
    same_signature,
    text_id,
    to_channel,
)

SOURCE = "front"
SIGNATURE_HEADER = "x-front-signature"
TIMESTAMP_HEADER = "x-front-request-timestamp"
CHALLENGE_HEADER = "x-front-challenge"

# Message `type`: the channel the conversation runs on.
CHANNELS = {"email": Channel.EMAIL, "front_chat": Channel.CHAT, "intercom": Channel.CHAT, "sms": Channel.SMS,
            "whatsapp": Channel.SOCIAL, "yalo_wha": Channel.SOCIAL, "facebook": Channel.SOCIAL,
            "tweet": Channel.SOCIAL, "tweet_dm": Channel.SOCIAL, "googleplay": Channel.SOCIAL,
            "call": Channel.PHONE, "phone-call": Channel.PHONE, "custom": Channel.OTHER}
# Conversation `status`, and with ticketing `status_category`, which is preferred.
STATUSES = {"archived": Status.CLOSED, "assigned": Status.OPEN, "unassigned": Status.OPEN, "open": Status.OPEN,
            "snoozed": Status.ON_HOLD}
CATEGORIES = {"open": Status.OPEN, "waiting": Status.PENDING, "resolved": Status.SOLVED}
# Teammate `type`: people, then bots; rules, macros and CSAT surveys are automations (system).
TEAMMATE_ROLES = {"user": Role.AGENT, "visitor": Role.AGENT, "api": Role.BOT, "integration": Role.BOT}
MESSAGES = ("inbound", "outbound", "out_reply")
HANDLED = (*MESSAGES, "comment", "assign", "unassign", "archive", "reopen", "reminder", "tag", "untag", "trash",
           "restore", "ticket_status_update")


def sign_application(secret: str, timestamp: str, body: bytes) -> str:
    return b64(hmac_sha256(secret, f"{timestamp}:".encode() + body))


def sign_rule(secret: str, body: bytes) -> str:
    return b64(hmac_sha1(secret, body))


def verify(headers: Headers, body: bytes, secret: str, now: datetime, max_age: int) -> None:
    signature = headers.get(SIGNATURE_HEADER)
    if not signature:
        raise AuthError("missing_signature", "header X-Front-Signature is missing")
    timestamp = headers.get(TIMESTAMP_HEADER, "").strip()
    if timestamp:  # an application webhook
        check_timestamp(timestamp, now=now, max_age=max_age, header="X-Front-Request-Timestamp")
        expected = sign_application(secret, timestamp, body)
    else:  # a rule webhook: nothing but the body is signed
        expected = sign_rule(secret, body)
    if not same_signature(expected, signature):
        raise AuthError("bad_signature", "X-Front-Signature does not match the body")


def signed_headers(secret: str, body: bytes, now: datetime) -> dict[str, str]:
    """What an application webhook carries (milliseconds, as Front sends them)."""
    timestamp = str(int(now.timestamp() * 1000))
    return {"content-type": "application/json", TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign_application(secret, timestamp, body)}


def handshake(delivery: Delivery) -> dict[str, Any] | None:
    challenge = delivery.headers.get(CHALLENGE_HEADER)
    if challenge:
        return {"challenge": challenge}
    payload = delivery.payload
    if isinstance(payload, dict) and payload.get("type") == "sync":
        return {"ok": True}
    return None


def _event(payload: Any) -> dict[str, Any]:
    """The Front event: inside the application webhook's envelope, or the rule webhook's body."""
    body = require_object(payload, what="the body")
    if "authorization" in body and "payload" in body:
        return require_object(body["payload"], what="payload")
    return body


def delivery_key(delivery: Delivery) -> str | None:
    event = _event(delivery.payload)
    return f"{SOURCE}:{event['id']}" if isinstance(event.get("id"), str) and event["id"] else None


def to_events(delivery: Delivery) -> list[TicketEvent]:
    event = _event(delivery.payload)
    kind = optional_text(event.get("type"), what="type")
    if not kind:
        raise PayloadError("missing_type", "the event's type is missing")
    if kind not in HANDLED:
        return []  # moves, links, mentions, calls…: kept, not counted
    conversation = require_object(event.get("conversation"), what="conversation")
    ticket_id = text_id(conversation.get("id"), what="conversation.id")
    event_id = text_id(event.get("id"), what="id")
    at, source, suspect = event_time(event.get("emitted_at"), delivery.received_at)

    def base(suffix: str) -> dict[str, Any]:
        return dict(source=SOURCE, ticket_id=ticket_id, event_id=f"{event_id}:{suffix}", occurred_at=at,
                    time_source=source, time_suspect=suspect)

    target = _target(event)
    message = target if kind in MESSAGES else None
    facts: list[TicketEvent] = [_snapshot(conversation, base("observed"), message=message, outbound=kind == "outbound")]
    change = _change(kind, target, _actor(event), base)
    if change is not None:
        facts.append(change)
    return facts


def _target(event: dict[str, Any]) -> dict[str, Any]:
    target = event.get("target")
    if target is None:
        return {}
    data = require_object(target, what="target").get("data")
    return data if isinstance(data, dict) else {}


def _actor(event: dict[str, Any]) -> Person | None:
    """The teammate (or rule) behind an action, when the source says who."""
    source = event.get("source")
    if not isinstance(source, dict) or not isinstance(source.get("data"), dict):
        return None
    data = source["data"]
    return _teammate(data) if data.get("id") else None


def _change(kind: str, target: dict[str, Any], actor: Person | None, base: Any) -> TicketEvent | None:
    match kind:
        case "inbound" | "outbound" | "out_reply":
            return _message(kind, target, base("message"))
        case "comment":
            author = target.get("author")
            return MessagePosted(**base("message"), message_id=text_id(target.get("id"), what="target.data.id"),
                                 author_role=_teammate_role(author), public=False,
                                 author=_teammate(author) if isinstance(author, dict) else Person(),
                                 body=optional_text(target.get("body"), what="target.data.body") or "")
        case "assign":
            return Assigned(**base("assigned"), assignee=_teammate(target))
        case "unassign":
            return Assigned(**base("assigned"), assignee=Person())
        case "archive":
            return StatusChanged(**base("status"), status=Status.CLOSED, status_raw="archived", actor=actor)
        case "reopen" | "reminder":
            return StatusChanged(**base("status"), status=Status.OPEN, status_raw=kind, actor=actor)
        case "tag" | "untag":
            name = optional_text(target.get("name"), what="target.data.name")
            if not name:
                return None
            return TagsChanged(**base("tags"), added=(name,) if kind == "tag" else (),
                               removed=(name,) if kind == "untag" else ())
        case "trash":
            return Removed(**base("removed"), reason=RemovalReason.DELETED)
        case "restore":
            return Restored(**base("restored"))
    return None  # ticket_status_update: the snapshot says it


def _message(kind: str, message: dict[str, Any], base: dict[str, Any]) -> MessagePosted:
    message_id = text_id(message.get("id"), what="target.data.id")
    body = optional_text(message.get("text"), what="target.data.text") or optional_text(
        message.get("blurb"), what="target.data.blurb") or ""
    if kind == "inbound":
        return MessagePosted(**base, message_id=message_id, author_role=Role.CUSTOMER, author=_sender(message),
                             body=body)
    author = message.get("author")
    return MessagePosted(**base, message_id=message_id, author_role=_teammate_role(author),
                         author=_teammate(author) if isinstance(author, dict) else Person(), body=body)


def _teammate_role(teammate: Any) -> Role:
    """No teammate means no person wrote it (rules, API); an untyped teammate is an older payload's person."""
    if not isinstance(teammate, dict) or not teammate.get("id"):
        return Role.SYSTEM
    return TEAMMATE_ROLES.get(str(teammate.get("type") or "user").lower(), Role.SYSTEM)


def _teammate(value: dict[str, Any]) -> Person:
    name = " ".join(str(value.get(k) or "") for k in ("first_name", "last_name")).strip()
    return Person(id=optional_text(value.get("id"), what="teammate.id"),
                  name=name or optional_text(value.get("username") or value.get("name"), what="teammate.name"),
                  email=optional_text(value.get("email"), what="teammate.email"))


def _sender(message: dict[str, Any]) -> Person:
    recipients = message.get("recipients")
    sender = next((r for r in recipients if isinstance(r, dict) and r.get("role") == "from"), None) \
        if isinstance(recipients, list) else None
    return _contact(sender) if sender else Person()


def _contact(recipient: dict[str, Any]) -> Person:
    handle = optional_text(recipient.get("handle"), what="recipient.handle")
    return Person(id=handle, name=optional_text(recipient.get("name"), what="recipient.name"),
                  email=handle if handle and "@" in handle else None)


def _snapshot(conversation: dict[str, Any], base: dict[str, Any], *, message: dict[str, Any] | None,
              outbound: bool) -> TicketObserved:
    status, status_raw = _status(conversation)
    channel_raw = optional_text(message.get("type"), what="target.data.type") if message else None
    assignee = conversation.get("assignee")
    recipient = conversation.get("recipient")
    return TicketObserved(
        **base, opened=outbound, opened_by=Role.AGENT if outbound else None,
        created_at=optional_time(conversation.get("created_at")),
        subject=optional_text(conversation.get("subject"), what="conversation.subject"),
        channel=to_channel(channel_raw, CHANNELS) if channel_raw else None, channel_raw=channel_raw,
        status=status, status_raw=status_raw, tags=_tag_names(conversation.get("tags")),
        requester=_contact(recipient) if isinstance(recipient, dict) else None,
        assignee=_teammate(assignee) if isinstance(assignee, dict) and assignee.get("id") else None,
    )


def _status(conversation: dict[str, Any]) -> tuple[Status | None, str | None]:
    category = optional_text(conversation.get("status_category"), what="conversation.status_category")
    if category in CATEGORIES:
        return CATEGORIES[category], category
    raw = optional_text(conversation.get("status"), what="conversation.status")
    return (STATUSES.get(raw), raw) if raw in STATUSES else (None, None)  # deleted: the trash event tells


def _tag_names(tags: Any) -> tuple[str, ...] | None:
    if tags is None:
        return None
    if not isinstance(tags, list) or not all(isinstance(t, dict) and isinstance(t.get("name"), str) for t in tags):
        raise PayloadError("wrong_type", "conversation.tags must be a list of tags with names")
    return tuple(t["name"] for t in tags)


ADAPTER = HelpdeskAdapter(source=SOURCE, verify=verify, to_events=to_events, delivery_key=delivery_key,
                          signed_headers=signed_headers, handshake=handshake)
