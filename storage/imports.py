"""Imported history (docs/backfill.md): each fetched API page or file chunk is kept as a raw
delivery, its events stored and their tickets folded, all in one transaction.

A page is stored as a delivery of its helpdesk with the endpoint `cli:backfill/<origin>` (the
API host, or `csv`) and the stream in `hint`; its headers say where the stream continues
(`x-deskpulse-next`) and whether it had reached the present (`x-deskpulse-done`). Resuming is
reading the newest such delivery: a crash before a page's commit loses only that page's fetch,
a crash after it nothing. No extra table: the raw layer keeps what the helpdesk sent, as it
does for webhooks. These deliveries are stored already processed, so the webhook processor
never reads them.

Facts of one ticket can arrive by webhook and by import: the ids built by the importers repeat
across runs (same page, same ids), and a message already known under another event id (the
webhook's) is not stored twice. A CSV row is coarser than a timeline: a ticket deskpulse knows
from webhooks or the API is left alone by a CSV import, and an API import replaces the CSV
facts of the tickets it brings.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from metrics.model import MessagePosted, TicketEvent
from storage import deliveries, tickets
from storage.deliveries import PROCESSED, NewDelivery
from storage.tables import RawDelivery, TicketEventRow

ENDPOINT_PREFIX = "cli:backfill/"
NEXT_HEADER, DONE_HEADER, REQUEST_HEADER = "x-deskpulse-next", "x-deskpulse-done", "x-deskpulse-request"
SINCE_HEADER = "x-deskpulse-since"
COARSE_PREFIX = "csv:"  # event ids of CSV rows (storage.ingest.backfill.exports)
_CHUNK = 500


class ImportFailed(Exception):
    """The events of a page could not be folded into tickets (nothing of the page was kept)."""


@dataclass(frozen=True, kw_only=True)
class ImportedPage:
    source: str  # the helpdesk
    origin: str  # where it came from: the API host, or "csv"
    stream: str  # which list of that origin (tickets, ticket_events, ratings, zendesk-csv, ...)
    request: str  # what was asked for (path and query, or file and lines)
    body: bytes  # what came back, as it came
    received_at: datetime
    events: Sequence[TicketEvent]
    next: str | None = None
    done: bool = False
    since: datetime | None = None  # the start of the window the import was asked for
    superseded: Sequence[str] = ()  # event ids (of `source`) that this page's facts replace: deleted


@dataclass(frozen=True)
class Saved:
    delivery_id: int
    new_events: int
    known_messages: tuple[tuple[str, str], ...]  # (ticket key, message id) webhooks had brought already
    skipped_tickets: tuple[str, ...]  # CSV rows of tickets known from a finer source


@dataclass(frozen=True)
class ResumePoint:
    next: str | None
    done: bool
    received_at: datetime
    since: datetime | None  # the window of the run that stored it


def endpoint(origin: str) -> str:
    return (ENDPOINT_PREFIX + origin)[:300]


def save_page(session: Session, page: ImportedPage, *, coarse: bool = False) -> Saved:
    """Keep the page, store its new facts and refold the tickets they touch (caller commits).

    `coarse`: the facts summarise a ticket (a CSV row) instead of telling its timeline.
    """
    events = list(page.events)
    keys = sorted({e.ticket_key for e in events})
    skipped: tuple[str, ...] = ()
    replaced: set[str] = set()
    if coarse:
        finer = _with_finer_facts(session, keys)
        skipped = tuple(sorted(finer))
        events = [e for e in events if e.ticket_key not in finer]
    else:
        replaced = _drop_coarse_facts(session, keys)
    replaced |= _drop_superseded(session, page.source, list(page.superseded))
    known = _known_messages(session, keys)
    repeated = [e for e in events if isinstance(e, MessagePosted)
                and known.get((e.ticket_key, e.message_id), e.event_id) != e.event_id]
    gone = {id(e) for e in repeated}
    fresh = [e for e in events if id(e) not in gone]
    ids = {e.event_id for e in fresh}
    new_events = len(ids - _stored_ids(session, page.source, sorted(ids)))
    delivery_id = _keep(session, page, events=new_events)
    folded, failures, unseen = tickets.fold_with(session, fresh)
    if failures:
        key = min(failures)
        raise ImportFailed(f"{key}: {failures[key]!r}")
    tickets.save_events_many(session, [(delivery_id, unseen)])
    tickets.store(session, folded)
    untouched = replaced - {e.ticket_key for e in fresh}
    if untouched:  # CSV or superseded facts went away, and no new fact made these tickets fold again
        tickets.refresh(session, untouched)
    already = tuple(sorted({(e.ticket_key, e.message_id) for e in repeated}))
    return Saved(delivery_id, new_events, already, skipped)


def _keep(session: Session, page: ImportedPage, *, events: int) -> int:
    headers = {"content-type": "application/json", REQUEST_HEADER: page.request[:1000],
               NEXT_HEADER: (page.next or "")[:1000], DONE_HEADER: "true" if page.done else "false",
               SINCE_HEADER: page.since.isoformat() if page.since else ""}
    [(delivery_id, _)] = deliveries.save_many(session, [NewDelivery(
        source=page.source, endpoint=endpoint(page.origin), hint=page.stream[:100], headers=headers, body=page.body,
        received_at=page.received_at, idempotency_key=None, fate=PROCESSED)])
    deliveries.mark(session, delivery_id, fate=PROCESSED, processed_at=page.received_at, events_count=events)
    return delivery_id


def resume_point(session: Session, *, source: str, origin: str, stream: str) -> ResumePoint | None:
    """Where the last stored page of this stream said to continue; None: never imported."""
    row = session.execute(
        select(RawDelivery.headers, RawDelivery.received_at)
        .where(RawDelivery.source == source, RawDelivery.endpoint == endpoint(origin), RawDelivery.hint == stream)
        .order_by(RawDelivery.id.desc()).limit(1)).first()
    if row is None:
        return None
    headers, received_at = row
    since = headers.get(SINCE_HEADER)
    return ResumePoint(next=headers.get(NEXT_HEADER) or None, done=headers.get(DONE_HEADER) == "true",
                       received_at=received_at, since=datetime.fromisoformat(since) if since else None)


def events_with_ids(session: Session, *, source: str, event_ids: Iterable[str]) -> set[str]:
    """Which of these event ids are stored (e.g. the creation facts an earlier page brought)."""
    return _stored_ids(session, source, list(event_ids))


def _stored_ids(session: Session, source: str, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        found |= set(session.scalars(select(TicketEventRow.event_id).where(
            TicketEventRow.source == source, TicketEventRow.event_id.in_(ids[start:start + _CHUNK]))))
    return found


def _with_finer_facts(session: Session, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), _CHUNK):
        found |= set(session.scalars(select(TicketEventRow.ticket_key).distinct().where(
            TicketEventRow.ticket_key.in_(keys[start:start + _CHUNK]),
            TicketEventRow.event_id.not_like(COARSE_PREFIX + "%"))))
    return found


def _drop_coarse_facts(session: Session, keys: list[str]) -> set[str]:
    """Delete the CSV facts of these tickets; returns the tickets that had some."""
    dropped: set[str] = set()
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        coarse = (TicketEventRow.ticket_key.in_(chunk), TicketEventRow.event_id.like(COARSE_PREFIX + "%"))
        dropped |= set(session.scalars(select(TicketEventRow.ticket_key).distinct().where(*coarse)))
        if dropped:
            session.execute(delete(TicketEventRow).where(*coarse))
    return dropped


def _drop_superseded(session: Session, source: str, ids: list[str]) -> set[str]:
    """Delete these facts (e.g. a rating a ticket snapshot gave without its time, once the
    ratings list dates it); returns the tickets that had some."""
    dropped: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chosen = (TicketEventRow.source == source, TicketEventRow.event_id.in_(ids[start:start + _CHUNK]))
        found = set(session.scalars(select(TicketEventRow.ticket_key).distinct().where(*chosen)))
        if found:
            session.execute(delete(TicketEventRow).where(*chosen))
            dropped |= found
    return dropped


def _known_messages(session: Session, keys: list[str]) -> dict[tuple[str, str], str]:
    """(ticket key, message id) -> the event id it was stored under."""
    known: dict[tuple[str, str], str] = {}
    for start in range(0, len(keys), _CHUNK):
        rows = session.execute(select(TicketEventRow.ticket_key, TicketEventRow.event_id, TicketEventRow.data).where(
            TicketEventRow.ticket_key.in_(keys[start:start + _CHUNK]), TicketEventRow.kind == "message"))
        for key, event_id, data in rows:
            known.setdefault((key, str(data.get("message_id"))), event_id)
    return known

