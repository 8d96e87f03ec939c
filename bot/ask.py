"""Answer one question typed by a user: parse, load, compute (the Slack commands and `deskpulse ask`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.grammar import CustomerQuery, parse_query
from bot.settings import Settings
from metrics.catalog import Answer, MetricQuery, answer_from
from metrics.customers import CustomerHistory, customer_history
from storage import ticket_queries
from storage.figures import StoredSource


def parse(settings: Settings, text: str, *, now: datetime) -> MetricQuery | CustomerQuery:
    """The question in `text`, read in the team's time zone and week; grammar.QueryError if unreadable."""
    return parse_query(text, now=now, tz=settings.zone, week_start=settings.first_weekday)


def ask(sessions: sessionmaker[Session], settings: Settings, text: str, *, now: datetime) -> Answer | CustomerHistory:
    """The answer to `text` at `now`; a grammar.QueryError names what could not be read."""
    query = parse(settings, text, now=now)
    if isinstance(query, CustomerQuery):
        return customer_answer(sessions, query)
    return answer_query(sessions, settings, query, now=now)


def customer_answer(sessions: sessionmaker[Session], query: CustomerQuery) -> CustomerHistory:
    with sessions() as session:
        return customer_history(query.customer, ticket_queries.customer_tickets(session, query.customer))


def answer_query(sessions: sessionmaker[Session], settings: Settings, query: MetricQuery, *,
                 now: datetime) -> Answer:
    context = settings.metric_context(now)
    with sessions() as session:
        return answer_from(query, StoredSource(session, query.filters, context, sessions=sessions), context)
