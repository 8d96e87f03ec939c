"""Metric answers read from SQLite and PostgreSQL equal the plain-Python reference.

The reference computes over every ticket folded in memory; the storage path loads only the
tickets a period needs (storage/ticket_queries.py). Random histories must give the same numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from bot.ask import answer_query
from bot.grammar import parse_query
from bot.settings import Settings
from metrics.catalog import Answer, MetricQuery, answer
from metrics.model import (
    Assigned,
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
from metrics.tickets import fold_ticket
from storage import tickets as ticket_store
from storage.db import make_engine, make_sessions, unit_of_work
from storage.migrate import upgrade
from storage.tables import TicketEventRow, TicketMessage, TicketRow, TicketSpan, TicketTag
from tests.support.tickets import BERLIN

NOW = datetime(2026, 11, 23, 10, 30, tzinfo=BERLIN)
START = datetime(2026, 10, 20, tzinfo=UTC)
QUESTIONS = ["volume last week", "volume last 3 weeks by channel", "backlog", "backlog last week",
             "frt last 2 weeks by channel", "response last week", "resolution last 3 weeks by agent",
             "csat last 2 weeks", "outcomes last week", "sla last week by priority", "agents last 2 weeks",
             "tags last week", "level last 2 weeks", "frt this week by day", "volume last 7 days tag:billing"]
AGENTS = ["ana", "ben", "cy"]

actions = st.lists(st.tuples(st.integers(1, 3000), st.sampled_from(
    ["customer", "agent", "agent", "note", "bot", "solve", "reopen", "rate", "assign", "spam"])), max_size=8)
ticket_plans = st.lists(st.tuples(
    st.integers(0, 34 * 24 * 60),  # opened, minutes after START
    st.sampled_from([Channel.EMAIL, Channel.CHAT, Channel.SOCIAL]),
    st.sampled_from([None, Priority.NORMAL, Priority.URGENT]),
    st.lists(st.sampled_from(["billing", "shipping", "refund"]), max_size=2, unique=True),
    actions,
    st.integers(0, 10_000),  # a seed for the choices inside actions
), max_size=12)


def events_of(index: int, plan: tuple[Any, ...]) -> list[TicketEvent]:
    opened, channel, priority, tags, steps, seed = plan
    at = START + timedelta(minutes=opened)
    ticket = str(index)
    counter = iter(range(1000))

    def base(moment: datetime) -> dict[str, Any]:
        return {"source": "prop", "ticket_id": ticket, "event_id": f"{ticket}-{next(counter)}", "occurred_at": moment}

    events: list[TicketEvent] = [TicketObserved(**base(at), opened=True, created_at=at, channel=channel,
                                                priority=priority, tags=tuple(tags), status=Status.NEW)]
    for step, (minutes, action) in enumerate(steps):
        at += timedelta(minutes=minutes)
        agent = AGENTS[(seed + step) % len(AGENTS)]
        match action:
            case "customer":
                events.append(MessagePosted(**base(at), message_id=f"m{step}", author_role=Role.CUSTOMER))
            case "agent" | "note":
                events.append(MessagePosted(**base(at), message_id=f"m{step}", author_role=Role.AGENT,
                                            author=Person(id=agent, name=agent.title()), public=action == "agent"))
            case "bot":
                events.append(MessagePosted(**base(at), message_id=f"m{step}", author_role=Role.BOT))
            case "solve" | "reopen":
                events.append(StatusChanged(**base(at), status=Status.SOLVED if action == "solve" else Status.OPEN))
            case "rate":
                score = 1 + (seed + step) % 5
                rating = Csat.GOOD if score >= 4 else Csat.NEUTRAL if score == 3 else Csat.BAD
                events.append(Rated(**base(at), rating=rating, scale=CsatScale.ONE_TO_FIVE, raw=str(score),
                                    score=float(score)))
            case "assign":
                events.append(Assigned(**base(at), assignee=Person(id=agent, name=agent.title())))
            case "spam":
                events.append(Removed(**base(at), reason=RemovalReason.SPAM))
    return events


def comparable(a: Answer) -> dict[str, Any]:
    rows = {r.key: (r.figures, r.previous, r.notes) for r in a.rows}
    tags = None if a.tag_report is None else [(t.tag, t.tickets, t.previous, t.new) for t in a.tag_report.top]
    oldest = None if a.oldest is None else (a.oldest.key, round(a.oldest.age_seconds, 3))
    return {"total": (a.total.figures, a.total.previous), "rows": rows, "tags": tags, "oldest": oldest}


@pytest.fixture
def store(database_url: str) -> Any:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield database_url, make_sessions(engine)
    engine.dispose()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plans=ticket_plans)
def test_stored_answers_equal_the_reference(store: Any, plans: list[tuple[Any, ...]]) -> None:
    url, sessions = store
    histories = [events_of(i, plan) for i, plan in enumerate(plans)]
    with unit_of_work(sessions) as session:
        for table in (TicketTag, TicketMessage, TicketSpan, TicketRow, TicketEventRow):
            session.execute(delete(table))
        ticket_store.save_events_many(session, [(None, events) for events in histories])
        folded, failures = ticket_store.fold_with(session, [e for events in histories for e in events])
        assert not failures
        ticket_store.store(session, folded)
    reference = [fold_ticket(events) for events in histories]
    config = Settings(database_url=url, timezone="Europe/Berlin", business_hours="mon-fri 09:00-17:00")
    for text in QUESTIONS:
        query = parse_query(text, now=NOW, tz=BERLIN)
        assert isinstance(query, MetricQuery)
        stored = answer_query(sessions, config, query, now=NOW)
        context = config.metric_context(NOW)
        seen = frozenset(tag for t in reference if t.created_at < query.period.start and t.removed is None
                         for tag in t.tags)
        expected = answer(query, reference, context.__class__(**{**vars(context), "tags_seen_before": seen}))
        assert comparable(stored) == comparable(expected), text
