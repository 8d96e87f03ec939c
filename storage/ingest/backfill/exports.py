"""Helpdesk CSV exports as canonical events (docs/backfill.md, "CSV exports").

A row describes one ticket as it was when the file was made: no message timeline, no authors.
What a row can honestly give becomes events; what it cannot stays out:

- creation (time, channel, requester) and the state at export (status, priority, type, tags,
  assignee, group, organization), as snapshots at "Created at" and "Updated at";
- the first solve (created + "First resolution time in minutes") and the last one ("Solved at"),
  with the reopens in between; their moments are unknown, so each reopen is written as a
  zero-length reopen-and-solve at the last solve, flagged `time_suspect`;
- "First reply time in minutes" as one public reply by an agent whose name the export does not
  give (`Person()`): first response time counts it, per-agent numbers leave it out, nobody is
  invented. Zendesk's "Replies" beyond the first are written at the last solve (suspect times),
  so reply counts and one-touch hold; their response intervals are unknown and not made up;
- the satisfaction score, at its time if the export has one, else at "Updated at" (suspect).

Customer messages are not in an export: there are none. A helpdesk whose export has no reply
columns (Gorgias) gives tickets without agent replies: their response times are unknown.
Times without a UTC offset are read in the time zone the caller gives (Zendesk writes the
account's time zone). Event ids start with `csv:<ticket id>:`, so the same file imported twice
adds nothing, and a newer export only adds what changed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from metrics.model import (
    Channel,
    Csat,
    CsatScale,
    MessagePosted,
    Person,
    Rated,
    Role,
    Status,
    StatusChanged,
    TicketEvent,
    TicketObserved,
)
from storage.ingest.adapters.contract import (
    EARLIEST_TRUSTED,
    PayloadError,
    normalize_rating,
    to_channel,
    to_priority,
    to_status,
)
from storage.ingest.adapters.zendesk import CHANNELS as ZENDESK_CHANNELS

# What deskpulse reads from a row; a format says which of its columns holds each.
FIELDS = ("ticket_id", "created_at", "updated_at", "status", "priority", "channel", "ticket_type", "subject", "tags",
          "requester_id", "requester_name", "requester_email", "assignee", "group", "organization",
          "first_reply_minutes", "first_resolution_minutes", "full_resolution_minutes", "solved_at", "reopens",
          "replies", "satisfaction", "rated_at")
_TIMES = ("created_at", "updated_at", "solved_at", "rated_at")
_MINUTES = ("first_reply_minutes", "first_resolution_minutes", "full_resolution_minutes")
_COUNTS = ("reopens", "replies")


class ExportError(ValueError):
    """A file or a row deskpulse cannot read; `line` is the file's line number (1 = header)."""

    def __init__(self, message: str, *, line: int | None = None) -> None:
        super().__init__(f"line {line}: {message}" if line else message)
        self.line = line


Rating = tuple[Csat, CsatScale, float | None]


@dataclass(frozen=True, kw_only=True)
class ExportFormat:
    name: str  # the word on the command line
    source: str  # the helpdesk: tickets are <source>:<id>, as its webhooks name them
    columns: Mapping[str, tuple[str, ...]]  # field -> the headers that hold it (any case)
    channels: Mapping[str, Channel]
    rating: Callable[[str], Rating | None]
    tag_separator: str | None = None  # None: whitespace
    resolves: Status = Status.SOLVED  # what resolving a ticket is called there (Gorgias only closes)


@dataclass(frozen=True, kw_only=True)
class ExportRow:
    """One row, read: every field but the id and the creation time may be missing."""

    ticket_id: str
    created_at: datetime
    updated_at: datetime | None = None
    status: str | None = None
    priority: str | None = None
    channel: str | None = None
    ticket_type: str | None = None
    subject: str | None = None
    tags: tuple[str, ...] | None = None
    requester_id: str | None = None
    requester_name: str | None = None
    requester_email: str | None = None
    assignee: str | None = None
    group: str | None = None
    organization: str | None = None
    first_reply_minutes: float | None = None
    first_resolution_minutes: float | None = None
    full_resolution_minutes: float | None = None
    solved_at: datetime | None = None
    reopens: int | None = None
    replies: int | None = None
    satisfaction: str | None = None
    rated_at: datetime | None = None


# --- the formats ---------------------------------------------------------------------------


def _zendesk_rating(raw: str) -> Rating | None:
    """"Satisfaction Score": Good, Bad, Offered, Not Offered (only the first two are answers)."""
    word = raw.strip().lower()
    value = "good" if word.startswith("good") else "bad" if word.startswith("bad") else None
    if value is None:
        return None
    rating, score = normalize_rating(CsatScale.GOOD_BAD, value)
    return rating, CsatScale.GOOD_BAD, score


def _five_point_rating(raw: str) -> Rating | None:
    if not raw.strip():
        return None
    try:
        rating, score = normalize_rating(CsatScale.ONE_TO_FIVE, raw.strip())
    except PayloadError as exc:
        raise ExportError(f"satisfaction {raw!r}: {exc.detail}") from None
    return rating, CsatScale.ONE_TO_FIVE, score


# Zendesk's CSV export, by the column names of its help article "Exporting data to a JSON, CSV,
# or XML file" (times in the account's time zone).
ZENDESK = ExportFormat(
    name="zendesk", source="zendesk", rating=_zendesk_rating,
    channels={**ZENDESK_CHANNELS, "web_form": Channel.WEB, "closed_ticket": Channel.OTHER, "mobile": Channel.OTHER,
              "facebook_post": Channel.SOCIAL, "facebook_private_message": Channel.SOCIAL,
              "twitter_dm": Channel.SOCIAL, "twitter": Channel.SOCIAL},
    columns={
        "ticket_id": ("Id", "ID"), "created_at": ("Created at",), "updated_at": ("Updated at",),
        "status": ("Status",), "priority": ("Priority",), "channel": ("Via",), "ticket_type": ("Ticket type",),
        "subject": ("Subject",), "tags": ("Tags",), "requester_id": ("Requester id", "Requester ID"),
        "requester_name": ("Requester",), "requester_email": ("Requester email",), "assignee": ("Assignee",),
        "group": ("Group",), "organization": ("Organization",),
        "first_reply_minutes": ("First reply time in minutes",),
        "first_resolution_minutes": ("First resolution time in minutes",),
        "full_resolution_minutes": ("Full resolution time in minutes",), "solved_at": ("Solved at",),
        "reopens": ("Reopens",), "replies": ("Replies",), "satisfaction": ("Satisfaction Score",),
    })

# Gorgias: its documentation does not list the export's column names, so the Ticket object's
# field names (developers.gorgias.com, "The Ticket object") are accepted, with their labels;
# `--map field=Column` covers any other header.
GORGIAS = ExportFormat(
    name="gorgias", source="gorgias", rating=_five_point_rating, tag_separator=",", resolves=Status.CLOSED,
    channels={"email": Channel.EMAIL, "chat": Channel.CHAT, "phone": Channel.PHONE, "aircall": Channel.PHONE,
              "sms": Channel.SMS, "api": Channel.API, "help_center": Channel.WEB, "contact_form": Channel.WEB,
              "facebook": Channel.SOCIAL, "facebook_messenger": Channel.SOCIAL,
              "facebook_mention": Channel.SOCIAL, "instagram_comment": Channel.SOCIAL,
              "instagram_direct_message": Channel.SOCIAL, "instagram_ad_comment": Channel.SOCIAL,
              "twitter": Channel.SOCIAL, "twitter_direct_message": Channel.SOCIAL, "whatsapp": Channel.SOCIAL},
    columns={
        "ticket_id": ("id", "Ticket ID", "Ticket id"), "created_at": ("created_datetime", "Created", "Created date",
                                                                      "Created at"),
        "updated_at": ("updated_datetime", "Updated", "Updated date", "Updated at"),
        "solved_at": ("closed_datetime", "Closed", "Closed date", "Closed at"), "status": ("status", "Status"),
        "channel": ("channel", "Channel"), "subject": ("subject", "Subject"), "tags": ("tags", "Tags"),
        "requester_email": ("customer_email", "customer.email", "Customer email"),
        "requester_name": ("customer_name", "customer.name", "Customer", "Customer name"),
        "assignee": ("assignee_user", "assignee_user.email", "Assignee", "Assignee email"),
        "satisfaction": ("satisfaction_survey.score", "Satisfaction score", "Survey score", "CSAT"),
        "rated_at": ("satisfaction_survey.scored_datetime", "Survey scored date"),
    })

FORMATS = {f.name: f for f in (ZENDESK, GORGIAS)}


# --- reading a file's header and rows ---------------------------------------------------------


def _header(text: str) -> str:
    return " ".join(text.replace("\ufeff", "").split()).lower()


def columns_of(fmt: ExportFormat, header: Sequence[str], overrides: Mapping[str, str] | None = None) -> dict[str, int]:
    """Which column of this file holds each field; `overrides` maps a field to a header."""
    position = {_header(h): i for i, h in reversed(list(enumerate(header)))}
    found: dict[str, int] = {}
    for name, column in (overrides or {}).items():
        if name not in FIELDS:
            raise ExportError(f"--map {name}=…: {name!r} is not a field; fields: {', '.join(FIELDS)}")
        if _header(column) not in position:
            raise ExportError(f"--map {name}={column}: the file has no column {column!r}")
        found[name] = position[_header(column)]
    for name, names in fmt.columns.items():
        if name not in found:
            at = next((position[_header(n)] for n in names if _header(n) in position), None)
            if at is not None:
                found[name] = at
    for required in ("ticket_id", "created_at"):
        if required not in found:
            expected = " or ".join(repr(n) for n in fmt.columns[required])
            raise ExportError(f"no column for {required}: expected {expected} (or --map {required}=<column>)",
                              line=1)
    return found


def read_row(fmt: ExportFormat, cells: Sequence[str], columns: Mapping[str, int], *, tz: tzinfo,
             line: int) -> ExportRow:
    """One row as typed values; a value that cannot be read is an error with its line."""
    raw = {name: cells[i].strip() if i < len(cells) else "" for name, i in columns.items()}
    values: dict[str, Any] = {}
    try:
        for name, text in raw.items():
            if text in ("", "-"):
                continue
            if name in _TIMES:
                values[name] = _time(text, tz)
            elif name in _MINUTES:
                values[name] = _number(text)
            elif name in _COUNTS:
                values[name] = int(_number(text))
            elif name == "tags":
                parts = text.split(fmt.tag_separator) if fmt.tag_separator else text.split()
                values[name] = tuple(p.strip() for p in parts if p.strip())
            else:
                values[name] = text
    except ValueError as exc:
        raise ExportError(str(exc), line=line) from None
    if "ticket_id" not in values:
        raise ExportError("the ticket id is empty", line=line)
    if "created_at" not in values:
        raise ExportError(f"ticket {values['ticket_id']}: the creation time is empty", line=line)
    return ExportRow(**values)


def _time(text: str, tz: tzinfo) -> datetime:
    cleaned = re.sub(r"\s*UTC$", "Z", text.strip())
    cleaned = re.sub(r"\s+([+-]\d\d:?\d\d)$", r"\1", cleaned)  # "2026-10-05 08:30:00 +0200"
    try:
        moment = datetime.fromisoformat(cleaned)
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time such as 2026-10-05 08:30:00") from None
    moment = moment.replace(tzinfo=tz) if moment.tzinfo is None else moment
    if moment < EARLIEST_TRUSTED:
        raise ValueError(f"{text!r} is before 2000")
    return moment


def _number(text: str) -> float:
    try:
        number = float(text.replace(",", ""))
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if number < 0 or not math.isfinite(number):
        raise ValueError(f"{text!r} is not a duration or a count")
    return number


# --- a row's events ---------------------------------------------------------------------------


def row_events(fmt: ExportFormat, row: ExportRow) -> list[TicketEvent]:
    """What the row honestly says, as events (see the module docstring)."""
    prefix = f"csv:{row.ticket_id}:"
    created = row.created_at
    # The state at export is written last: never before anything the row dates.
    dated = (row.updated_at, _last_solve(row), _minutes_after(created, row.first_resolution_minutes),
             _minutes_after(created, row.first_reply_minutes), created)
    updated = max(t for t in dated if t is not None)

    def at(moment: datetime, suffix: str, *, suspect: bool = False) -> dict[str, Any]:
        return dict(source=fmt.source, ticket_id=row.ticket_id, event_id=prefix + suffix, occurred_at=moment,
                    time_suspect=suspect)

    channel_word = row.channel.strip().lower().replace("-", "_").replace(" ", "_") if row.channel else None
    facts: list[TicketEvent] = [TicketObserved(
        **at(created, "created"), opened=True, created_at=created,
        channel=to_channel(channel_word, fmt.channels) if channel_word else None, channel_raw=row.channel,
        requester=_requester(row))]
    solves, status = _solves(row, at, resolves=fmt.resolves)
    facts += _replies(row, at, last=_last_solve(row) or updated)
    facts += solves
    facts.append(_state(row, at(updated, f"state:{int(updated.timestamp())}"), status))
    rated = fmt.rating(row.satisfaction) if row.satisfaction else None
    if rated is not None:
        when = row.rated_at or updated
        rating, scale, score = rated
        facts.append(Rated(**at(when, f"rated:{int(when.timestamp())}", suspect=row.rated_at is None),
                           rating=rating, scale=scale, raw=row.satisfaction or "", score=score))
    return facts


def _requester(row: ExportRow) -> Person | None:
    if not (row.requester_id or row.requester_name or row.requester_email):
        return None
    return Person(id=row.requester_id, name=row.requester_name, email=row.requester_email)


def _minutes_after(start: datetime, minutes: float | None) -> datetime | None:
    return None if minutes is None else start + timedelta(minutes=minutes)


def _last_solve(row: ExportRow) -> datetime | None:
    return row.solved_at or _minutes_after(row.created_at, row.full_resolution_minutes)


def _solves(row: ExportRow, at: Callable[..., dict[str, Any]], *,
            resolves: Status) -> tuple[list[TicketEvent], Status | None]:
    """The first solve, then each reopen as a zero-length reopen-and-solve at the last solve.

    Event ids sort in the order the cycles happened (the fold orders same-moment events by id).
    """
    status = to_status(row.status) if row.status else None
    first = _minutes_after(row.created_at, row.first_resolution_minutes)
    last = _last_solve(row)
    if first is None and last is None:
        return [], status
    first = first or last
    facts: list[TicketEvent] = [StatusChanged(**at(first, "1-first-solve"), status=resolves, status_raw=resolves.value)]
    resolved_now = status is not None and status.is_resolved
    # When the ticket is open again now, its last reopen is the export's own status, written below.
    cycles = max(0, (row.reopens or 0) - (0 if resolved_now else 1))
    place = max(last or first, first)
    for n in range(1, cycles + 1):
        facts.append(StatusChanged(**at(place, f"2-cycle-{n:03d}-a-reopen", suspect=True), status=Status.OPEN,
                                   status_raw="open"))
        facts.append(StatusChanged(**at(place, f"2-cycle-{n:03d}-b-solve", suspect=True), status=resolves,
                                   status_raw=resolves.value))
    return facts, status


def _replies(row: ExportRow, at: Callable[..., dict[str, Any]], *, last: datetime) -> list[TicketEvent]:
    """The first reply at its time; later replies (a count without times) at the last solve."""
    first = _minutes_after(row.created_at, row.first_reply_minutes)
    if first is None:
        return []  # without the first reply's time, any reply would invent a first response time
    total = max(1, row.replies or 1)
    facts: list[TicketEvent] = []
    for n in range(1, total + 1):
        moment, suspect = (first, False) if n == 1 else (max(last, first), True)
        ident = f"reply:{n:03d}"
        facts.append(MessagePosted(**at(moment, ident, suspect=suspect), message_id=f"csv:{row.ticket_id}:{ident}",
                                   author_role=Role.AGENT, author=Person(), public=True))
    return facts


def _state(row: ExportRow, base: dict[str, Any], status: Status | None) -> TicketObserved:
    assignee = None
    if row.assignee:
        email = row.assignee if "@" in row.assignee else None
        assignee = Person(id=email, name=None if email else row.assignee, email=email)
    return TicketObserved(
        **base, created_at=row.created_at, subject=row.subject, status=status, status_raw=row.status,
        priority=to_priority(row.priority) if row.priority else None, priority_raw=row.priority,
        tags=row.tags, ticket_type=row.ticket_type, requester=_requester(row), assignee=assignee, group=row.group,
        organization=row.organization)
