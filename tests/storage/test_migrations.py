"""Upgrading an existing database keeps every ticket's numbers (storage/migrate.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from storage import tickets
from storage.db import make_engine, make_sessions, unit_of_work
from storage.migrate import alembic_config, current_revision, upgrade
from storage.tables import Base, TicketSpan
from tests.support.tickets import ticket


def test_tickets_folded_before_revision_0002_get_their_messages_and_spans(database_url: str) -> None:
    story = ticket("Mon 09:00", channel="chat").wrote("+0m").replied("+4m").solved("+1h")
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_sessions(engine)
    with unit_of_work(sessions) as session:
        tickets.save_events_many(session, [(None, story.events)])
        folded = tickets.fold_with(session, story.events).tickets
        tickets.store(session, folded)
    command.downgrade(alembic_config(database_url), "0001")  # as in the first release: no spans, no messages
    assert current_revision(database_url) == "0001"
    upgrade(database_url)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(TicketSpan)) == 1
        found = tickets.get(session, story.events[0].ticket_key)
    engine.dispose()
    assert found is not None and found.first_responder == "ana"
    assert [s.resolved_at for s in found.open_spans] == [datetime(2026, 11, 16, 9, 0, tzinfo=UTC)]


def test_the_migrations_build_exactly_the_tables_the_code_declares(database_url: str) -> None:
    upgrade(database_url)
    engine = make_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    engine.dispose()
    assert differences == []
