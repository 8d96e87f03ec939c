"""Metric answers read from SQLite and PostgreSQL equal the plain-Python reference.

The reference computes over every ticket folded in memory; the storage path loads only the
tickets a period needs (storage/ticket_queries.py). Random histories must give the same numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from bot.ask import answer_query
from bot.grammar import parse_query
from bot.settings import Settings
from metrics.catalog import Answer, MetricQuery, answer
from metrics.model import Channel, Priority, TicketEvent
from metrics.tickets import fold_ticket
from storage import figures as stored_figures
from storage import metric_figures, rollups
from storage.db import unit_of_work
from storage.tables import (
    DailyMeasure,
    RollupDay,
    StaleSpan,
    TicketEventRow,
    TicketMessage,
    TicketRow,
    TicketSpan,
    TicketTag,
)
from tests.storage.conftest import store_events
from tests.support.tickets import BERLIN, TicketStory

NOW = datetime(2026, 11, 23, 10, 30, tzinfo=BERLIN)
START = datetime(2026, 10, 20, tzinfo=UTC)
QUESTIONS = ["volume last week", "volume last 3 weeks by channel", "backlog", "backlog last week",
             "frt last 2 weeks by channel", "response last week", "resolution last 3 weeks by agent",
             "csat last 2 weeks", "outcomes last week", "sla last week by priority", "agents last 2 weeks",
             "tags last week", "level last 2 weeks", "frt this week by day", "volume last 7 days tag:billing",
             "volume last 3 weeks by tag", "csat last 3 weeks by segment", "backlog last week by tag",
             "peak last 2 weeks", "frt last 2 weeks agent:ben", "outcomes last 3 weeks by helpdesk",
             "sla last 2 weeks priority:urgent", "response last 2 weeks segment:vip", "agents last week channel:chat",
             "resolution last 2 weeks by day vs last month", "volume last 2 weeks by priority",
             "tags last 2 weeks channel:chat", "tags last week tag:billing", "peak last 2 weeks tag:billing",
             "agents last 3 weeks", "agents last 3 weeks agent:ben", "agents last 2 weeks tag:billing",
             "agents this week priority:urgent", "frt last 3 weeks by tag channel:email", "sla last 2 weeks by tag",
             "outcomes last 2 weeks tag:refund", "volume last 2 weeks segment:refunds",
             "csat last 2 weeks by tag priority:urgent", "resolution last 3 weeks tag:(none)",
             "agents last 2 weeks segment:refunds", "volume last 2 weeks by tag"]
AGENTS = ["ana", "ben", "cy"]
BUSINESS_HOURS, OTHER_HOURS = "mon-fri 09:00-17:00", "mon-sat 08:00-20:00"

actions = st.lists(st.tuples(st.integers(1, 3000), st.sampled_from(
    ["customer", "agent", "agent", "note", "bot", "solve", "reopen", "rate", "assign", "spam", "not_spam"])),
    max_size=8)
ticket_plans = st.lists(st.tuples(
    st.integers(0, 34 * 24 * 60),  # opened, minutes after START
    st.sampled_from([Channel.EMAIL, Channel.CHAT, Channel.SOCIAL]),
    st.sampled_from([None, Priority.NORMAL, Priority.URGENT]),
    st.lists(st.sampled_from(["billing", "shipping", "refund", "vip"]), max_size=2, unique=True),
    actions,
    st.integers(0, 10_000),  # a seed for the choices inside actions
), max_size=12)


def events_of(index: int, plan: tuple[Any, ...]) -> list[TicketEvent]:
    opened, channel, priority, tags, steps, seed = plan
    story = TicketStory(START + timedelta(minutes=opened), str(index), channel=channel, priority=priority,
                        tags=tuple(tags))
    elapsed = 0
    for step, (minutes, action) in enumerate(steps):
        elapsed += minutes
        at, agent = f"+{elapsed}m", AGENTS[(seed + step) % len(AGENTS)]
        match action:
            case "customer":
                story.wrote(at)
            case "agent" | "note":
                story.replied(at, by=agent, public=action == "agent")
            case "bot":
                story.bot(at)
            case "solve":
                story.solved(at)
            case "reopen":
                story.reopened(at)
            case "rate":
                story.rated(at, 1 + (seed + step) % 5)
            case "assign":
                story.assigned(at, agent)
            case "spam":
                story.spam(at)
            case "not_spam":
                story.not_spam(at)
    return story.events


def comparable(a: Answer) -> dict[str, Any]:
    rows = {r.key: (r.figures, r.previous, r.notes) for r in a.rows}
    tags = None if a.tag_report is None else [(t.tag, t.tickets, t.previous, t.new) for t in a.tag_report.top]
    oldest = None if a.oldest is None else (a.oldest.key, round(a.oldest.age_seconds, 3))
    return {"total": (a.total.figures, a.total.previous), "rows": rows, "tags": tags, "oldest": oldest,
            "grid": a.busiest_grid}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plans=ticket_plans, built_after=st.floats(0, 1),
       first_hours=st.sampled_from([None, BUSINESS_HOURS, OTHER_HOURS]),
       first_zone=st.sampled_from(["UTC", "Europe/Berlin"]))
def test_stored_answers_equal_the_reference(store: Any, plans: list[tuple[Any, ...]], built_after: float,
                                            first_hours: str | None, first_zone: str) -> None:
    """Also with daily measures (storage/rollups.py) built part-way through the history: the
    days later events touch are stale and read raw, until they are built again. The first build
    may be under other business hours (or none), or of another zone's days (UTC instead of
    Berlin): those days, or their business time, are read raw until the builder rebuilds them
    under the zone and hours asked with; rows read raw, in batches of any size."""
    url, sessions = store
    histories = [events_of(i, plan) for i, plan in enumerate(plans)]
    with unit_of_work(sessions) as session:
        for table in (TicketTag, TicketMessage, TicketSpan, TicketRow, TicketEventRow, DailyMeasure, RollupDay,
                      StaleSpan):
            session.execute(delete(table))
    arrivals = [e for events in histories for e in events]
    early = arrivals[:round(built_after * len(arrivals))]
    store_events(sessions, early)
    first = Settings(timezone=first_zone, business_hours=first_hours or "")
    rollups.build_missing(sessions, now=NOW, zone=first.zone, calendar=first.calendar())
    store_events(sessions, arrivals)
    reference = [fold_ticket(events) for events in histories]
    config = Settings(database_url=url, timezone="Europe/Berlin", business_hours=BUSINESS_HOURS,
                      segments="vip=tag:vip,org:Acme;refunds=tag:refund")
    # rows read raw come a few per fetch and are turned into numbers a few at a time
    with patch.object(stored_figures, "ROWS_PER_FETCH", 2), patch.object(metric_figures, "RAW_BATCH", 3):
        _answers_match(sessions, config, reference)
    rollups.build_missing(sessions, now=NOW, zone=config.zone, calendar=config.calendar())
    _answers_match(sessions, config, reference)
    with patch.object(stored_figures, "RECENT_TICKETS", 2):  # new tags told apart tag by tag
        _answers_match(sessions, config, reference, only="tags")


def _answers_match(sessions: Any, config: Settings, reference: list[Any], only: str = "") -> None:
    for text in (q for q in QUESTIONS if q.startswith(only)):
        query = parse_query(text, now=NOW, tz=BERLIN)
        assert isinstance(query, MetricQuery)
        stored = answer_query(sessions, config, query, now=NOW)
        context = config.metric_context(NOW)
        seen = frozenset(tag for t in reference if t.created_at < query.period.start and t.removed is None
                         for tag in t.tags)
        expected = answer(query, reference, context.__class__(**{**vars(context), "tags_seen_before": seen}))
        assert comparable(stored) == comparable(expected), text
