"""Zendesk's REST API pages as canonical events, for `deskpulse backfill zendesk` (docs/backfill.md).

Three streams, each read page by page from a start time:
- `tickets`: the cursor-based incremental ticket export (/api/v2/incremental/tickets/cursor.json),
  one snapshot per ticket version (status, channel, tags, people, `satisfaction_rating`);
- `ticket_events`: the time-based incremental ticket event export with the `comment_events`
  sideload (/api/v2/incremental/ticket_events.json), the timeline: creation, every comment with
  its author and public flag, status, priority, tag and assignment changes, each with its time;
- `ratings`: legacy satisfaction ratings (/api/v2/satisfaction_ratings?score=received), good or
  bad, with the time they were given.

The export does not say whether a comment's author is staff, so authors are classified with the
account's staff list (/api/v2/users?role[]=agent&role[]=admin): staff is an agent, user -1 is
Zendesk itself (system), anyone else the customer. That is the webhook adapter's rule
(`author.is_staff`, user -1), so both paths give the same roles.

Ids line up with storage/ingest/adapters/zendesk.py: ticket key `zendesk:<id>`, message id = the
comment id (the comment child event's id is the comment's id), people by user id. Event ids start
with `api:` and are built from Zendesk's own ids, so a page fetched twice adds nothing.

A ticket merged into another (tag `closed_by_merge`, closed via `merge`) leaves every metric,
as the webhook's `ticket.merged` makes it.

Only tickets created since the backfill's start time are imported, each with its whole history:
a ticket created earlier would arrive with half a timeline (its first reply and first solve
before the window), and its numbers would be wrong. `eligible` carries the tickets whose
creation an earlier page brought.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from metrics.model import (
    Assigned,
    CsatScale,
    MessagePosted,
    Person,
    PriorityChanged,
    Rated,
    RemovalReason,
    Removed,
    Role,
    StatusChanged,
    TagsChanged,
    TicketEvent,
    TicketObserved,
)
from storage.ingest.adapters.contract import (
    PayloadError,
    event_time,
    normalize_rating,
    optional_text,
    optional_time,
    require_object,
    text_id,
    to_channel,
    to_priority,
    to_status,
)
from storage.ingest.adapters.zendesk import CHANNELS, SOURCE, SYSTEM_USER_ID

TICKETS, TICKET_EVENTS, RATINGS = "tickets", "ticket_events", "ratings"
STREAMS = (TICKETS, TICKET_EVENTS, RATINGS)  # in this order: snapshots, then timelines, then ratings
STAFF_PATH = "/api/v2/users"
STAFF_QUERY = (("role[]", "agent"), ("role[]", "admin"), ("page[size]", "100"))
_COMMENT_TYPES = ("Comment", "VoiceComment")
_FIELDS = ("status", "priority", "tags", "assignee_id", "group_id", "subject", "type", "requester_id")
MERGE_TAG = "closed_by_merge"  # what Zendesk tags a ticket with when it closes it by merging it into another
MERGE_VIA = ("merge", "19")  # the via type of an update made by a merge, by name or id (Via types reference)
RECEIVED_SCORES = ("good", "bad")  # "offered" and "unoffered" say a survey was (not) sent: no answer


@dataclass(frozen=True)
class Page:
    """What one page of a stream says, and where the stream goes next."""

    events: list[TicketEvent]
    next: str | None  # path and query of the next request; None: nothing further to ask
    done: bool  # the stream has reached the present: `next` only brings later changes
    reached: datetime | None = None  # how far in time the stream has come (progress)
    created: frozenset[str] = field(default_factory=frozenset)  # tickets whose creation this page holds
    superseded: tuple[str, ...] = ()  # event ids of facts this page's facts replace (see `rating_page`)


def first_request(stream: str, since: datetime) -> str:
    """The path and query that starts `stream` at `since`."""
    start = str(int(since.timestamp()))
    if stream == TICKETS:
        return _path("/api/v2/incremental/tickets/cursor.json", [("start_time", start)])
    if stream == TICKET_EVENTS:
        return _path("/api/v2/incremental/ticket_events.json", [("start_time", start), ("include", "comment_events")])
    if stream == RATINGS:
        return _path("/api/v2/satisfaction_ratings", [("score", "received"), ("start_time", start),
                                                      ("page[size]", "100")])
    raise ValueError(f"no stream called {stream!r}")


def staff_request() -> str:
    return _path(STAFF_PATH, list(STAFF_QUERY))


def _path(path: str, query: list[tuple[str, str]]) -> str:
    return f"{path}?{urlencode(query)}"


def relative(url: str | None) -> str | None:
    """Path and query of a URL Zendesk gave: the client only ever asks its own host, so a
    next-page link can never send the credentials elsewhere."""
    if not url:
        return None
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _with_param(path: str, name: str, value: str) -> str:
    parts = urlsplit(path)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != name] + [(name, value)]
    return _path(parts.path, query)


# --- staff ---------------------------------------------------------------------------------


def staff_page(payload: Any) -> tuple[dict[str, str], str | None]:
    """Agents and admins by user id (with their names), and the next page of the list."""
    body = require_object(payload, what="the users page")
    staff = {}
    for user in _list(body, "users"):
        if str(user.get("role", "")).lower() in ("agent", "admin"):
            staff[text_id(user.get("id"), what="users[].id")] = str(user.get("name") or "")
    more = bool(require_object(body.get("meta", {}), what="meta").get("has_more"))
    links = require_object(body.get("links", {}), what="links")
    return staff, relative(links.get("next")) if more else None


# --- tickets (cursor-based incremental export) ----------------------------------------------


def ticket_page(payload: Any, *, since: datetime, eligible: Iterable[str], received_at: datetime) -> Page:
    """Snapshots of the tickets created since `since` (or already imported)."""
    body = require_object(payload, what="the tickets page")
    known = set(eligible)
    events: list[TicketEvent] = []
    reached = None
    for ticket in _list(body, "tickets"):
        ticket_id = text_id(ticket.get("id"), what="tickets[].id")
        created = optional_time(ticket.get("created_at"))
        updated, source, suspect = event_time(ticket.get("updated_at"), received_at)
        reached = max(reached, updated) if reached else updated
        if ticket_id not in known and (created is None or created < since):
            continue
        events += _ticket_snapshot(ticket, ticket_id, created, dict(
            source=SOURCE, ticket_id=ticket_id, occurred_at=updated, time_source=source, time_suspect=suspect))
    done = body.get("end_of_stream") is True
    cursor = optional_text(body.get("after_cursor"), what="after_cursor")
    following = relative(optional_text(body.get("after_url"), what="after_url"))
    if following is None and cursor:
        following = _path("/api/v2/incremental/tickets/cursor.json", [("cursor", cursor)])
    return Page(events, following, done, reached)


def _ticket_snapshot(ticket: dict[str, Any], ticket_id: str, created: datetime | None,
                     base: dict[str, Any]) -> list[TicketEvent]:
    via = ticket.get("via") if isinstance(ticket.get("via"), dict) else {}
    channel = optional_text(via.get("channel"), what="via.channel")
    status = optional_text(ticket.get("status"), what="status")
    priority = optional_text(ticket.get("priority"), what="priority")
    tags = ticket.get("tags")
    if tags is not None and not (isinstance(tags, list) and all(isinstance(t, str) for t in tags)):
        raise PayloadError("wrong_type", f"ticket {ticket_id}: tags must be a list of strings")
    stamp = int(base["occurred_at"].timestamp())
    facts: list[TicketEvent] = [TicketObserved(
        **base, event_id=f"api:ticket:{ticket_id}:{stamp}", created_at=created,
        subject=optional_text(ticket.get("subject"), what="subject"),
        channel=to_channel(channel, CHANNELS) if channel else None, channel_raw=channel,
        status=to_status(status) if status else None, status_raw=status,
        priority=to_priority(priority) if priority else None, priority_raw=priority,
        tags=None if tags is None else tuple(tags), ticket_type=optional_text(ticket.get("type"), what="type"),
        requester=_person(ticket.get("requester_id")), assignee=_person(ticket.get("assignee_id")),
        group=optional_text(ticket.get("group_id"), what="group_id"),
        organization=optional_text(ticket.get("organization_id"), what="organization_id"))]
    if status == "deleted":  # the export lists deleted tickets too; the webhook says soft_deleted
        facts.append(Removed(**base, event_id=f"api:removed:{ticket_id}", reason=RemovalReason.DELETED))
    elif tags and MERGE_TAG in tags:
        facts.append(_merged(base, ticket_id))
    rated = _snapshot_rating(ticket.get("satisfaction_rating"), ticket_id, base)
    if rated is not None:
        facts.append(rated)
    return facts


def _merged(base: dict[str, Any], ticket_id: str) -> Removed:
    """The ticket was merged into another: it leaves every metric, its target stays.

    One event id whichever stream tells it (snapshot or update), so it is stored once.
    """
    return Removed(**base, event_id=f"api:merged:{ticket_id}", reason=RemovalReason.MERGED)


def _snapshot_rating(value: Any, ticket_id: str, base: dict[str, Any]) -> Rated | None:
    """The ticket's `satisfaction_rating` ({id, score, comment}) as a rating, when it was answered.

    The snapshot does not say when the rating was given, so it is dated at the ticket's last
    update and flagged as a suspect time; the ratings list, which dates it, replaces it
    (`rating_page`). It still counts ratings the list does not hold.
    """
    if not isinstance(value, dict):
        return None  # null: no CSAT on the plan, or none yet
    score = str(value.get("score") or "").lower()
    if score not in RECEIVED_SCORES or value.get("id") in (None, ""):
        return None
    rating, _ = normalize_rating(CsatScale.GOOD_BAD, score)
    rating_id = text_id(value.get("id"), what=f"ticket {ticket_id}: satisfaction_rating.id")
    return Rated(**{**base, "time_suspect": True}, event_id=snapshot_rating_id(rating_id, score), rating=rating,
                 scale=CsatScale.GOOD_BAD, raw=score,
                 comment=optional_text(value.get("comment"), what="satisfaction_rating.comment"))


def snapshot_rating_id(rating_id: str, score: str) -> str:
    return f"api:rating:{rating_id}:ticket:{score}"


def _person(value: Any, names: Mapping[str, str] | None = None) -> Person | None:
    if value in (None, "", 0, "0"):
        return None
    ident = text_id(value, what="a user id")
    return Person(id=ident, name=(names or {}).get(ident) or None)


# --- ticket events (time-based incremental export with comment_events) ---------------------


def event_page(payload: Any, *, staff: Mapping[str, str], eligible: Iterable[str], received_at: datetime) -> Page:
    """The timeline facts of each update; updates of tickets created before the window are skipped."""
    body = require_object(payload, what="the ticket events page")
    known, created = set(eligible), set()
    events: list[TicketEvent] = []
    reached = None
    for audit in _list(body, "ticket_events"):
        ticket_id = text_id(audit.get("ticket_id"), what="ticket_events[].ticket_id")
        at, source, suspect = event_time(audit.get("created_at") or audit.get("timestamp"), received_at)
        reached = max(reached, at) if reached else at
        children = audit.get("child_events") or []
        if not isinstance(children, list):
            raise PayloadError("wrong_type", f"ticket {ticket_id}: child_events must be a list")
        children = [require_object(c, what="child_events[]") for c in children]
        if any(_kind(c) == "Create" for c in children):
            created.add(ticket_id)
        if ticket_id not in known | created:
            continue
        base = dict(source=SOURCE, ticket_id=ticket_id, occurred_at=at, time_source=source, time_suspect=suspect)
        events += _audit_facts(audit, children, base, staff)
    done = body.get("end_of_stream") is True
    following = relative(optional_text(body.get("next_page"), what="next_page"))
    if following is not None and "include=" not in following:
        following = _with_param(following, "include", "comment_events")
    return Page(events, following, done, reached, frozenset(created))


def _kind(child: dict[str, Any]) -> str:
    return str(child.get("event_type") or child.get("type") or "")


def _audit_facts(audit: dict[str, Any], children: list[dict[str, Any]], base: dict[str, Any],
                 staff: Mapping[str, str]) -> list[TicketEvent]:
    facts: list[TicketEvent] = []
    creates = [c for c in children if _kind(c) == "Create"]
    if creates:
        facts.append(_creation(audit, creates, base))
    for child in children:
        kind = _kind(child)
        if kind in _COMMENT_TYPES:
            facts.append(_comment(child, base, staff))
        elif kind == "Change":
            fact = _change(child, base)
            if fact is not None:
                facts.append(fact)
    if _merged_away(audit, children):
        facts.append(_merged(base, base["ticket_id"]))
    return facts


def _merged_away(audit: dict[str, Any], children: list[dict[str, Any]]) -> bool:
    """Whether this update closed the ticket by merging it into another.

    Zendesk tags the merged-away ticket `closed_by_merge` and closes it, in an update made via
    `merge`. The target gets an update via `merge` too (the merge note), but is neither closed
    nor tagged, so it stays.
    """
    tagged = closed = False
    for child in children:
        found = _field(child) if _kind(child) == "Change" else None
        if found is None:
            continue
        name, value = found
        tagged = tagged or (name == "tags" and MERGE_TAG in _added_tags(child, value))
        closed = closed or (name == "status" and str(value).lower() == "closed")
    return tagged or (closed and _via_merge(audit))


def _added_tags(child: dict[str, Any], value: Any) -> list[str]:
    added = child.get("added_tags")
    if added is None:
        before = _words(child.get("previous_value"))
        return [t for t in _words(value) if t not in before]
    return [str(t) for t in added] if isinstance(added, list) else []


def _via_merge(audit: dict[str, Any]) -> bool:
    """The update's `via`: a word in the export ("Merge"), a via object in the audits API
    ({"channel": "merge", "source": {"rel": "merge", ...}})."""
    via = audit.get("via")
    if isinstance(via, dict):
        source = via.get("source") if isinstance(via.get("source"), dict) else {}
        return str(via.get("channel", "")).lower() in MERGE_VIA or str(source.get("rel") or "").lower() == "merge"
    return str(via or "").strip().lower() in MERGE_VIA


def _field(child: dict[str, Any]) -> tuple[str, Any] | None:
    """Which field a Create/Change child sets: the export flattens it (`"status": "open"`),
    the audits API names it (`field_name`, `value`); both are read."""
    if child.get("field_name"):
        return str(child["field_name"]), child.get("value")
    for name in _FIELDS:
        if name in child:
            return name, child[name]
    return None


def _creation(audit: dict[str, Any], creates: list[dict[str, Any]], base: dict[str, Any]) -> TicketObserved:
    fields = dict(f for c in creates if (f := _field(c)) is not None)
    via = optional_text(audit.get("via") if not isinstance(audit.get("via"), dict) else
                        audit["via"].get("channel"), what="via")
    status = optional_text(fields.get("status"), what="status")
    priority = optional_text(fields.get("priority"), what="priority")
    tags = fields.get("tags")
    return TicketObserved(
        **base, event_id=f"api:created:{base['ticket_id']}", opened=True, created_at=base["occurred_at"],
        subject=optional_text(fields.get("subject"), what="subject"),
        channel=to_channel(via, CHANNELS) if via else None, channel_raw=via,
        status=to_status(status) if status else None, status_raw=status,
        priority=to_priority(priority) if priority else None, priority_raw=priority,
        tags=tuple(map(str, tags)) if isinstance(tags, list) else None,
        ticket_type=optional_text(fields.get("type"), what="type"),
        requester=_person(fields.get("requester_id")), assignee=_person(fields.get("assignee_id")),
        group=optional_text(fields.get("group_id"), what="group_id"))


def _comment(child: dict[str, Any], base: dict[str, Any], staff: Mapping[str, str]) -> MessagePosted:
    comment_id = text_id(child.get("id"), what="a comment's id")
    author = child.get("author_id")
    author_id = None if author is None else text_id(author, what="a comment's author_id")
    # The webhook adapter's rule: Zendesk's own user is the system, staff are agents.
    role = Role.SYSTEM if author_id == SYSTEM_USER_ID else Role.AGENT if author_id in staff else Role.CUSTOMER
    public = child.get("public", True)
    if not isinstance(public, bool):
        raise PayloadError("wrong_type", f"comment {comment_id}: public must be true or false")
    when = dict(base)
    if child.get("created_at"):
        when["occurred_at"], when["time_source"], when["time_suspect"] = event_time(
            child["created_at"], base["occurred_at"])
    body = optional_text(child.get("plain_body") or child.get("body"), what="a comment's body") or ""
    return MessagePosted(**when, event_id=f"api:comment:{comment_id}", message_id=comment_id, author_role=role,
                         author=Person(id=author_id, name=staff.get(author_id or "") or None), public=public,
                         body=body)


def _change(child: dict[str, Any], base: dict[str, Any]) -> TicketEvent | None:
    found = _field(child)
    if found is None:
        return None
    name, value = found
    event_id = f"api:change:{text_id(child.get('id'), what='a change id')}"
    previous = child.get("previous_value")
    if name == "status":
        word = optional_text(value, what="status") or ""
        if word == "deleted":
            return Removed(**base, event_id=event_id, reason=RemovalReason.DELETED)
        status = to_status(word)
        before = previous if isinstance(previous, str) and previous else None
        return StatusChanged(**base, event_id=event_id, status=status, status_raw=word,
                             previous=to_status(before) if before else None) if status else None
    if name == "priority":
        word = optional_text(value, what="priority") or ""
        priority = to_priority(word)
        return PriorityChanged(**base, event_id=event_id, priority=priority, priority_raw=word) if priority else None
    if name == "tags":
        return _tags(child, value, previous, base, event_id)
    if name == "assignee_id":
        return Assigned(**base, event_id=event_id, assignee=_person(value) or Person())
    if name == "group_id":
        return Assigned(**base, event_id=event_id, assignee=None, group=optional_text(value, what="group_id"))
    return None


def _tags(child: dict[str, Any], value: Any, previous: Any, base: dict[str, Any], event_id: str) -> TagsChanged:
    added, removed = child.get("added_tags"), child.get("removed_tags")
    if added is None and removed is None:  # only the lists before and after: their difference
        now, before = _words(value), _words(previous)
        added, removed = [t for t in now if t not in before], [t for t in before if t not in now]
    return TagsChanged(**base, event_id=event_id, added=tuple(map(str, added or ())),
                       removed=tuple(map(str, removed or ())))


def _words(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value or "").split()


# --- satisfaction ratings -------------------------------------------------------------------


def rating_page(payload: Any, *, eligible: Iterable[str], received_at: datetime, restart: str) -> Page:
    """Good and bad ratings of imported tickets; offered-but-unanswered ones are not ratings.

    This list has no "from here on" cursor: once it is read to the end, `restart` (the run's
    first request) is where the next run reads it again; ratings already stored stay as they are.
    A rating listed here replaces the undated one a ticket snapshot gave (`superseded`).
    """
    body = require_object(payload, what="the ratings page")
    known = set(eligible)
    events: list[TicketEvent] = []
    superseded: list[str] = []
    reached = None
    for rating in _list(body, "satisfaction_ratings"):
        score = str(rating.get("score") or "").lower()
        ticket_id = text_id(rating.get("ticket_id"), what="satisfaction_ratings[].ticket_id")
        at, source, suspect = event_time(rating.get("updated_at") or rating.get("created_at"), received_at)
        reached = max(reached, at) if reached else at
        if score not in RECEIVED_SCORES or ticket_id not in known:
            continue
        value, _ = normalize_rating(CsatScale.GOOD_BAD, score)
        rating_id = text_id(rating.get("id"), what="satisfaction_ratings[].id")
        superseded += [snapshot_rating_id(rating_id, s) for s in RECEIVED_SCORES]
        events.append(Rated(source=SOURCE, ticket_id=ticket_id, occurred_at=at, time_source=source,
                            time_suspect=suspect, event_id=f"api:rating:{rating_id}:{int(at.timestamp())}",
                            rating=value, scale=CsatScale.GOOD_BAD, raw=score,
                            comment=optional_text(rating.get("comment"), what="comment"),
                            agent=_person(rating.get("assignee_id"))))
    meta = require_object(body.get("meta", {}), what="meta")
    links = require_object(body.get("links", {}), what="links")
    more = bool(meta.get("has_more"))
    return Page(events, relative(links.get("next")) if more else restart, not more, reached,
                superseded=tuple(superseded))


def ticket_ids(payload: Any, stream: str) -> list[str]:
    """The tickets a page is about (to look up which were imported before)."""
    key, field_name = {TICKETS: ("tickets", "id"), TICKET_EVENTS: ("ticket_events", "ticket_id"),
                       RATINGS: ("satisfaction_ratings", "ticket_id")}[stream]
    body = require_object(payload, what="the page")
    return sorted({str(item.get(field_name)) for item in _list(body, key) if item.get(field_name) is not None})


def _list(body: dict[str, Any], key: str) -> list[dict[str, Any]]:
    items = body.get(key)
    if items is None:
        raise PayloadError("missing_field", f"the page has no {key!r} list")
    if not isinstance(items, list):
        raise PayloadError("wrong_type", f"{key} must be a list")
    return [require_object(item, what=f"{key}[]") for item in items]
