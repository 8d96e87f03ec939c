"""Freshdesk: the "Trigger webhook" action of automation rules (docs/connect-freshdesk.md).

Authentication: Freshdesk cannot sign a request. The rule's "Requires authentication" sends
`Authorization: Basic base64(username:password)`; deskpulse accepts it when the password (or,
in API-key mode, the username) is the secret. A custom header `X-Deskpulse-Token: <secret>`
is accepted too. There is no signed timestamp, so no replay window applies.

Event naming: the body is the JSON an admin typed (template in the guide), one rule per
situation. The situation is the template's static `event` field, or the URL's last segment
(/webhooks/freshdesk/<event>); `{{triggered_event}}` renders as non-JSON text such as
`{status:{from:4,to:2}}` and is read for the status change, the note type and the rating.

Quirks: no event time and no delivery id in the payload (receipt time; the body names the
delivery); customer and agent are told apart only by which rule fired; statuses, priorities
and sources arrive as labels or as Freshdesk's numeric ids; ratings are 103 … -103 (or the
classic survey's 1 happy, 2 neutral, 3 unhappy) and are known only from the rule's static field.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import html
import json
import re
from datetime import datetime
from typing import Any

from metrics.model import (
    Channel,
    Csat,
    CsatScale,
    MessagePosted,
    Person,
    Priority,
    Rated,
    RemovalReason,
    Removed,
    Role,
    Status,
    StatusChanged,
    TicketEvent,
    TicketObserved,
)
from storage.ingest.adapters.contract import (
    TOKEN_HEADER,
    AuthError,
    Delivery,
    Headers,
    HelpdeskAdapter,
    PayloadError,
    b64,
    event_time,
    optional_text,
    require_object,
    same_signature,
    text_id,
    to_channel,
    to_priority,
    to_status,
)

SOURCE = "freshdesk"
BASIC_USER = "deskpulse"  # what the guide tells admins to type as the username
EVENTS = ("ticket_created", "customer_reply", "agent_reply", "note_added", "status_changed", "ticket_updated",
          "feedback_received", "ticket_deleted", "ticket_spam")
REMOVALS = {"ticket_deleted": RemovalReason.DELETED, "ticket_spam": RemovalReason.SPAM}

# Freshdesk's numeric ids (API v2) and its labels, as placeholders may render either.
STATUS_IDS = {"2": Status.OPEN, "3": Status.PENDING, "4": Status.SOLVED, "5": Status.CLOSED}
STATUS_WORDS = {"waiting_on_customer": Status.PENDING, "waiting_on_third_party": Status.ON_HOLD}
PRIORITY_IDS = {"1": Priority.LOW, "2": Priority.NORMAL, "3": Priority.HIGH, "4": Priority.URGENT}
SOURCE_IDS = {"1": "Email", "2": "Portal", "3": "Phone", "7": "Chat", "9": "Feedback Widget", "10": "Outbound Email"}
CHANNELS = {"portal": Channel.WEB, "feedback_widget": Channel.WEB, "outbound_email": Channel.EMAIL}
OUTBOUND_SOURCES = ("outbound_email",)

# Ratings: the 7-point answers, and the classic survey's legacy 1 happy / 2 neutral / 3 unhappy.
RATING_NUMBERS = {103: Csat.GOOD, 102: Csat.GOOD, 101: Csat.GOOD, 100: Csat.NEUTRAL,
                  -101: Csat.BAD, -102: Csat.BAD, -103: Csat.BAD, 1: Csat.GOOD, 2: Csat.NEUTRAL, 3: Csat.BAD}
RATING_WORDS = {"extremely_happy": Csat.GOOD, "very_happy": Csat.GOOD, "happy": Csat.GOOD, "neutral": Csat.NEUTRAL,
                "unhappy": Csat.BAD, "very_unhappy": Csat.BAD, "extremely_unhappy": Csat.BAD}
_BREAK = re.compile(r"<(?:br|/?(?:div|p|li|tr|h[1-6]))\b[^>]*>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")


# --- authentication ---------------------------------------------------------------------


def verify(headers: Headers, body: bytes, secret: str, now: datetime, max_age: int) -> None:
    """Basic auth or the token header; compared in constant time. Nothing is signed, so
    `now` and `max_age` have nothing to check."""
    token, authorization = headers.get(TOKEN_HEADER), headers.get("authorization")
    if token is None and not authorization:
        raise AuthError("missing_credentials", "send Authorization: Basic … or X-Deskpulse-Token")
    if token is not None and same_signature(secret, token):
        return
    if authorization and any(same_signature(secret, given) for given in _basic_credentials(authorization)):
        return
    raise AuthError("bad_credentials", "the Basic auth password or X-Deskpulse-Token is not the secret")


def _basic_credentials(authorization: str) -> tuple[str, str]:
    """(username, password) of a Basic header; the secret may be either (API-key mode)."""
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise AuthError("bad_credentials", "Authorization must use the Basic scheme")
    try:
        user, _, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthError("bad_credentials", "the Basic credentials are not valid base64") from None
    return user, password


def signed_headers(secret: str, body: bytes, now: datetime) -> dict[str, str]:
    return {"content-type": "application/json", "authorization": "Basic " + b64(f"{BASIC_USER}:{secret}".encode())}


def delivery_key(delivery: Delivery) -> str | None:
    return None  # no delivery id: the pipeline names the delivery by a hash of its body


# --- payload ----------------------------------------------------------------------------


def _fields(payload: Any) -> dict[str, Any]:
    """The template's fields, inside `freshdesk_webhook` (the guide's template) or not."""
    body = require_object(payload, what="the body")
    return require_object(body.get("freshdesk_webhook", body), what="freshdesk_webhook")


def _text(fields: dict[str, Any], name: str) -> str | None:
    value = optional_text(fields.get(name), what=name)
    return (value.strip() or None) if value is not None else None


def parse_triggered_event(raw: str | None) -> tuple[str, str | dict[str, str]] | None:
    """`{status:{from:4,to:2}}` -> ("status", {"from": "4", "to": "2"}); `{note_type:public}` ->
    ("note_type", "public"). Freshdesk renders it without quotes, so it is not JSON."""
    text = (raw or "").strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    name, colon, rest = text[1:-1].partition(":")
    if not colon or not name.strip():
        return None
    rest = rest.strip()
    if rest.startswith("{") and rest.endswith("}"):
        pairs = (part.partition(":") for part in rest[1:-1].split(","))
        return name.strip(), {k.strip(): v.strip() for k, _, v in pairs if k.strip()}
    return name.strip(), rest


def _situation(fields: dict[str, Any], hint: str | None, triggered: tuple[str, Any] | None) -> str:
    named = _text(fields, "event") or _text(fields, "rule") or hint or ""
    name = named.strip().lower().replace("-", "_")
    if name or triggered is None:
        return name
    kind, value = triggered  # no name given: the unambiguous triggered events still tell
    if kind == "ticket_action" and isinstance(value, str):
        return {"created": "ticket_created", "delete": "ticket_deleted", "marked_spam": "ticket_spam"}.get(value, "")
    return {"status": "status_changed", "note_type": "note_added", "customer_feedback": "feedback_received",
            "priority": "ticket_updated", "responder_id": "ticket_updated", "group_id": "ticket_updated"}.get(kind, "")


def _fingerprint(payload: Any) -> str:
    """Names a fact without a time or an id: the same body is the same fact."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:24]


def to_events(delivery: Delivery) -> list[TicketEvent]:
    fields = _fields(delivery.payload)
    ticket_id = text_id(fields.get("ticket_id"), what="ticket_id")
    triggered = parse_triggered_event(_text(fields, "triggered_event"))
    situation = _situation(fields, delivery.hint, triggered)
    if situation not in EVENTS:
        return []  # a rule deskpulse does not read: kept, not counted
    at, source, suspect = event_time(None, delivery.received_at)  # Freshdesk sends no event time
    fingerprint = _fingerprint(delivery.payload)

    def base(suffix: str) -> dict[str, Any]:
        return dict(source=SOURCE, ticket_id=ticket_id, event_id=f"{ticket_id}:{fingerprint}:{suffix}",
                    occurred_at=at, time_source=source, time_suspect=suspect)

    snapshot = _snapshot(fields, base("observed"), opened=situation == "ticket_created")
    facts: list[TicketEvent] = [snapshot]
    fact = _fact(situation, fields, triggered, snapshot, base)
    if fact is not None:
        facts.append(fact)
    return facts


def _fact(situation: str, fields: dict[str, Any], triggered: tuple[str, Any] | None,
          snapshot: TicketObserved, base: Any) -> TicketEvent | None:
    if situation == "ticket_created":
        # The description is the first message, written by whoever opened the ticket.
        role = Role.AGENT if snapshot.opened_by == Role.AGENT else Role.CUSTOMER
        return _message(fields, base("message"), role=role, public=True, snapshot=snapshot)
    if situation == "customer_reply":
        return _message(fields, base("message"), role=Role.CUSTOMER, public=True, snapshot=snapshot)
    if situation == "agent_reply":
        return _message(fields, base("message"), role=Role.AGENT, public=True, snapshot=snapshot)
    if situation == "note_added":
        # Public notes are responses (Freshworks' conversation events); anything else stays internal.
        public = triggered is not None and triggered[0] == "note_type" and triggered[1] == "public"
        return _message(fields if public else {}, base("message"), role=Role.AGENT, public=public,
                        snapshot=snapshot)  # a private note is not the latest public comment
    if situation == "status_changed":
        return _status_change(triggered, snapshot, base("status"))
    if situation == "feedback_received":
        return _rating(fields, triggered, base("rated"))
    if situation in REMOVALS:
        return Removed(**base("removed"), reason=REMOVALS[situation])
    return None


def _snapshot(fields: dict[str, Any], base: dict[str, Any], *, opened: bool) -> TicketObserved:
    status_raw, priority_raw = _text(fields, "ticket_status"), _text(fields, "ticket_priority")
    source_raw = _text(fields, "ticket_source")
    channel_raw = SOURCE_IDS.get(source_raw, source_raw) if source_raw else None
    outbound = channel_raw is not None and _word(channel_raw) in OUTBOUND_SOURCES
    tags = _text(fields, "ticket_tags") or ("" if "ticket_tags" in fields else None)  # "" is no tags
    return TicketObserved(
        **base, opened=opened, opened_by=Role.AGENT if opened and outbound else None,
        subject=_text(fields, "ticket_subject"),
        channel=to_channel(channel_raw, CHANNELS) if channel_raw else None, channel_raw=channel_raw,
        status=_status(status_raw), status_raw=status_raw,
        priority=_priority(priority_raw), priority_raw=priority_raw,
        tags=None if tags is None else tuple(t.strip() for t in tags.split(",") if t.strip()),
        ticket_type=_text(fields, "ticket_type"),
        requester=_person(_text(fields, "requester_name"), _text(fields, "requester_email")),
        assignee=_person(_text(fields, "ticket_agent_name"), _text(fields, "ticket_agent_email")),
        group=_text(fields, "ticket_group_name"),
    )


def _word(raw: str) -> str:
    return raw.strip().lower().replace(" ", "_").replace("-", "_")


def _status(raw: str | None) -> Status | None:
    if not raw:
        return None
    return STATUS_IDS.get(raw) or to_status(raw, STATUS_WORDS)  # custom statuses: None, the raw word is kept


def _priority(raw: str | None) -> Priority | None:
    return (PRIORITY_IDS.get(raw) or to_priority(raw)) if raw else None


def _person(name: str | None, email: str | None) -> Person | None:
    return Person(id=email or name, name=name, email=email) if name or email else None


def _message(fields: dict[str, Any], base: dict[str, Any], *, role: Role, public: bool,
             snapshot: TicketObserved) -> MessagePosted:
    """`{{ticket.latest_public_comment}}` renders as "<author name> : <html>"."""
    comment = _text(fields, "ticket_latest_public_comment") or ""
    name, separator, markup = comment.partition(" : ")
    author_name = name.strip() if separator else None
    known = snapshot.requester if role == Role.CUSTOMER else snapshot.assignee
    if known is not None and (author_name is None or author_name == known.name):
        author = known  # the requester, or the assigned agent writing
    else:
        author = Person(id=author_name, name=author_name)  # another agent: only the name is known
    return MessagePosted(**base, message_id=base["event_id"], author_role=role, author=author, public=public,
                         body=_plain(markup if separator else comment))


def _plain(markup: str) -> str:
    """The comment's text: Freshdesk renders it as HTML."""
    return " ".join(html.unescape(_TAG.sub("", _BREAK.sub(" ", markup))).split())


def _status_change(triggered: tuple[str, Any] | None, snapshot: TicketObserved,
                   base: dict[str, Any]) -> StatusChanged | None:
    change = triggered[1] if triggered is not None and triggered[0] == "status" else None
    if not isinstance(change, dict):
        return None  # the snapshot's status still tells
    status = STATUS_IDS.get(change.get("to", "")) or snapshot.status  # custom ids: the label says
    if status is None:
        return None
    return StatusChanged(**base, status=status, status_raw=snapshot.status_raw or change.get("to", ""),
                         previous=STATUS_IDS.get(change.get("from", "")))


def _rating(fields: dict[str, Any], triggered: tuple[str, Any] | None, base: dict[str, Any]) -> Rated:
    """The rule's static `rating` (no placeholder carries it), else the triggered event's value."""
    raw = _text(fields, "rating")
    if raw is None and triggered is not None and triggered[0] == "customer_feedback" and isinstance(triggered[1], str):
        raw = triggered[1] or None
    if raw is None:
        raise PayloadError("missing_rating", "a feedback rule must say its rating: type it in the rating field")
    return Rated(**base, rating=_csat(raw), scale=CsatScale.SEVEN_POINT, raw=raw)


def _csat(raw: str) -> Csat:
    try:
        rating = RATING_NUMBERS.get(int(raw.strip().lstrip("+")))
    except ValueError:
        rating = RATING_WORDS.get(_word(raw))
    if rating is None:
        raise PayloadError("out_of_range", f"{raw[:40]!r} is not a Freshdesk rating (103 … -103, or 1/2/3)")
    return rating


ADAPTER = HelpdeskAdapter(source=SOURCE, verify=verify, to_events=to_events, delivery_key=delivery_key,
                          signed_headers=signed_headers)
