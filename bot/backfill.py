"""`deskpulse backfill`: history from the Zendesk API and from helpdesk CSV exports (docs/backfill.md).

The side-effecting half: HTTP (httpx), files, the progress bar and the transactions. What a page
or a row means is decided in storage.ingest.backfill; how it is kept, in storage.imports.
Each page is committed with its events before the next one is asked for, so an interrupted run
continues where it stopped when started again.
"""

from __future__ import annotations

import csv
import itertools
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from email.utils import parsedate_to_datetime
from typing import Any, TextIO
from urllib.parse import urlsplit

import click
import httpx
from sqlalchemy.orm import Session, sessionmaker

from storage import imports
from storage.db import unit_of_work
from storage.imports import ImportedPage
from storage.ingest.adapters.contract import PayloadError
from storage.ingest.backfill import exports, zendesk_api
from storage.ingest.backfill.exports import ExportError, ExportFormat
from storage.ingest.backfill.zendesk_api import RATINGS, STREAMS, TICKET_EVENTS, TICKETS, Page

DEFAULT_DAYS = 90
CSV_CHUNK = 500


class BackfillError(click.ClickException):
    """A backfill stopped: the message says why and what to do (exit code 1)."""


# --- talking to Zendesk ------------------------------------------------------------------------

RETRY_STATUSES = frozenset({500, 502, 503, 504})
MAX_ATTEMPTS = 6  # for server errors and lost connections; 429s are waited out as often as asked
MAX_RATE_LIMITED = 30
DEFAULT_RETRY_AFTER = 60.0
MAX_WAIT = 15 * 60.0


def retry_delay(status: int | None, retry_after: str | None, attempt: int, *, now: datetime) -> float | None:
    """Seconds to wait before asking again, or None to give up.

    - 429: Zendesk's rate limit (10 requests a minute on incremental exports): wait what
      Retry-After says, in seconds or as an HTTP date; 60 s if it says nothing.
    - 500, 502, 503, 504 and lost connections (`status` None): 1, 2, 4, ... s (at most 60),
      five retries; a 503's Retry-After is honoured too.
    - Anything else (401, 403, 404, 422, ...) will not get better by asking again.
    """
    if status == 429:
        return _retry_after(retry_after, now) if attempt <= MAX_RATE_LIMITED else None
    if status is None or status in RETRY_STATUSES:
        if attempt >= MAX_ATTEMPTS:
            return None
        told = _retry_after(retry_after, now) if retry_after else None
        return told if told is not None else float(min(2 ** (attempt - 1), 60))
    return None


def _retry_after(value: str | None, now: datetime) -> float:
    if not value:
        return DEFAULT_RETRY_AFTER
    text = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return min(float(text), MAX_WAIT)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    return min(max(0.0, (moment - now).total_seconds()), MAX_WAIT)


_REFUSALS = {
    401: "Zendesk refused the credentials (401): check --email and --token (an API token from Admin Center > "
         "Apps and integrations > APIs > Zendesk API)",
    403: "Zendesk refused access (403): the incremental exports need an admin's email and API token",
    404: "Zendesk has no such page (404): check --subdomain",
}


def refusal(status: int | None, path: str) -> str:
    """Why a request failed for good, in words an admin can act on."""
    if status is None:
        return f"Zendesk could not be reached for {path} (after {MAX_ATTEMPTS} attempts): check the network"
    if status in _REFUSALS:
        return _REFUSALS[status]
    if status == 429:
        return "Zendesk kept answering 429 (rate limited): try again later"
    return f"Zendesk answered {status} to {path}"


@dataclass
class ZendeskApi:
    """GET requests to one Zendesk account, with its rate limit and retries (`retry_delay`)."""

    base_url: str
    email: str
    token: str
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    timeout: float = 60.0
    waits: list[float] = field(default_factory=list)  # every pause, for the report (and tests)

    def __post_init__(self) -> None:
        self._client = httpx.Client(base_url=self.base_url, auth=(f"{self.email}/token", self.token),
                                    timeout=self.timeout, headers={"accept": "application/json"})

    @property
    def origin(self) -> str:
        return urlsplit(self.base_url).netloc

    def get(self, path: str) -> tuple[bytes, Any]:
        """The body and its JSON; retries what is worth retrying, raises BackfillError otherwise."""
        for attempt in itertools.count(1):
            status, retry_after = None, None
            try:
                response = self._client.get(path)
            except httpx.TransportError:
                pass
            else:
                if response.status_code == 200:
                    return response.content, _json(response.content, path)
                status, retry_after = response.status_code, response.headers.get("retry-after")
            wait = retry_delay(status, retry_after, attempt, now=self.clock())
            if wait is None:
                raise BackfillError(refusal(status, path))
            self.waits.append(wait)
            self.sleep(wait)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self._client.close()


def _json(body: bytes, path: str) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise BackfillError(f"Zendesk's answer to {path} is not JSON") from None


def zendesk_url(subdomain: str) -> str:
    """https://<subdomain>.zendesk.com from `acme`, `acme.zendesk.com` or a whole URL."""
    name = re.sub(r"^https?://", "", subdomain.strip()).split("/")[0].removesuffix(".zendesk.com")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9-]*", name):
        raise click.BadParameter(f"{subdomain!r} is not a Zendesk subdomain such as acme (for acme.zendesk.com)")
    return f"https://{name}.zendesk.com"


# --- the Zendesk backfill ------------------------------------------------------------------------


@dataclass
class StreamReport:
    stream: str
    pages: int = 0
    new_events: int = 0
    known_messages: set[tuple[str, str]] = field(default_factory=set)  # (ticket key, message id)
    resumed: bool = False


@dataclass
class ZendeskReport:
    staff: int = 0
    streams: list[StreamReport] = field(default_factory=list)

    def lines(self) -> list[str]:
        staff = "1 agent or admin" if self.staff == 1 else f"{self.staff} agents and admins"
        out = [f"{staff} (their public comments are agent replies)"]
        for s in self.streams:
            note = ", resumed" if s.resumed else ""
            known = f", {len(s.known_messages)} messages already known from webhooks" if s.known_messages else ""
            out.append(f"{s.stream}: {s.pages} pages, {s.new_events} new facts{known}{note}")
        return out


def backfill_zendesk(sessions: sessionmaker[Session], api: ZendeskApi, *, since: datetime, now: datetime,
                     restart: bool = False, progress: bool = True) -> ZendeskReport:
    """Import Zendesk's tickets, timelines and ratings since `since`, resuming a stopped run."""
    report = ZendeskReport()
    staff = _staff(api)
    report.staff = len(staff)
    if not restart:
        since = _window(sessions, api.origin, since)
    for stream in STREAMS:
        report.streams.append(_stream(sessions, api, stream, staff=staff, since=since, now=now, restart=restart,
                                      progress=progress))
    return report


def _window(sessions: sessionmaker[Session], origin: str, since: datetime) -> datetime:
    """A run that continues an earlier one keeps its window: which tickets belong to the import must
    not change halfway (a ticket's snapshot in, its timeline out)."""
    with sessions() as session:
        points = [imports.resume_point(session, source=zendesk_api.SOURCE, origin=origin, stream=s) for s in STREAMS]
    earlier = [p.since for p in points if p is not None and p.since is not None]
    return min(earlier) if earlier else since


def _staff(api: ZendeskApi) -> dict[str, str]:
    staff: dict[str, str] = {}
    path: str | None = zendesk_api.staff_request()
    while path:
        _, payload = api.get(path)
        try:
            found, path = zendesk_api.staff_page(payload)
        except PayloadError as exc:
            raise BackfillError(f"the staff list is not as documented: {exc.detail}") from None
        staff.update(found)
    return staff


def _stream(sessions: sessionmaker[Session], api: ZendeskApi, stream: str, *, staff: Mapping[str, str],
            since: datetime, now: datetime, restart: bool, progress: bool) -> StreamReport:
    report = StreamReport(stream)
    with sessions() as session:
        resume = None if restart else imports.resume_point(session, source=zendesk_api.SOURCE, origin=api.origin,
                                                           stream=stream)
    first = zendesk_api.first_request(stream, since)
    path = resume.next if resume is not None and resume.next else first
    report.resumed = resume is not None
    with _time_bar(f"zendesk {stream}", since, now, enabled=progress) as advance:
        while True:
            body, payload = api.get(path)
            page = _save(sessions, stream, path, body, payload, staff=staff, since=since, first=first,
                         origin=api.origin, report=report)
            advance(page.reached)
            if page.done or page.next is None:
                return report
            if page.next == path:
                raise BackfillError(f"Zendesk sent {path} as its own next page; stopped to avoid a loop")
            path = page.next


def _save(sessions: sessionmaker[Session], stream: str, path: str, body: bytes, payload: Any, *,
          staff: Mapping[str, str], since: datetime, first: str, origin: str, report: StreamReport) -> Page:
    received_at = datetime.now(UTC)
    try:
        ids = zendesk_api.ticket_ids(payload, stream)
        with unit_of_work(sessions) as session:
            created = imports.events_with_ids(session, source=zendesk_api.SOURCE,
                                              event_ids=[f"api:created:{i}" for i in ids])
            eligible = {e.removeprefix("api:created:") for e in created}
            page = _read(stream, payload, staff=staff, since=since, eligible=eligible, received_at=received_at,
                         first=first)
            saved = imports.save_page(session, ImportedPage(
                source=zendesk_api.SOURCE, origin=origin, stream=stream, request=path, body=body,
                received_at=received_at, events=page.events, next=page.next, done=page.done, since=since,
                superseded=page.superseded))
    except PayloadError as exc:
        raise BackfillError(f"{stream}: {path} is not as documented ({exc.code}: {exc.detail}); nothing of it "
                            "was kept, the next run starts again there") from None
    except imports.ImportFailed as exc:
        raise BackfillError(f"{stream}: a ticket of {path} could not be folded ({exc}); nothing of the page was "
                            "kept") from None
    report.pages += 1
    report.new_events += saved.new_events
    report.known_messages |= set(saved.known_messages)
    return page


def _read(stream: str, payload: Any, *, staff: Mapping[str, str], since: datetime, eligible: set[str],
          received_at: datetime, first: str) -> Page:
    if stream == TICKETS:
        return zendesk_api.ticket_page(payload, since=since, eligible=eligible, received_at=received_at)
    if stream == TICKET_EVENTS:
        return zendesk_api.event_page(payload, staff=staff, eligible=eligible, received_at=received_at)
    if stream == RATINGS:
        return zendesk_api.rating_page(payload, eligible=eligible, received_at=received_at, restart=first)
    raise ValueError(stream)


@contextmanager
def _time_bar(label: str, start: datetime, end: datetime, *, enabled: bool) -> Iterator[Callable[[Any], None]]:
    """A progress bar over time: how far from `start` to `end` the stream has come."""
    total = max(1, int((end - start).total_seconds()))
    if not enabled:
        yield lambda reached: None
        return
    with click.progressbar(length=total, label=label, file=sys.stderr) as bar:
        done = 0

        def advance(reached: datetime | None) -> None:
            nonlocal done
            if reached is None:
                return
            position = min(total, max(0, int((reached - start).total_seconds())))
            if position > done:
                bar.update(position - done)
                done = position

        yield advance


# --- CSV exports -----------------------------------------------------------------------------------


@dataclass
class CsvReport:
    rows: int = 0
    tickets: set[str] = field(default_factory=set)
    new_events: int = 0
    skipped: set[str] = field(default_factory=set)

    def lines(self) -> list[str]:
        out = [f"{self.rows} rows, {len(self.tickets)} tickets, {self.new_events} new facts"]
        if self.skipped:
            out.append(f"{len(self.skipped)} tickets left as they were: deskpulse knows them from webhooks or the "
                       f"API, which tell more than a row (e.g. {', '.join(sorted(self.skipped)[:3])})")
        return out


def import_csv(sessions: sessionmaker[Session], fmt: ExportFormat, file: TextIO, *, name: str, tz: tzinfo,
               overrides: Mapping[str, str], delimiter: str = ",", progress: bool = True) -> CsvReport:
    """Import a helpdesk's CSV export, CSV_CHUNK rows per transaction."""
    reader = csv.reader(file, delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        raise BackfillError(f"{name} is empty")
    try:
        columns = exports.columns_of(fmt, header, overrides)
    except ExportError as exc:
        raise BackfillError(f"{name}: {exc}") from None
    rows = [(number, cells) for number, cells in enumerate(reader, start=2) if any(c.strip() for c in cells)]
    report = CsvReport()
    bar = click.progressbar(length=len(rows), label=f"{fmt.name} export", file=sys.stderr) if progress else None
    with bar if bar is not None else _nothing():
        for start in range(0, len(rows), CSV_CHUNK):
            chunk = rows[start:start + CSV_CHUNK]
            _csv_chunk(sessions, fmt, chunk, header=header, columns=columns, name=name, tz=tz, report=report)
            if bar is not None:
                bar.update(len(chunk))
    return report


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _csv_chunk(sessions: sessionmaker[Session], fmt: ExportFormat, chunk: list[tuple[int, list[str]]], *,
               header: list[str], columns: Mapping[str, int], name: str, tz: tzinfo, report: CsvReport) -> None:
    events = []
    try:
        for number, cells in chunk:
            row = exports.read_row(fmt, cells, columns, tz=tz, line=number)
            events += exports.row_events(fmt, row)
            report.tickets.add(row.ticket_id)
    except ExportError as exc:
        kept = f"lines before {chunk[0][0]} are imported" if chunk[0][0] > 2 else "nothing was imported"
        raise BackfillError(f"{name}: {exc}; {kept}. Fix the file and run again: what is imported already is "
                            "not counted twice") from None
    lines = f"{name} lines {chunk[0][0]}-{chunk[-1][0]}"
    body = json.dumps({"format": fmt.name, "file": name, "header": header,
                       "rows": [cells for _, cells in chunk]}).encode()
    with unit_of_work(sessions) as session:
        saved = imports.save_page(session, ImportedPage(
            source=fmt.source, origin="csv", stream=f"{fmt.name}-csv", request=lines, body=body,
            received_at=datetime.now(UTC), events=events, done=True), coarse=True)
    report.rows += len(chunk)
    report.new_events += saved.new_events
    report.skipped |= set(saved.skipped_tickets)


def parse_mapping(pairs: Iterable[str]) -> dict[str, str]:
    """`--map field=Column` options as a dict."""
    mapping = {}
    for pair in pairs:
        name, sep, column = pair.partition("=")
        if not sep or not name.strip() or not column.strip():
            raise click.BadParameter(f"{pair!r}: expected field=Column, e.g. first_reply_minutes=FRT (min)")
        mapping[name.strip()] = column.strip()
    return mapping


def default_since(now: datetime) -> datetime:
    return (now - timedelta(days=DEFAULT_DAYS)).replace(hour=0, minute=0, second=0, microsecond=0)
