"""Gorgias: HTTP integrations (docs/connect-gorgias.md).

Authentication: Gorgias cannot sign a request; an HTTP integration sends the static headers
its admin configures. deskpulse expects `X-Deskpulse-Token: <secret>` and compares it in
constant time. There is no signed timestamp, so no replay window applies.

Event naming: the trigger (`ticket-created`, `ticket-updated`, `ticket-message-created`, ...)
is not in the body, so each trigger gets its own integration and URL,
/webhooks/gorgias/<trigger>; a static `event` field in the body works too. The body is the
integration's context (`{"ticket": {...}, "message": {...}}`): Gorgias' own Ticket and
TicketMessage objects.

Quirks: `from_agent` false is the customer; true with a `rule_id` is a rule (an automation,
never a reply); true without one is a teammate. `public` false is an internal note. Datetimes
may lack a UTC offset: they are UTC. A snoozed ticket is "closed" with a `snooze_datetime`
until the snooze ends: deskpulse reads it as on hold, not resolved. No trigger fires when a
satisfaction survey is answered; a score is read only if a later ticket update carries it.

Spam and the trash are fields of the ticket, not events: `spam` true removes it, and so does a
`trashed_datetime` (at that moment). Since every update sends the whole ticket, an update that
says `spam: false` and `trashed_datetime: null` says the ticket is in at that moment, which is how
a ticket marked "not spam" or taken out of the trash comes back. Only a ticket that says both is
read so: a form that leaves either field out tells nothing about it.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from metrics.model import (
    Channel,
    CsatScale,
    MessagePosted,
    Person,
    Priority,
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
    TOKEN_HEADER,
    AuthError,
    Delivery,
    Headers,
    HelpdeskAdapter,
    PayloadError,
    event_time,
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

SOURCE = "gorgias"
TICKET_CREATED, TICKET_UPDATED, MESSAGE_CREATED = "ticket-created", "ticket-updated", "ticket-message-created"
# An unsnoozed ticket is an update like any other; a failed send is no customer-facing fact.
TRIGGERS = {TICKET_CREATED: TICKET_CREATED, TICKET_UPDATED: TICKET_UPDATED, MESSAGE_CREATED: MESSAGE_CREATED,
            "ticket-self-unsnoozed": TICKET_UPDATED}

CHANNELS = {"aircall": Channel.PHONE, "help-center": Channel.WEB, "contact_form": Channel.WEB,
            "contact-form": Channel.WEB, "internal-note": Channel.OTHER}
SOCIAL_PREFIXES = ("facebook", "instagram", "twitter", "whatsapp", "tiktok", "yotpo")
PRIORITIES = {"critical": Priority.URGENT}


# --- authentication ---------------------------------------------------------------------


def verify(headers: Headers, body: bytes, secret: str, now: datetime, max_age: int) -> None:
    """The static header, compared in constant time; nothing is signed, so no time to check."""
    token = headers.get(TOKEN_HEADER)
    if token is None:
        raise AuthError("missing_token", "header X-Deskpulse-Token is missing")
    if not same_signature(secret, token):
        raise AuthError("bad_token", "X-Deskpulse-Token is not the secret")


def signed_headers(secret: str, body: bytes, now: datetime) -> dict[str, str]:
    return {"content-type": "application/json", TOKEN_HEADER: secret}


def _situation(payload: dict[str, Any], hint: str | None) -> str:
    named = payload.get("event") if isinstance(payload.get("event"), str) else None
    name = (named or hint or "").strip().lower().replace("_", "-")
    if name:
        return TRIGGERS.get(name, name)
    # No name given: a message says it, a bare ticket is an update.
    return MESSAGE_CREATED if "message" in payload else TICKET_UPDATED


def delivery_key(delivery: Delivery) -> str | None:
    """Gorgias has no delivery id: a message is named by its id, a ticket by its update time."""
    payload = delivery.payload
    if not isinstance(payload, dict):
        return None
    situation = _situation(payload, delivery.hint)
    message, ticket = payload.get("message"), payload.get("ticket")
    if situation == MESSAGE_CREATED and isinstance(message, dict) and message.get("id") not in (None, ""):
        return f"{SOURCE}:message:{message['id']}"
    if isinstance(ticket, dict) and ticket.get("id") not in (None, "") and ticket.get("updated_datetime"):
        return f"{SOURCE}:{situation}:{ticket['id']}:{ticket['updated_datetime']}"
    return None


# --- payload ----------------------------------------------------------------------------


def to_events(delivery: Delivery) -> list[TicketEvent]:
    payload = require_object(delivery.payload, what="the body")
    situation = _situation(payload, delivery.hint)
    if situation not in (TICKET_CREATED, TICKET_UPDATED, MESSAGE_CREATED):
        return []  # ticket-message-failed, or a trigger deskpulse does not read: kept, not counted
    facts: list[TicketEvent] = []
    ticket = payload.get("ticket")
    if ticket is not None or situation != MESSAGE_CREATED:
        ticket = require_object(ticket, what="ticket")
        facts += _ticket_facts(ticket, opened=situation == TICKET_CREATED, received_at=delivery.received_at)
    if situation == MESSAGE_CREATED:
        message = require_object(payload.get("message"), what="message")
        ticket_id = message.get("ticket_id") or (ticket or {}).get("id")
        posted = _message(message, text_id(ticket_id, what="message.ticket_id"), delivery.received_at)
        if all(fact.event_id != posted.event_id for fact in facts):  # the ticket may list it already
            facts.append(posted)
    return facts


def _ticket_facts(ticket: dict[str, Any], *, opened: bool, received_at: datetime) -> list[TicketEvent]:
    ticket_id = text_id(ticket.get("id"), what="ticket.id")
    stamp = ticket.get("created_datetime") if opened else (ticket.get("updated_datetime")
                                                           or ticket.get("created_datetime"))
    at, source, suspect = event_time(stamp, received_at)
    version = "created" if opened else f"updated:{stamp or _fingerprint(ticket)}"

    def base(suffix: str, when: tuple[datetime, Any, bool] = (at, source, suspect)) -> dict[str, Any]:
        return dict(source=SOURCE, ticket_id=ticket_id, event_id=f"{ticket_id}:{suffix}",
                    occurred_at=when[0], time_source=when[1], time_suspect=when[2])

    snapshot = _snapshot(ticket, base(f"{version}:observed"), opened=opened)
    facts: list[TicketEvent] = [snapshot]
    closed_at = ticket.get("closed_datetime")
    if snapshot.status == Status.CLOSED and closed_at:
        # The moment it was closed, even when the update that closed it never arrived.
        facts.append(StatusChanged(**base(f"closed:{closed_at}", event_time(closed_at, received_at)),
                                   status=Status.CLOSED, status_raw="closed"))
    messages = ticket.get("messages") or []
    if not isinstance(messages, list):
        raise PayloadError("wrong_type", "ticket.messages must be a list")
    facts += [_message(require_object(m, what="ticket.messages[]"), ticket_id, received_at) for m in messages]
    rated = _survey(ticket.get("satisfaction_survey"), base, received_at)
    if rated is not None:
        facts.append(rated)
    facts += _removals(ticket, base, received_at, version=version, opened=opened)
    return facts


def _fingerprint(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:24]


def _snapshot(ticket: dict[str, Any], base: dict[str, Any], *, opened: bool) -> TicketObserved:
    channel_raw = optional_text(ticket.get("channel"), what="ticket.channel")
    priority_raw = optional_text(ticket.get("priority"), what="ticket.priority")
    status, status_raw = _status(ticket, base["occurred_at"])
    from_agent = ticket.get("from_agent")
    team = ticket.get("assignee_team") if isinstance(ticket.get("assignee_team"), dict) else {}
    return TicketObserved(
        **base, opened=opened, created_at=optional_time(ticket.get("created_datetime")),
        opened_by=Role.AGENT if opened and from_agent is True else None,
        subject=optional_text(ticket.get("subject"), what="ticket.subject"),
        channel=_channel(channel_raw) if channel_raw else None, channel_raw=channel_raw,
        status=status, status_raw=status_raw,
        priority=(PRIORITIES.get(priority_raw.lower()) or to_priority(priority_raw)) if priority_raw else None,
        priority_raw=priority_raw, tags=_tags(ticket.get("tags")),
        requester=_person(ticket.get("customer"), what="ticket.customer"),
        assignee=_person(ticket.get("assignee_user"), what="ticket.assignee_user"),
        group=optional_text(team.get("name"), what="ticket.assignee_team.name"),
    )


def _status(ticket: dict[str, Any], at: datetime) -> tuple[Status | None, str | None]:
    """Gorgias counts a snoozed ticket as closed until the snooze ends; deskpulse holds it."""
    raw = optional_text(ticket.get("status"), what="ticket.status")
    if raw is None:
        return None, None
    snooze_until = optional_time(ticket.get("snooze_datetime"))
    if raw.strip().lower() == "closed" and snooze_until is not None and snooze_until > at:
        return Status.ON_HOLD, "snoozed"
    return to_status(raw), raw


def _channel(raw: str) -> Channel:
    word = raw.strip().lower()
    if word.replace("_", "-").split("-")[0] in SOCIAL_PREFIXES:
        return Channel.SOCIAL
    return to_channel(raw, CHANNELS)


def _tags(value: Any) -> tuple[str, ...] | None:
    """Tags are objects ({"id", "name"}) in the API; plain strings are accepted too."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise PayloadError("wrong_type", "ticket.tags must be a list")
    names = [t.get("name") if isinstance(t, dict) else t for t in value]
    if not all(isinstance(n, str) for n in names):
        raise PayloadError("wrong_type", "ticket.tags must be names or {\"name\": ...} objects")
    return tuple(names)


def _person(value: Any, *, what: str) -> Person | None:
    if value is None:
        return None  # unassigned, or not in the payload
    value = require_object(value, what=what)
    ident = value.get("id")
    return Person(id=None if ident in (None, "") else text_id(ident, what=f"{what}.id"),
                  name=optional_text(value.get("name"), what=f"{what}.name") or None,
                  email=optional_text(value.get("email"), what=f"{what}.email") or None)


def _flag(message: dict[str, Any], name: str, default: bool | None = None) -> bool:
    value = message.get(name, default)
    if not isinstance(value, bool):
        raise PayloadError("wrong_type", f"message.{name} must be true or false")
    return value


def _message(message: dict[str, Any], ticket_id: str, received_at: datetime) -> MessagePosted:
    message_id = text_id(message.get("id"), what="message.id")
    if not _flag(message, "from_agent"):
        role = Role.CUSTOMER
    else:  # a rule's message looks like a teammate's but for its rule_id
        role = Role.BOT if message.get("rule_id") not in (None, "", 0) else Role.AGENT
    at, source, suspect = event_time(message.get("created_datetime") or message.get("sent_datetime"), received_at)
    body = optional_text(message.get("stripped_text") or message.get("body_text"), what="message.body_text")
    return MessagePosted(source=SOURCE, ticket_id=ticket_id, event_id=f"{ticket_id}:message:{message_id}",
                         occurred_at=at, time_source=source, time_suspect=suspect, message_id=message_id,
                         author_role=role, author=_person(message.get("sender"), what="message.sender") or Person(),
                         public=_flag(message, "public", True), body=body or "")


def _survey(survey: Any, base: Any, received_at: datetime) -> Rated | None:
    """A scored survey on the ticket (1-5); Gorgias has no trigger for the answer itself."""
    if not isinstance(survey, dict) or survey.get("score") in (None, ""):
        return None
    rating, score = normalize_rating(CsatScale.ONE_TO_FIVE, survey["score"])
    scored_at = survey.get("scored_datetime")
    return Rated(**base(f"survey:{survey.get('id', '')}:{scored_at}", event_time(scored_at, received_at)),
                 rating=rating, scale=CsatScale.ONE_TO_FIVE, raw=str(survey["score"]), score=score,
                 comment=optional_text(survey.get("body_text"), what="satisfaction_survey.body_text"))


def _removals(ticket: dict[str, Any], base: Any, received_at: datetime, *, version: str,
              opened: bool) -> list[TicketEvent]:
    """Spam and trash as this version of the ticket shows them (named per version, so that a
    ticket flagged, cleared and flagged again is flagged twice)."""
    gone: list[TicketEvent] = []
    if ticket.get("spam") is True:
        gone.append(Removed(**base(f"{version}:spam"), reason=RemovalReason.SPAM))
    trashed = ticket.get("trashed_datetime")
    if trashed:
        gone.append(Removed(**base(f"trashed:{trashed}", event_time(trashed, received_at)),
                            reason=RemovalReason.DELETED))
    says_both = "spam" in ticket and "trashed_datetime" in ticket
    if says_both and not gone and ticket["spam"] is False and not opened:  # a new ticket has nothing to undo
        gone.append(Restored(**base(f"{version}:in")))
    return gone


ADAPTER = HelpdeskAdapter(source=SOURCE, verify=verify, to_events=to_events, delivery_key=delivery_key,
                          signed_headers=signed_headers)
