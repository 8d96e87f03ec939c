"""Help Scout: webhooks with payload version 2 (docs/connect-helpscout.md).

Authentication: `X-HelpScout-Signature = base64(HMAC-SHA1(secret, raw body))`, the secret being
the one typed into the webhook (40 characters or fewer). No timestamp is signed and no delivery
id is sent: a replay is caught only because the same event and body name the same delivery,
and the same threads the same facts.

The event name is only in the `X-HelpScout-Event` header; the body has no envelope. Conversation
events (`convo.*`) send the whole v2 Conversation object: `id`, `number`, `type` (email / chat /
phone), `status` (active / pending / closed / spam), `createdAt`, `closedAt`, `userUpdatedAt`,
`createdBy`, `assignee`, `tags`, `source`, and its threads in `_embedded.threads`. Each delivery
therefore restates the conversation's history; facts are named after thread ids, so the history
counts once however many deliveries repeat it. `convo.deleted` sends only `{id}`;
`satisfaction.ratings` sends a Rating object. The test event sent from the Webhooks app
(`helpscout.test`) is answered as a handshake.

Quirks read here:
- Threads: `customer` is the customer's message, `message` (`reply` in some clients) an agent
  reply, `note` internal, `chat` / `phone` / `beaconchat` by whoever `createdBy.type` says
  (customer / user), `lineitem` a change of state; drafts and threads held by Collision
  Detection are not messages. A thread's `status` is the status it set, `nochange` otherwise,
  which is how reopens and closes show in the history.
- Ratings: great / okay / not_good on a 3-point scale (older objects: Great / Okay / Bad and
  `ticketId` for the conversation).
- Times are ISO 8601, normally with `Z`; one without an offset is read as UTC.
- Help Scout has no priority.
- Spam is a status. A conversation that shows `spam` is removed; a `convo.status` event with any
  other status says it is not (or no longer) spam, which brings back one marked "not spam"
  (docs/connect-helpscout.md). Nothing in the conversation dates the change of status
  (`userUpdatedAt` need not move), so both facts are timed at receipt, like `convo.deleted`.
  No event tells of a deleted conversation being restored.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from metrics.model import (
    Assigned,
    Channel,
    CsatScale,
    MessagePosted,
    Person,
    Rated,
    RemovalReason,
    Removed,
    Restored,
    Role,
    Status,
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
    b64,
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

SOURCE = "helpscout"
SIGNATURE_HEADER = "x-helpscout-signature"
EVENT_HEADER = "x-helpscout-event"
TEST_EVENT = "helpscout.test"

STATUSES = {"active": Status.OPEN, "open": Status.OPEN, "pending": Status.PENDING, "closed": Status.CLOSED}
CHANNELS = {"email": Channel.EMAIL, "chat": Channel.CHAT, "phone": Channel.PHONE}
# Thread types that are messages; `note` is the internal one.
MESSAGE_THREADS = ("customer", "message", "reply", "note", "chat", "phone", "beaconchat")
UNSENT_STATES = ("draft", "underreview", "review", "hidden")
# Thread sources that are Help Scout acting on its own, though the thread names a user.
AUTOMATED_SOURCES = ("workflow", "workflows", "orchestration", "autoreply")


def sign(secret: str, body: bytes) -> str:
    return b64(hmac_sha1(secret, body))


def verify(headers: Headers, body: bytes, secret: str, now: datetime, max_age: int) -> None:
    """No timestamp is signed, so `now` and `max_age` have nothing to check."""
    signature = headers.get(SIGNATURE_HEADER)
    if not signature:
        raise AuthError("missing_signature", "header X-HelpScout-Signature is missing")
    if not same_signature(sign(secret, body), signature):
        raise AuthError("bad_signature", "X-HelpScout-Signature does not match the body")


def signed_headers(secret: str, body: bytes, now: datetime) -> dict[str, str]:
    """The signed part of a request. The event name (X-HelpScout-Event) is not signed and
    cannot be told from a body; the sender adds it."""
    return {"content-type": "application/json", SIGNATURE_HEADER: sign(secret, body)}


def _event_name(delivery: Delivery) -> str | None:
    name = delivery.headers.get(EVENT_HEADER, "").strip().lower()
    return name or None


def delivery_key(delivery: Delivery) -> str | None:
    """No delivery id exists: the event plus the body (one event can send the same body as another)."""
    name = _event_name(delivery)
    return f"{SOURCE}:{name}:{hashlib.sha256(delivery.body).hexdigest()}" if name else None


def handshake(delivery: Delivery) -> dict[str, Any] | None:
    return {"ok": True, "event": TEST_EVENT} if _event_name(delivery) == TEST_EVENT else None


def to_events(delivery: Delivery) -> list[TicketEvent]:
    name = _event_name(delivery)
    if name is None:
        raise PayloadError("missing_event", "header X-HelpScout-Event is missing")
    body = require_object(delivery.payload, what="the body")
    if name == "satisfaction.ratings":
        return _rating(body, delivery.received_at)
    if not name.startswith("convo."):
        return []  # customers, tags, beacon chats…: kept, not counted
    ticket_id = text_id(body.get("id"), what="id")
    if name == "convo.deleted":
        return [Removed(**_base(ticket_id, f"{ticket_id}:deleted", None, delivery.received_at),
                        reason=RemovalReason.DELETED)]
    return _conversation(name, body, ticket_id, delivery)


def _base(ticket_id: str, event_id: str, when: Any, received_at: datetime) -> dict[str, Any]:
    at, source, suspect = event_time(when, received_at)
    return dict(source=SOURCE, ticket_id=ticket_id, event_id=event_id, occurred_at=at, time_source=source,
                time_suspect=suspect)


# --- conversations ---------------------------------------------------------------------------


def _conversation(name: str, body: dict[str, Any], ticket_id: str, delivery: Delivery) -> list[TicketEvent]:
    threads = _threads(body)
    when = _snapshot_time(body, threads)
    received_at = delivery.received_at
    # Named by event, moment and what it says: a repeated delivery repeats the fact rather than
    # adding one, while a reassignment within the same second is still a new fact.
    said = repr((body.get("status"), _assignee_id(body), body.get("tags"))).encode()
    stamp = f"{when or hashlib.sha256(delivery.body).hexdigest()[:24]}:{hashlib.sha256(said).hexdigest()[:8]}"
    facts: list[TicketEvent] = [_snapshot(body, _base(ticket_id, f"{ticket_id}:observed:{name}:{stamp}", when,
                                                      received_at), opened=name == "convo.created")]
    if name == "convo.assigned":  # a snapshot cannot say "nobody"; this event can
        facts.append(Assigned(**_base(ticket_id, f"{ticket_id}:assigned:{stamp}", when, received_at),
                              assignee=_person(body.get("assignee"), what="assignee") or Person()))
    if body.get("status") == "spam":
        facts.append(Removed(**_base(ticket_id, f"{ticket_id}:spam:{stamp}", None, received_at),
                             reason=RemovalReason.SPAM))
    elif name == "convo.status" and body.get("status"):
        facts.append(Restored(**_base(ticket_id, f"{ticket_id}:not_spam:{stamp}", None, received_at)))
    for index, thread in enumerate(threads):
        facts += _thread(thread, index, ticket_id, received_at)
    return facts


def _assignee_id(body: dict[str, Any]) -> Any:
    assignee = body.get("assignee")
    return assignee.get("id") if isinstance(assignee, dict) else None


def _threads(body: dict[str, Any]) -> list[dict[str, Any]]:
    embedded = body.get("_embedded")
    if embedded is None:
        return []
    threads = require_object(embedded, what="_embedded").get("threads", [])
    if not isinstance(threads, list):
        raise PayloadError("wrong_type", "_embedded.threads must be a list")
    return [require_object(t, what=f"_embedded.threads[{i}]") for i, t in enumerate(threads)]


def _snapshot_time(body: dict[str, Any], threads: list[dict[str, Any]]) -> str | None:
    """When the conversation looked like this: when it was closed if it is closed, else the latest
    moment it tells of (a customer reply does not move `userUpdatedAt`, its thread does)."""
    if body.get("status") == "closed" and body.get("closedAt"):
        return str(body["closedAt"])
    moments = [(optional_time(v), v) for v in (body.get("createdAt"), body.get("userUpdatedAt"),
                                               *(t.get("createdAt") for t in threads))]
    known = [(parsed, raw) for parsed, raw in moments if parsed is not None]
    return str(max(known, key=lambda moment: moment[0])[1]) if known else None


def _snapshot(body: dict[str, Any], base: dict[str, Any], *, opened: bool) -> TicketObserved:
    status_raw = optional_text(body.get("status"), what="status")
    channel_raw = optional_text(body.get("type"), what="type")
    created_by = body.get("createdBy") if isinstance(body.get("createdBy"), dict) else {}
    return TicketObserved(
        **base, opened=opened, created_at=optional_time(body.get("createdAt")),
        # A conversation an agent started (an outbound email) kept no customer waiting.
        opened_by=_role(created_by) if created_by.get("type") in ("customer", "user") else None,
        subject=optional_text(body.get("subject"), what="subject"),
        channel=to_channel(channel_raw, CHANNELS) if channel_raw else None, channel_raw=channel_raw,
        status=to_status(status_raw, STATUSES) if status_raw else None, status_raw=status_raw,
        tags=_tag_names(body.get("tags")),
        requester=_person(body.get("primaryCustomer") or body.get("customer"), what="primaryCustomer"),
        assignee=_person(body.get("assignee"), what="assignee"),
        group=optional_text(body.get("mailboxId"), what="mailboxId"),
    )


def _tag_names(tags: Any) -> tuple[str, ...] | None:
    """`[{id, color, tag}]` (v2); some objects name it `name`."""
    if tags is None:
        return None
    names = [t.get("tag") or t.get("name") for t in tags if isinstance(t, dict)] if isinstance(tags, list) else None
    if names is None or len(names) != len(tags) or not all(isinstance(n, str) for n in names):
        raise PayloadError("wrong_type", "tags must be a list of tags with names")
    return tuple(names)


def _person(value: Any, *, what: str) -> Person | None:
    if not isinstance(value, dict) or value.get("id") in (None, "", 0):
        return None
    first = value.get("first") or value.get("firstName") or ""
    last = value.get("last") or value.get("lastName") or ""
    return Person(id=text_id(value["id"], what=f"{what}.id"), name=f"{first} {last}".strip() or None,
                  email=optional_text(value.get("email"), what=f"{what}.email"))


def _role(created_by: dict[str, Any]) -> Role:
    kind = str(created_by.get("type") or "").lower()
    return {"customer": Role.CUSTOMER, "user": Role.AGENT}.get(kind, Role.SYSTEM)


# --- threads ----------------------------------------------------------------------------------


def _thread(thread: dict[str, Any], index: int, ticket_id: str, received_at: datetime) -> list[TicketEvent]:
    if str(thread.get("state") or "published").lower() in UNSENT_STATES:
        return []  # not sent (yet), so nobody read it
    thread_id = text_id(thread.get("id"), what=f"_embedded.threads[{index}].id")
    kind = str(thread.get("type") or "").lower()

    def base(suffix: str) -> dict[str, Any]:
        return _base(ticket_id, f"{ticket_id}:thread:{thread_id}{suffix}", thread.get("createdAt"), received_at)

    facts: list[TicketEvent] = []
    if kind in MESSAGE_THREADS:
        created_by = thread.get("createdBy") if isinstance(thread.get("createdBy"), dict) else {}
        facts.append(MessagePosted(**base(""), message_id=thread_id, author_role=_thread_role(kind, thread),
                                   author=_person(created_by, what="thread.createdBy") or Person(),
                                   public=kind != "note",
                                   body=optional_text(thread.get("body"), what="thread.body") or ""))
    status_raw = str(thread.get("status") or "nochange").lower()
    status = STATUSES.get(status_raw)
    if status is not None:
        facts.append(StatusChanged(**base(":status"), status=status, status_raw=status_raw))
    return facts


def _thread_role(kind: str, thread: dict[str, Any]) -> Role:
    if kind == "customer":
        return Role.CUSTOMER  # even when an agent typed it in for the customer
    created_by = thread.get("createdBy") if isinstance(thread.get("createdBy"), dict) else {}
    source = thread.get("source") if isinstance(thread.get("source"), dict) else {}
    if str(source.get("type") or "").lower() in AUTOMATED_SOURCES:
        return Role.SYSTEM  # a workflow's reply names the user it runs as
    return _role(created_by)


# --- ratings ----------------------------------------------------------------------------------


def _rating(body: dict[str, Any], received_at: datetime) -> list[TicketEvent]:
    ticket_id = text_id(body.get("conversationId") or body.get("ticketId"), what="conversationId")
    raw = optional_text(body.get("rating"), what="rating")
    if not raw or raw.strip().lower() == "unknown":
        return []  # asked, not answered
    csat, _ = normalize_rating(CsatScale.THREE_POINT, raw)
    rating_id = text_id(body.get("id"), what="id")
    when = body.get("modifiedAt") or body.get("createdAt")  # a changed rating replaces the first one
    user = body.get("user") if isinstance(body.get("user"), dict) else None
    return [Rated(**_base(ticket_id, f"{ticket_id}:rating:{rating_id}:{when}", when, received_at), rating=csat,
                  scale=CsatScale.THREE_POINT, raw=raw,
                  comment=optional_text(body.get("comments"), what="comments"),
                  agent=_person(user, what="user") if user else None)]


ADAPTER = HelpdeskAdapter(source=SOURCE, verify=verify, to_events=to_events, delivery_key=delivery_key,
                          signed_headers=signed_headers, handshake=handshake)
