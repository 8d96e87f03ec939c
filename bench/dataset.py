"""A seeded support history for the query benchmark, written straight to the ticket tables.

    python bench/dataset.py --url sqlite:///big.db --days 1095 --per-day 2000

Tickets are folded from canonical events by the real fold (metrics.tickets.fold_ticket) and
stored by the real repository (storage.tickets.store); only the raw deliveries and the event
log are skipped, since metric queries never read them. Same seed, same history.
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.settings import Settings  # noqa: E402
from metrics.model import (  # noqa: E402
    Channel,
    Csat,
    CsatScale,
    MessagePosted,
    Person,
    Priority,
    Rated,
    Role,
    Status,
    StatusChanged,
    TicketEvent,
    TicketObserved,
)
from metrics.tickets import Ticket, fold_ticket  # noqa: E402
from storage import rollups, tickets  # noqa: E402
from storage.db import make_engine, make_sessions, unit_of_work  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

CHANNELS = [Channel.EMAIL] * 11 + [Channel.CHAT] * 6 + [Channel.SOCIAL] * 3
PRIORITIES = [None] * 6 + [Priority.NORMAL] * 3 + [Priority.HIGH, Priority.URGENT]
TAGS = ["shipping", "order-status", "returns", "refund", "billing", "product-question", "damaged-item", "login",
        "bug", "vip"]
AGENTS = [Person(id=f"a{i}", name=f"Agent {i}") for i in range(1, 25)]
MEDIAN_WAIT_MINUTES = {Channel.EMAIL: 120.0, Channel.CHAT: 3.0, Channel.SOCIAL: 40.0}
# The business hours every benchmark asks under; daily measures are built under the same ones.
BUSINESS_HOURS = "mon-fri 08:00-18:00"
HOURLY = [1, 1, 1, 1, 1, 2, 3, 6, 9, 11, 11, 10, 8, 8, 9, 9, 8, 6, 5, 4, 4, 3, 2, 1]


def history(*, days: int, per_day: int, seed: int, end: datetime) -> Iterator[Ticket]:
    """`per_day` tickets a day on average for `days` days before `end`, folded."""
    rng = random.Random(seed)
    start = end - timedelta(days=days)
    number = 0
    for day in range(days):
        midnight = start + timedelta(days=day)
        weekend = midnight.weekday() >= 5
        for _ in range(int(per_day * (0.45 if weekend else 1.2) * rng.uniform(0.85, 1.15))):
            number += 1
            opened = midnight + timedelta(hours=rng.choices(range(24), HOURLY)[0], seconds=rng.uniform(0, 3600))
            events = _ticket_events(rng, str(number), opened, end)
            yield fold_ticket(events)


def _ticket_events(rng: random.Random, ticket_id: str, opened: datetime, end: datetime) -> list[TicketEvent]:
    ids = iter(range(100))
    channel = rng.choice(CHANNELS)
    agent = rng.choice(AGENTS)

    def base(at: datetime) -> dict[str, object]:
        return {"source": "bench", "ticket_id": ticket_id, "event_id": f"{ticket_id}.{next(ids)}", "occurred_at": at}

    tags = tuple(rng.sample(TAGS, rng.choice([1, 1, 1, 2])))
    events: list[TicketEvent] = [
        TicketObserved(**base(opened), opened=True, created_at=opened, channel=channel, status=Status.NEW,  # type: ignore[arg-type]
                       priority=rng.choice(PRIORITIES), tags=tags, assignee=agent,
                       requester=Person(id=f"c{rng.randrange(400_000)}"), group=f"team-{agent.id[-1]}"),
        MessagePosted(**base(opened), message_id="m0", author_role=Role.CUSTOMER),  # type: ignore[arg-type]
    ]
    at = opened
    for reply in range(rng.choice([1, 1, 1, 2, 2, 3])):
        at += timedelta(minutes=rng.lognormvariate(math.log(MEDIAN_WAIT_MINUTES[channel]), 1.0))
        if at >= end:
            return events
        events.append(MessagePosted(**base(at), message_id=f"r{reply}", author_role=Role.AGENT, author=agent))  # type: ignore[arg-type]
        if reply == 0 and rng.random() < 0.5:
            at += timedelta(minutes=rng.uniform(5, 600))
            events.append(MessagePosted(**base(at), message_id=f"c{reply}", author_role=Role.CUSTOMER))  # type: ignore[arg-type]
    at += timedelta(minutes=rng.uniform(1, 300))
    if at >= end:
        return events
    events.append(StatusChanged(**base(at), status=Status.SOLVED))  # type: ignore[arg-type]
    if rng.random() < 0.05:
        at += timedelta(hours=rng.uniform(2, 72))
        events.append(StatusChanged(**base(at), status=Status.OPEN))  # type: ignore[arg-type]
        at += timedelta(hours=rng.uniform(1, 24))
        events.append(StatusChanged(**base(at), status=Status.SOLVED))  # type: ignore[arg-type]
    if rng.random() < 0.3:
        score = rng.choices([5, 4, 3, 2, 1], [55, 20, 10, 5, 10])[0]
        rating = Csat.GOOD if score >= 4 else Csat.NEUTRAL if score == 3 else Csat.BAD
        events.append(Rated(**base(at + timedelta(hours=2)), rating=rating, scale=CsatScale.ONE_TO_FIVE,  # type: ignore[arg-type]
                            raw=str(score), score=float(score)))
    return [e for e in events if e.occurred_at < end]


def load(url: str, *, days: int, per_day: int, seed: int, end: datetime, timezone: str = "UTC",
         batch: int = 5000) -> int:
    upgrade(url)
    engine = make_engine(url)
    sessions = make_sessions(engine)
    chunk: list[Ticket] = []
    stored, started = 0, time.monotonic()
    for ticket in history(days=days, per_day=per_day, seed=seed, end=end):
        chunk.append(ticket)
        if len(chunk) >= batch:
            stored += _store(sessions, chunk)
            chunk = []
            rate = stored / (time.monotonic() - started)
            print(f"\r{stored:,} tickets ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
    stored += _store(sessions, chunk)
    print(f"\r{stored:,} tickets in {time.monotonic() - started:,.0f} s", file=sys.stderr)
    # Fresh statistics, as autovacuum would gather them in production: without them PostgreSQL
    # guesses that few tickets are live and walks every ticket to find the oldest open one.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql("ANALYZE")
    build_daily_measures(sessions, end, bench_settings(timezone))
    engine.dispose()
    return stored


def bench_settings(timezone: str, url: str | None = None) -> Settings:
    """The settings every benchmark asks under: its business hours, in the team's time zone."""
    return Settings(business_hours=BUSINESS_HOURS, timezone=timezone, **({"database_url": url} if url else {}))


def build_daily_measures(sessions, end: datetime, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    """What `deskpulse serve` does each minute while the history happens (storage/rollups.py)."""
    started = time.monotonic()

    def progress(done: int, total: int) -> None:
        print(f"\rdaily measures: {done:,} of {total:,} days", end="", file=sys.stderr, flush=True)

    built = rollups.build_missing(sessions, now=end, zone=settings.zone, calendar=settings.calendar(),
                                  progress=progress)
    print(f"\rdaily measures: {built:,} days in {time.monotonic() - started:,.0f} s", file=sys.stderr)


def _store(sessions, chunk: list[Ticket]) -> int:  # type: ignore[no-untyped-def]
    with unit_of_work(sessions) as session:
        tickets.store(session, chunk)
    return len(chunk)


def add_database_arguments(parser: argparse.ArgumentParser, *, days: int) -> None:
    """The options of a benchmark that runs on this dataset: reuse one (--url) or generate one (--db)."""
    parser.add_argument("--url", help="a database filled by bench/dataset.py")
    parser.add_argument("--db", choices=["sqlite", "postgres"], help="generate a fresh database of this kind")
    parser.add_argument("--postgres-url", default="postgresql+psycopg://127.0.0.1:5432/test")
    parser.add_argument("--days", type=int, default=days)
    parser.add_argument("--per-day", type=int, default=2000)
    parser.add_argument("--end", default="2026-11-23T00:00:00+00:00")
    parser.add_argument("--timezone", default="UTC", help="the team's time zone (DESKPULSE_TIMEZONE)")


def database_from_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[str, datetime]:
    """The database URL to benchmark (generated first with --db) and the moment its history ends."""
    import tempfile

    from bench.ingest import fresh_database

    end = datetime.fromisoformat(args.end).astimezone(UTC)
    if args.url is not None:
        return args.url, end
    if args.db is None:
        parser.error("give --url or --db")
    url = fresh_database(args.db, args.postgres_url) if args.db == "postgres" else \
        f"sqlite:///{tempfile.mkdtemp(prefix='deskpulse-bench-')}/bench.db"
    load(url, days=args.days, per_day=args.per_day, seed=2026, end=end, timezone=args.timezone)
    return url, end


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="database URL (migrated on the way)")
    parser.add_argument("--days", type=int, default=1095)
    parser.add_argument("--per-day", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--end", default="2026-11-23T00:00:00+00:00", help="the moment history stops")
    parser.add_argument("--timezone", default="UTC", help="the team's time zone: daily measures follow its days")
    args = parser.parse_args()
    end = datetime.fromisoformat(args.end).astimezone(UTC)
    load(args.url, days=args.days, per_day=args.per_day, seed=args.seed, end=end, timezone=args.timezone)


if __name__ == "__main__":
    main()
