"""Ticket events and the tickets folded from them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple

from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session

from metrics.model import (
    Channel,
    Csat,
    CsatScale,
    MessagePosted,
    Person,
    Priority,
    RemovalReason,
    Role,
    Status,
    TicketEvent,
    customer_key,
)
from metrics.tickets import OpenSpan, PublicMessage, Ticket, fold_ticket
from storage import rollups
from storage.codec import event_from_json, event_to_json
from storage.db import dialect_insert, is_postgres
from storage.tables import (
    TicketEventRow,
    TicketMessage,
    TicketRow,
    TicketSpan,
    TicketTag,
    span_length_class,
    tag_set,
    ticket_tags,
)


def save_events_many(session: Session, batch: Sequence[tuple[int | None, Sequence[TicketEvent]]]) -> None:
    """Store new facts, each with the delivery that brought it; a fact seen before is skipped."""
    rows = [_event_row(e, delivery_id) for delivery_id, events in batch for e in events]
    if rows:
        statement = dialect_insert(session, TicketEventRow.__table__).on_conflict_do_nothing(
            index_elements=["source", "event_id"])
        session.connection().execute(statement, rows)


def _event_row(event: TicketEvent, delivery_id: int | None) -> dict[str, Any]:
    message = event if isinstance(event, MessagePosted) else None
    return {
        "source": event.source, "event_id": event.event_id[:300], "ticket_key": event.ticket_key[:200],
        "kind": event.kind, "occurred_at": event.occurred_at, "time_suspect": event.time_suspect,
        "author_role": message.author_role.value if message else None,
        "author_id": (message.author.id or message.author.name) if message else None,
        "public": message.public if message else None,
        "delivery_id": delivery_id, "data": event_to_json(event),
    }


def events_of(session: Session, key: str) -> list[TicketEvent]:
    """Every fact about one ticket, in the order they happened."""
    rows = session.scalars(select(TicketEventRow.data).where(TicketEventRow.ticket_key == key)
                           .order_by(TicketEventRow.occurred_at, TicketEventRow.id))
    return [event_from_json(data) for data in rows]


class Fold(NamedTuple):
    """Tickets folded from their stored facts plus new ones (see `fold_with`)."""

    tickets: list[Ticket]
    failures: dict[str, Exception]  # per ticket key, the error of a fold that failed
    unseen: list[TicketEvent]  # the new facts that were neither stored nor earlier in the batch


def fold_with(session: Session, new_events: Sequence[TicketEvent]) -> Fold:
    """Fold every ticket the new events touch, from its stored events plus the new ones.

    Nothing is written, so callers can fold before taking SQLite's write lock. The facts
    it reports unseen are the only ones worth writing: helpdesks that send a whole
    conversation with every update repeat most facts, and writing them again only to
    have the insert skip them costs as much as the fold.
    """
    keys = sorted({e.ticket_key for e in new_events})
    if not keys:
        return Fold([], {}, [])
    if is_postgres(session):
        # Two replicas folding one ticket at once would each miss the other's events;
        # locks are taken in key order so that they cannot deadlock.
        session.execute(text("SELECT count(pg_advisory_xact_lock(hashtext(k))) FROM unnest(CAST(:keys AS text[])) k"),
                        {"keys": keys})
    facts: dict[str, dict[tuple[str, str], TicketEvent]] = {key: {} for key in keys}
    for start in range(0, len(keys), 500):
        query = (select(TicketEventRow.ticket_key, TicketEventRow.data)
                 .where(TicketEventRow.ticket_key.in_(keys[start:start + 500])))
        for key, data in session.execute(query):
            event = event_from_json(data)
            facts[key][(event.source, event.event_id)] = event
    unseen = []
    for event in new_events:  # a fact already stored (or earlier in the batch) stays as it was
        known = facts[event.ticket_key]
        if (event.source, event.event_id) not in known:
            known[(event.source, event.event_id)] = event
            unseen.append(event)
    folded, failures = [], {}
    for key, events in facts.items():
        try:
            folded.append(fold_ticket(events.values()))
        except Exception as exc:  # a bug in the fold must not block other tickets
            failures[key] = exc
    return Fold(folded, failures, unseen)


def refresh(session: Session, keys: Iterable[str]) -> None:
    """Re-fold tickets from their stored events (after a change to the fold, say)."""
    keys = sorted(set(keys))
    stored = [event for key in keys for event in events_of(session, key)]
    store(session, fold_with(session, stored).tickets)


def store(session: Session, folded: Sequence[Ticket]) -> None:
    """Write folded tickets with their tags, public messages and open spans (insert or replace).
    A removed ticket (merged, spam, deleted) keeps its row but no messages or spans: metric
    reads of those tables then need no look at the ticket."""
    if not folded:
        return
    connection = session.connection()
    table = TicketRow.__table__
    statement = dialect_insert(session, table)
    upsert = statement.on_conflict_do_update(
        index_elements=["key"], set_={c.name: statement.excluded[c.name] for c in table.columns if c.name != "key"})
    connection.execute(upsert, [_row_values(t) for t in folded])
    keys = [t.key[:200] for t in folded]
    for child in (TicketTag, TicketMessage, TicketSpan):
        connection.execute(delete(child.__table__).where(child.__table__.c.ticket_key.in_(keys)))
    tags = [{"ticket_key": t.key[:200], "tag": tag} for t in folded for tag in ticket_tags(t.tags)]
    if tags:
        connection.execute(dialect_insert(session, TicketTag.__table__).on_conflict_do_nothing(), tags)
    messages = [{"ticket_key": t.key[:200], "seq": i, "at": m.at, "role": m.role.value,
                 "author": m.author[:200] if m.author else None, "wait_seconds": m.wait_seconds}
                for t in folded if t.removed is None for i, m in enumerate(t.messages)]
    if messages:
        connection.execute(TicketMessage.__table__.insert(), messages)
    spans = [{"ticket_key": t.key[:200], "seq": i, "opened_at": s.opened_at, "resolved_at": s.resolved_at,
              "resolved_by": s.resolved_by[:200] if s.resolved_by else None,
              "length_class": span_length_class(s.opened_at, s.resolved_at)}
             for t in folded if t.removed is None for i, s in enumerate(t.open_spans)]
    if spans:
        connection.execute(TicketSpan.__table__.insert(), spans)
    rollups.mark_stale(session, folded)


def requester_key(t: Ticket) -> str | None:
    return customer_key(t.source, t.requester)


def _person_columns(prefix: str, person: Person | None) -> dict[str, Any]:
    person = person or Person()
    return {f"{prefix}_id": person.id, f"{prefix}_name": person.name}


def _row_values(t: Ticket) -> dict[str, Any]:
    return {
        "key": t.key[:200], "source": t.source, "ticket_id": t.ticket_id[:160], "created_at": t.created_at,
        "created_at_known": t.created_at_known, "subject": t.subject, "channel": t.channel.value,
        "channel_raw": t.channel_raw, "status": t.status.value, "status_raw": t.status_raw,
        "is_resolved": t.is_resolved, "priority": t.priority.value if t.priority else None,
        "ticket_type": t.ticket_type, "tags": list(t.tags), "tag_set": tag_set(t.tags),
        **_person_columns("requester", t.requester),
        "requester_email": t.requester.email if t.requester else None,
        "organization": t.organization, **_person_columns("assignee", t.assignee), "group_name": t.group,
        "outbound": t.outbound, "first_response_at": t.first_response_at,
        "first_response_seconds": t.first_response_seconds,
        "response_intervals": list(t.response_intervals_seconds),
        "awaiting_reply_since": t.awaiting_reply_since, "agent_replies": t.agent_replies,
        "customer_messages": t.customer_messages, "bot_replies": t.bot_replies,
        "first_resolved_at": t.first_resolved_at, "last_resolved_at": t.last_resolved_at,
        "first_resolution_seconds": t.first_resolution_seconds,
        "full_resolution_seconds": t.full_resolution_seconds, "times_resolved": t.times_resolved,
        "reopens": t.reopens, "one_touch": t.one_touch, "abandoned": t.abandoned,
        "csat": t.csat.value if t.csat else None, "csat_raw": t.csat_raw,
        "csat_scale": t.csat_scale.value if t.csat_scale else None, "csat_score": t.csat_score,
        "csat_comment": t.csat_comment,
        "csat_agent_id": (t.csat_agent.id or t.csat_agent.name) if t.csat_agent else None,
        "rated_at": t.rated_at, "removed": t.removed.value if t.removed else None,
        "last_activity_at": t.last_activity_at, "time_suspect_events": t.time_suspect_events,
        "agents": list(t.agents), "first_responder": t.first_responder, "requester_key": requester_key(t),
    }


def get(session: Session, key: str) -> Ticket | None:
    """The stored ticket, as the metrics layer sees it."""
    row = session.get(TicketRow, key)
    return None if row is None else with_details(session, [row])[0]


def with_details(session: Session, rows: Sequence[TicketRow]) -> list[Ticket]:
    """Tickets with their messages and open spans, loaded in a few queries."""
    keys = [r.key for r in rows]
    messages: dict[str, list[PublicMessage]] = {k: [] for k in keys}
    spans: dict[str, list[OpenSpan]] = {k: [] for k in keys}
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        m = TicketMessage.__table__.c
        for key, at, role, author, wait in session.execute(
                select(m.ticket_key, m.at, m.role, m.author, m.wait_seconds)
                .where(m.ticket_key.in_(chunk)).order_by(m.ticket_key, m.seq)):
            messages[key].append(PublicMessage(at, Role(role), author, wait))
        sp = TicketSpan.__table__.c
        for key, opened, resolved, by in session.execute(
                select(sp.ticket_key, sp.opened_at, sp.resolved_at, sp.resolved_by)
                .where(sp.ticket_key.in_(chunk)).order_by(sp.ticket_key, sp.seq)):
            spans[key].append(OpenSpan(opened, resolved, by))
    return [_ticket(r, tuple(messages[r.key]), tuple(spans[r.key])) for r in rows]


def _person(ident: str | None, name: str | None, email: str | None = None) -> Person | None:
    return Person(id=ident, name=name, email=email) if ident or name or email else None


def _ticket(r: TicketRow, messages: tuple[PublicMessage, ...] = (), spans: tuple[OpenSpan, ...] = ()) -> Ticket:
    return Ticket(
        source=r.source, ticket_id=r.ticket_id, created_at=r.created_at, created_at_known=r.created_at_known,
        subject=r.subject, channel=Channel(r.channel), channel_raw=r.channel_raw, status=Status(r.status),
        status_raw=r.status_raw, priority=Priority(r.priority) if r.priority else None,
        tags=tuple(r.tags), ticket_type=r.ticket_type,
        requester=_person(r.requester_id, r.requester_name, r.requester_email),
        assignee=_person(r.assignee_id, r.assignee_name), group=r.group_name,
        organization=r.organization, outbound=r.outbound, first_response_at=r.first_response_at,
        first_response_seconds=r.first_response_seconds,
        response_intervals_seconds=tuple(r.response_intervals), awaiting_reply_since=r.awaiting_reply_since,
        agent_replies=r.agent_replies, customer_messages=r.customer_messages, bot_replies=r.bot_replies,
        first_resolved_at=r.first_resolved_at, last_resolved_at=r.last_resolved_at,
        first_resolution_seconds=r.first_resolution_seconds, full_resolution_seconds=r.full_resolution_seconds,
        times_resolved=r.times_resolved, reopens=r.reopens, csat=Csat(r.csat) if r.csat else None,
        csat_raw=r.csat_raw, csat_scale=CsatScale(r.csat_scale) if r.csat_scale else None,
        csat_score=r.csat_score, csat_comment=r.csat_comment,
        csat_agent=_person(r.csat_agent_id, None), rated_at=r.rated_at,
        removed=RemovalReason(r.removed) if r.removed else None, last_activity_at=r.last_activity_at,
        time_suspect_events=r.time_suspect_events, agents=tuple(r.agents), first_responder=r.first_responder,
        messages=messages, open_spans=spans,
    )


def all_tickets(session: Session) -> list[Ticket]:
    """Every ticket (for small summaries such as the demo's; metrics queries use SQL)."""
    return with_details(session, list(session.scalars(select(TicketRow).order_by(TicketRow.created_at))))


def refold_all(session: Session, *, batch: int = 500) -> int:
    """Re-fold every ticket from its stored events (after a change to the fold or the schema)."""
    keys = list(session.scalars(select(TicketRow.key).order_by(TicketRow.key)))
    for start in range(0, len(keys), batch):
        refresh(session, keys[start:start + batch])
    return len(keys)


def count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(TicketRow)) or 0)
