"""Chatwoot: account webhooks (Settings > Integrations > Webhooks; docs/connect-chatwoot.md).

Authentication: Chatwoot signs account webhooks from v4.11.2 on (API-inbox and agent-bot
webhooks from v4.13.0): X-Chatwoot-Signature = "sha256=" + hex HMAC-SHA256(webhook secret,
"<X-Chatwoot-Timestamp>.<raw body>"), the timestamp in Unix seconds. Older releases send no
signature and no configurable header, so they are refused (a token in the URL would end up in
access logs). X-Chatwoot-Delivery names the delivery and stays the same across retries.

Event naming: the body's `event` (conversation_created, conversation_status_changed,
conversation_updated, message_created, message_updated, ...). Conversation events carry the
conversation itself; message events carry the message with its conversation nested.

Quirks:
- the conversation `id` in payloads is the display id agents see (the ticket id here);
- `message_type` is a word at the top level (incoming/outgoing/activity/template) and an
  integer 0-3 inside `conversation.messages`; both are read;
- times are ISO strings (message `created_at`), Unix integers (conversation `created_at`)
  or Unix floats (conversation `updated_at`);
- outgoing messages are agents only when `sender.type` is `user` and no automation rule or
  campaign made them; agent bots and Captain are bots; automations are system;
- CSAT is a template message (`content_type` input_csat) whose `message_updated` carries
  `content_attributes.submitted_values.csat_survey_response.rating` (1-5). The message has no
  update time, so the conversation's `updated_at` (touched by the rating) dates it.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Any

from metrics.model import (
    Assigned,
    Channel,
    CsatScale,
    MessagePosted,
    Person,
    PriorityChanged,
    Rated,
    Role,
    StatusChanged,
    TicketEvent,
    TicketObserved,
)
from storage.ingest.adapters.contract import (
    AuthError,
    Delivery,
    Headers,
    HelpdeskAdapter,
    PayloadError,
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

SOURCE = "chatwoot"
SIGNATURE_HEADER = "x-chatwoot-signature"
TIMESTAMP_HEADER = "x-chatwoot-timestamp"
DELIVERY_HEADER = "x-chatwoot-delivery"

# Inbox channel classes (`conversation.channel`), lower-cased as to_channel compares them.
CHANNELS = {
    "channel::webwidget": Channel.CHAT, "channel::email": Channel.EMAIL, "channel::api": Channel.API,
    "channel::whatsapp": Channel.SOCIAL, "channel::facebookpage": Channel.SOCIAL,
    "channel::instagram": Channel.SOCIAL, "channel::twitterprofile": Channel.SOCIAL,
    "channel::telegram": Channel.SOCIAL, "channel::line": Channel.SOCIAL, "channel::tiktok": Channel.SOCIAL,
    "channel::sms": Channel.SMS, "channel::twiliosms": Channel.SMS, "channel::voice": Channel.PHONE,
}
MESSAGE_TYPES = {0: "incoming", 1: "outgoing", 2: "activity", 3: "template"}
BOT_SENDERS = ("agent_bot", "captain_assistant")
# conversation_opened / conversation_resolved come from releases before conversation_status_changed.
CONVERSATION_EVENTS = ("conversation_created", "conversation_status_changed", "conversation_updated",
                       "conversation_opened", "conversation_resolved")
ASSIGNMENT_FIELDS = ("assignee_id", "assignee_agent_bot_id", "team_id")


# --- authentication ---------------------------------------------------------------------


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The value of X-Chatwoot-Signature for this body and timestamp."""
    return "sha256=" + hmac_sha256(secret, f"{timestamp}.".encode() + body).hex()


def verify(headers: Headers, body: bytes, secret: str, now: datetime, max_age: int) -> None:
    signature = headers.get(SIGNATURE_HEADER)
    if not signature:
        raise AuthError("missing_signature",
                        "header X-Chatwoot-Signature is missing (Chatwoot signs webhooks from v4.11.2 on)")
    timestamp = headers.get(TIMESTAMP_HEADER, "").strip()
    check_timestamp(timestamp, now=now, max_age=max_age, header="X-Chatwoot-Timestamp")
    if not same_signature(sign(secret, timestamp, body), signature):
        raise AuthError("bad_signature", "X-Chatwoot-Signature does not match the body")


def signed_headers(secret: str, body: bytes, now: datetime) -> dict[str, str]:
    timestamp = str(int(now.timestamp()))
    delivery = str(uuid.UUID(hex=hashlib.sha256(body).hexdigest()[:32]))  # a UUID, as Chatwoot sends
    return {"content-type": "application/json", "accept": "application/json", TIMESTAMP_HEADER: timestamp,
            SIGNATURE_HEADER: sign(secret, timestamp, body), DELIVERY_HEADER: delivery}


def delivery_key(delivery: Delivery) -> str | None:
    given = delivery.headers.get(DELIVERY_HEADER, "").strip()
    return f"{SOURCE}:delivery:{given[:200]}" if given else None


# --- payloads -----------------------------------------------------------------------------


def to_events(delivery: Delivery) -> list[TicketEvent]:
    payload = require_object(delivery.payload, what="the body")
    event = optional_text(payload.get("event"), what="event")
    if not event:
        raise PayloadError("missing_type", "event is missing")
    if event in CONVERSATION_EVENTS:
        return _conversation_event(event, payload, delivery.received_at)
    if event == "message_created":
        return _message_created(payload, delivery.received_at)
    if event == "message_updated":
        return _csat_answer(payload, delivery.received_at)
    return []  # contacts, typing, web widget, inboxes: kept, not counted


def _conversation_id(conversation: dict[str, Any]) -> str:
    # Payloads built by the conversation presenter put the display id in `id`; a few
    # releases also sent `display_id`, which then wins.
    return text_id(conversation.get("display_id") or conversation.get("id"), what="conversation id")


def _base(ticket_id: str, event_id: str, when: Any, received_at: datetime) -> dict[str, Any]:
    at, source, suspect = event_time(when, received_at)
    return dict(source=SOURCE, ticket_id=ticket_id, event_id=event_id, occurred_at=at, time_source=source,
                time_suspect=suspect)


def _with_id(base: dict[str, Any], suffix: str) -> dict[str, Any]:
    return {**base, "event_id": f"{base['event_id']}:{suffix}"}


def _conversation_event(event: str, conversation: dict[str, Any], received_at: datetime) -> list[TicketEvent]:
    ticket_id = _conversation_id(conversation)
    when = conversation.get("created_at") if event == "conversation_created" else conversation.get("updated_at")
    base = _base(ticket_id, f"conversation:{ticket_id}:{event}:{when}", when, received_at)
    facts: list[TicketEvent] = [_snapshot(conversation, _with_id(base, "observed"),
                                          opened=event == "conversation_created")]
    changes = _changes(conversation.get("changed_attributes"))
    status = _status_change(changes.get("status"), _with_id(base, "status"))
    if status is not None:
        facts.append(status)
    if any(field in changes for field in ASSIGNMENT_FIELDS):
        meta = _object(conversation.get("meta"), what="conversation.meta")
        team = _person(meta.get("team"), what="conversation.meta.team")
        facts.append(Assigned(**_with_id(base, "assigned"),
                              assignee=_person(meta.get("assignee"), what="conversation.meta.assignee") or Person(),
                              group=(team.name or "") if team else ("" if "team_id" in changes else None)))
    priority = _priority_change(changes.get("priority"), _with_id(base, "priority"))
    if priority is not None:
        facts.append(priority)
    return facts


def _changes(value: Any) -> dict[str, dict[str, Any]]:
    """`changed_attributes` is a list of one-key objects: [{"status": {previous_value, current_value}}]."""
    if value in (None, ""):
        return {}
    items = value if isinstance(value, list) else [value]
    changes: dict[str, dict[str, Any]] = {}
    for item in items:
        for name, change in require_object(item, what="changed_attributes[]").items():
            changes[name] = change if isinstance(change, dict) else {}
    return changes


def _status_change(change: dict[str, Any] | None, base: dict[str, Any]) -> StatusChanged | None:
    if not change:
        return None
    current = optional_text(change.get("current_value"), what="changed_attributes.status.current_value")
    status = to_status(current) if current else None
    if status is None:
        return None
    previous = optional_text(change.get("previous_value"), what="changed_attributes.status.previous_value")
    return StatusChanged(**base, status=status, status_raw=current or "",
                         previous=to_status(previous) if previous else None)


def _priority_change(change: dict[str, Any] | None, base: dict[str, Any]) -> PriorityChanged | None:
    if not change:
        return None
    word = optional_text(change.get("current_value"), what="changed_attributes.priority.current_value")
    priority = to_priority(word) if word else None
    return PriorityChanged(**base, priority=priority, priority_raw=word or "") if priority else None


def _snapshot(conversation: dict[str, Any], base: dict[str, Any], *, opened: bool) -> TicketObserved:
    meta = _object(conversation.get("meta"), what="conversation.meta")
    extra = _object(conversation.get("additional_attributes"), what="conversation.additional_attributes")
    channel_raw = optional_text(conversation.get("channel"), what="conversation.channel")
    status_raw = optional_text(conversation.get("status"), what="conversation.status")
    priority_raw = optional_text(conversation.get("priority"), what="conversation.priority")
    labels = conversation.get("labels")
    if labels is not None and not (isinstance(labels, list) and all(isinstance(x, str) for x in labels)):
        raise PayloadError("wrong_type", "conversation.labels must be a list of strings")
    team = _person(meta.get("team"), what="conversation.meta.team")
    return TicketObserved(
        **base, opened=opened, created_at=optional_time(conversation.get("created_at")),
        subject=extra.get("mail_subject") if isinstance(extra.get("mail_subject"), str) else None,
        channel=to_channel(channel_raw, CHANNELS) if channel_raw else None, channel_raw=channel_raw,
        status=to_status(status_raw) if status_raw else None, status_raw=status_raw,
        priority=to_priority(priority_raw) if priority_raw else None, priority_raw=priority_raw,
        tags=None if labels is None else tuple(labels),
        requester=_person(meta.get("sender"), what="conversation.meta.sender"),
        assignee=_person(meta.get("assignee"), what="conversation.meta.assignee"),
        group=team.name if team else None,
    )


def _object(value: Any, *, what: str) -> dict[str, Any]:
    return {} if value is None else require_object(value, what=what)


def _person(value: Any, *, what: str) -> Person | None:
    if value is None:
        return None
    value = require_object(value, what=what)
    ident = value.get("id")
    person = Person(id=None if ident in (None, "") else text_id(ident, what=f"{what}.id"),
                    name=optional_text(value.get("name"), what=f"{what}.name"),
                    email=optional_text(value.get("email"), what=f"{what}.email"))
    return person if person.id or person.name or person.email else None


# --- messages -----------------------------------------------------------------------------


def _message_created(message: dict[str, Any], received_at: datetime) -> list[TicketEvent]:
    conversation = require_object(message.get("conversation"), what="conversation")
    ticket_id = _conversation_id(conversation)
    message_id = text_id(message.get("id"), what="id")
    base = _base(ticket_id, f"message:{message_id}", message.get("created_at"), received_at)
    facts: list[TicketEvent] = [_snapshot(conversation, _with_id(base, "observed"), opened=False)]
    kind = _message_type(message.get("message_type"))
    if kind in ("incoming", "outgoing"):  # activity lines and templates (greetings, surveys) are no messages
        private = message.get("private", False)
        if not isinstance(private, bool):
            raise PayloadError("wrong_type", "private must be true or false")
        facts.append(MessagePosted(**_with_id(base, "message"), message_id=message_id,
                                   author_role=_author_role(kind, message),
                                   author=_person(message.get("sender"), what="sender") or Person(),
                                   public=not private,
                                   body=optional_text(message.get("content"), what="content") or ""))
    return facts


def _message_type(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PayloadError("wrong_type", "message_type must be a word or an integer")
    return MESSAGE_TYPES.get(value) if isinstance(value, int) else value.strip().lower()


def _author_role(kind: str, message: dict[str, Any]) -> Role:
    """Chatwoot's own first-reply rule, in deskpulse's words: only humans' unautomated replies count."""
    if kind == "incoming":
        return Role.CUSTOMER
    made_by = _attributes(message.get("content_attributes"))
    extra = _attributes(message.get("additional_attributes"))
    if made_by.get("automation_rule_id") or extra.get("campaign_id"):
        return Role.SYSTEM  # automation rules and campaigns send as an agent
    sender = message.get("sender") if isinstance(message.get("sender"), dict) else {}
    sender_type = str(sender.get("type") or "").strip().lower()
    if sender_type in BOT_SENDERS:
        return Role.BOT
    if sender_type == "user" or (not sender_type and sender):  # early releases sent agents without a type
        return Role.AGENT
    return Role.SYSTEM  # no sender: Chatwoot itself


def _attributes(value: Any) -> dict[str, Any]:
    """content_attributes / additional_attributes: an object, sometimes JSON-encoded as text."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return value if isinstance(value, dict) else {}


def _csat_answer(message: dict[str, Any], received_at: datetime) -> list[TicketEvent]:
    """A customer's answer to the CSAT survey; every other message update is ignored."""
    if message.get("content_type") != "input_csat":
        return []
    submitted = _attributes(message.get("content_attributes")).get("submitted_values")
    answer = submitted.get("csat_survey_response") if isinstance(submitted, dict) else None
    if not isinstance(answer, dict) or answer.get("rating") in (None, ""):
        return []  # the survey was delivered or read, not answered
    conversation = require_object(message.get("conversation"), what="conversation")
    ticket_id = _conversation_id(conversation)
    when = conversation.get("updated_at")
    # The time is in the id: a customer who changes their rating sends a new fact.
    base = _base(ticket_id, f"message:{text_id(message.get('id'), what='id')}:csat:{when}", when, received_at)
    rating, score = normalize_rating(CsatScale.ONE_TO_FIVE, answer["rating"])
    meta = _object(conversation.get("meta"), what="conversation.meta")
    return [_snapshot(conversation, _with_id(base, "observed"), opened=False),
            Rated(**_with_id(base, "rated"), rating=rating, scale=CsatScale.ONE_TO_FIVE, raw=str(answer["rating"]),
                  score=score, comment=optional_text(answer.get("feedback_message"), what="feedback_message"),
                  agent=_person(meta.get("assignee"), what="conversation.meta.assignee"))]


ADAPTER = HelpdeskAdapter(source=SOURCE, verify=verify, to_events=to_events, delivery_key=delivery_key,
                          signed_headers=signed_headers)
