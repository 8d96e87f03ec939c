"""Answer one question typed by a user: parse, load, compute (the Slack commands and `deskpulse ask`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.grammar import CustomerQuery, parse_query
from bot.settings import Settings
from metrics.catalog import Answer, MetricQuery, answer
from metrics.customers import CustomerHistory, customer_history
from metrics.dimensions import Dimension
from storage import ticket_queries


def ask(sessions: sessionmaker[Session], settings: Settings, text: str, *, now: datetime) -> Answer | CustomerHistory:
    """The answer to `text` at `now`; a grammar.QueryError names what could not be read."""
    query = parse_query(text, now=now, tz=settings.zone, week_start=settings.first_weekday)
    if isinstance(query, CustomerQuery):
        with sessions() as session:
            return customer_history(query.customer, ticket_queries.customer_tickets(session, query.customer))
    return answer_query(sessions, settings, query, now=now)


def answer_query(sessions: sessionmaker[Session], settings: Settings, query: MetricQuery, *,
                 now: datetime) -> Answer:
    start, end = query.span
    channels = [f.value.lower() for f in query.filters if f.dimension is Dimension.CHANNEL]
    with sessions() as session:
        tickets = ticket_queries.tickets_between(session, start, end, channels=channels)
        seen = (ticket_queries.tags_seen_before(session, query.period.start)
                if query.metric.needs_tag_history else frozenset())
    context = replace(settings.metric_context(now), tags_seen_before=seen)
    return answer(query, tickets, context)
