"""Zammad: trigger webhooks (Manage > Webhook, fired by a trigger; docs/connect-zammad.md).

Authentication: with an "HMAC SHA1 Signature Token" set on the webhook, Zammad sends
X-Hub-Signature = "sha1=" + hex HMAC-SHA1(token, raw body). Nothing else is signed: there is
no timestamp, so there is no replay window; a replayed body carries facts already counted.
Deliveries without the header are refused (the token is optional in Zammad, required here).

Event naming: there is none. A trigger sends the ticket as it is when the job runs, plus the
article that fired it (`{}` when none did); X-Zammad-Trigger holds the trigger's name and
X-Zammad-Delivery the job id, which stays the same across Zammad's retries (the body does
not: it is rebuilt on each attempt, so the delivery id is what de-duplicates).

Quirks:
- the ticket's fields describe it as of `ticket.updated_at`, which dates the snapshot;
  status changes (and reopens) are seen from consecutive snapshots;
- `state` is a name (new, open, pending reminder, pending close, closed, merged, or a custom
  state), `priority` an object whose `name` is "1 low", "2 normal", "3 high";
- article `sender` is Customer, Agent or System; `internal` true is a note; Zammad counts an
  agent article as a response only when its type communicates with the customer, so a
  public `note` is no reply here either; owner id 1 is Zammad's system user: unassigned;
- the ticket id used here is the ticket `number` agents see (#10081), not the database id;
- custom payloads are read when they keep the default payload's field names (values may
  then be text: "false", "2026-11-16 09:00:00 UTC");
- Zammad has no satisfaction surveys, so no ratings arrive from it.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from datetime import datetime
from typing import Any

from metrics.model import (
    Assigned,
    Channel,
    MessagePosted,
    Person,
    RemovalReason,
    Removed,
    Role,
    Status,
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
    optional_text,
    optional_time,
    require_object,
    same_signature,
    text_id,
    to_channel,
    to_priority,
    to_status,
)

SOURCE = "zammad"
SIGNATURE_HEADER = "x-hub-signature"
DELIVERY_HEADER = "x-zammad-delivery"
TRIGGER_HEADER = "x-zammad-trigger"
SYSTEM_USER_IDS = ("", "0", "1")  # 1 is Zammad's system user "-", the owner of unassigned tickets

STATES = {"pending_reminder": Status.PENDING, "pending_close": Status.PENDING, "merged": Status.CLOSED}
# Article types as Zammad names them (ticket.create_article_type is the first article's type).
CHANNELS = {"email": Channel.EMAIL, "phone": Channel.PHONE, "web": Channel.WEB, "chat": Channel.CHAT,
            "sms": Channel.SMS, "fax": Channel.OTHER, "note": Channel.OTHER}
SOCIAL_TYPES = ("twitter", "facebook", "telegram", "whatsapp", "instagram")
ROLES = {"customer": Role.CUSTOMER, "agent": Role.AGENT, "system": Role.SYSTEM}
_RANK = re.compile(r"^\d+\s+")  # the "2 " in "2 normal"
_PLACEHOLDER = re.compile(r"^#\{.*\}$")


# --- authentication ---------------------------------------------------------------------


def sign(secret: str, body: bytes) -> str:
    """The value of X-Hub-Signature for this body."""
    return "sha1=" + hmac_sha1(secret, body).hex()


def verify(headers: Headers, body: bytes, secret: str, now: datetime, max_age: int) -> None:
    """`now` and `max_age` are unused: Zammad signs no timestamp."""
    signature = headers.get(SIGNATURE_HEADER)
    if not signature:
        raise AuthError("missing_signature",
                        "header X-Hub-Signature is missing: set the webhook's HMAC SHA1 Signature Token")
    if not same_signature(sign(secret, body), signature.strip().lower()):
        raise AuthError("bad_signature", "X-Hub-Signature does not match the body")


def signed_headers(secret: str, body: bytes, now: datetime) -> dict[str, str]:
    job_id = str(uuid.UUID(hex=hashlib.sha256(body).hexdigest()[:32]))  # ActiveJob ids are UUIDs
    return {"content-type": "application/json; charset=utf-8", "user-agent": "Zammad User Agent",
            TRIGGER_HEADER: "deskpulse", DELIVERY_HEADER: job_id, SIGNATURE_HEADER: sign(secret, body)}


def delivery_key(delivery: Delivery) -> str | None:
    given = delivery.headers.get(DELIVERY_HEADER, "").strip()
    return f"{SOURCE}:delivery:{given[:200]}" if given else None


# --- payloads -----------------------------------------------------------------------------


def to_events(delivery: Delivery) -> list[TicketEvent]:
    payload = require_object(delivery.payload, what="the body")
    if "ticket" not in payload:
        return []  # not a ticket webhook (e.g. a chat-notification payload): kept, not counted
    ticket = require_object(payload["ticket"], what="ticket")
    number = text_id(_blank_to_none(ticket.get("number")), what="ticket.number")
    received_at = delivery.received_at
    when = _blank_to_none(ticket.get("updated_at"))
    at, source, suspect = event_time(when, received_at)
    base = dict(source=SOURCE, ticket_id=number, occurred_at=at, time_source=source, time_suspect=suspect)

    facts: list[TicketEvent] = []
    opening = _opening(ticket, number, received_at)
    if opening is not None:
        facts.append(opening)
    facts.append(_snapshot(ticket, {**base, "event_id": f"ticket:{number}:{when}:observed"}))
    if ("owner_id" in ticket or "owner" in ticket) and _owner(ticket) is None:
        facts.append(Assigned(**base, event_id=f"ticket:{number}:{when}:unassigned", assignee=Person()))
    if _name(ticket.get("state"), what="ticket.state") == "merged":
        facts.append(Removed(**base, event_id=f"ticket:{number}:merged", reason=RemovalReason.MERGED))
    article = payload.get("article")
    if article not in (None, {}, ""):
        article = require_object(article, what="article")
        if not _PLACEHOLDER.match(str(article.get("id", ""))):  # a custom payload sent with no article
            facts.append(_article(article, number, received_at))
    return facts


def _blank_to_none(value: Any) -> Any:
    """Custom payloads render a missing value as "" and a missing record as "#{article / no such object}"."""
    return None if value == "" or (isinstance(value, str) and _PLACEHOLDER.match(value)) else value


def _name(value: Any, *, what: str) -> str | None:
    """Associations arrive as a name ("open") or as the record ({"name": "2 normal", ...})."""
    if isinstance(value, dict):
        value = value.get("name")
    text = optional_text(value, what=what)
    return text.strip().lower() if text else None


def _opening(ticket: dict[str, Any], number: str, received_at: datetime) -> TicketObserved | None:
    """The ticket's creation, repeated by every delivery under one id (so stored once)."""
    created = _blank_to_none(ticket.get("created_at"))
    if created is None:
        return None
    at, source, suspect = event_time(created, received_at)
    first_sender = ROLES.get(_name(ticket.get("create_article_sender"), what="ticket.create_article_sender") or "")
    return TicketObserved(source=SOURCE, ticket_id=number, event_id=f"ticket:{number}:opened", occurred_at=at,
                          time_source=source, time_suspect=suspect, opened=True, created_at=optional_time(created),
                          opened_by=Role.AGENT if first_sender is Role.AGENT else None,
                          **_channel_fields(ticket))


def _channel_fields(ticket: dict[str, Any]) -> dict[str, Any]:
    raw = _name(ticket.get("create_article_type"), what="ticket.create_article_type")
    if not raw:
        return {}
    channel = Channel.SOCIAL if raw.split()[0] in SOCIAL_TYPES else to_channel(raw, CHANNELS)
    return {"channel": channel, "channel_raw": raw}


def _snapshot(ticket: dict[str, Any], base: dict[str, Any]) -> TicketObserved:
    state = _name(ticket.get("state"), what="ticket.state")
    priority = _name(ticket.get("priority"), what="ticket.priority")
    tags = ticket.get("tags")
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        raise PayloadError("wrong_type", "ticket.tags must be a list of strings")
    return TicketObserved(
        **base, created_at=optional_time(_blank_to_none(ticket.get("created_at"))),
        subject=optional_text(ticket.get("title"), what="ticket.title"), **_channel_fields(ticket),
        status=to_status(state, STATES) if state else None, status_raw=state,
        priority=to_priority(_RANK.sub("", priority)) if priority else None, priority_raw=priority,
        tags=None if tags is None else tuple(tags),
        ticket_type=optional_text(ticket.get("type"), what="ticket.type"),
        requester=_user(ticket.get("customer"), ticket.get("customer_id")), assignee=_owner(ticket),
        group=_label(ticket.get("group"), what="ticket.group"),
        organization=_label(ticket.get("organization"), what="ticket.organization"),
    )


def _owner(ticket: dict[str, Any]) -> Person | None:
    """The ticket's owner; None when it has none (Zammad's system user owns unassigned tickets)."""
    record = ticket.get("owner") if isinstance(ticket.get("owner"), dict) else {}
    owner_id = ticket.get("owner_id", record.get("id"))
    if owner_id is None or str(owner_id).strip() in SYSTEM_USER_IDS:
        return None
    return _user(record, owner_id)


def _label(value: Any, *, what: str) -> str | None:
    """A group or organization: its name, as Zammad shows it."""
    if isinstance(value, dict):
        value = value.get("name")
    return optional_text(_blank_to_none(value), what=what)


def _user(value: Any, ident: Any) -> Person | None:
    """A Zammad user record (firstname, lastname, email) or, failing that, its id."""
    record = value if isinstance(value, dict) else {}
    ident = _blank_to_none(record.get("id", ident))
    name = " ".join(str(record[k]) for k in ("firstname", "lastname") if record.get(k)) or None
    email = record.get("email") if isinstance(record.get("email"), str) and record.get("email") else None
    if ident is None and not (name or email):
        return None
    return Person(id=None if ident is None else text_id(ident, what="user id"), name=name, email=email)


def _article(article: dict[str, Any], number: str, received_at: datetime) -> MessagePosted:
    article_id = text_id(_blank_to_none(article.get("id")), what="article.id")
    at, source, suspect = event_time(_blank_to_none(article.get("created_at")), received_at)
    kind = _name(article.get("type"), what="article.type")
    internal = _flag(article.get("internal", False), what="article.internal")
    return MessagePosted(source=SOURCE, ticket_id=number, event_id=f"article:{article_id}", occurred_at=at,
                         time_source=source, time_suspect=suspect, message_id=article_id,
                         author_role=_author_role(article),
                         author=_user(article.get("created_by"), article.get("created_by_id")) or Person(),
                         public=not internal and kind != "note",
                         body=optional_text(article.get("body"), what="article.body") or "")


def _author_role(article: dict[str, Any]) -> Role:
    sender = _name(article.get("sender"), what="article.sender")
    role = ROLES.get(sender or "")
    if role is None:
        raise PayloadError("out_of_range", "article.sender must be Customer, Agent or System")
    if role is Role.AGENT and str(article.get("created_by_id", "")).strip() == "1":
        return Role.SYSTEM  # written as an agent by Zammad's system user: an automation
    return role


def _flag(value: Any, *, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise PayloadError("wrong_type", f"{what} must be true or false")


ADAPTER = HelpdeskAdapter(source=SOURCE, verify=verify, to_events=to_events, delivery_key=delivery_key,
                          signed_headers=signed_headers)
