"""Upgrading an existing database keeps every ticket's numbers (storage/migrate.py)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select

from storage import tickets
from storage.db import make_engine, make_sessions, unit_of_work
from storage.migrate import alembic_config, current_revision, upgrade
from storage.tables import Base, TicketRow, TicketSpan, span_length_class, tag_set
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


def test_spans_stored_before_revision_0012_get_a_length_class_whose_limit_holds_them(database_url: str) -> None:
    """Migration 0012 classes spans in SQL; the read of "open at a moment" relies on every
    resolved span's class limit being at least its length, as storage.tables.span_length_class."""
    lengths = [timedelta(minutes=5), timedelta(days=1) - timedelta(seconds=2), timedelta(days=1),
               timedelta(days=6, hours=23), timedelta(days=45), timedelta(days=365), timedelta(days=900)]
    stories = [ticket("Mon 09:00", ticket_id=f"L{i}").wrote("+0m").solved(f"+{length.total_seconds():.0f}s")
               for i, length in enumerate(lengths)] + [ticket("Mon 09:00", ticket_id="open").wrote("+0m")]
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_sessions(engine)
    with unit_of_work(sessions) as session:
        tickets.store(session, [story.build() for story in stories])
    command.downgrade(alembic_config(database_url), "0011")
    upgrade(database_url)
    with sessions() as session:
        rows = session.execute(select(TicketSpan.ticket_key, TicketSpan.opened_at, TicketSpan.resolved_at,
                                      TicketSpan.length_class)).all()
    engine.dispose()
    assert len(rows) == len(stories)
    for key, opened, resolved, length_class in rows:
        assert length_class == span_length_class(opened, resolved), key


def test_migration_0017_gives_each_ticket_its_tags_as_one_value(database_url: str) -> None:
    """tickets.tag_set, filled from ticket_tags, reads back as the tags storage.tickets.store
    writes it with (PostgreSQL writes its own JSON: other characters than ASCII as they are)."""
    tagged = {"none": (), "one": ("refund",), "two": ("vip", "billing"), "odd": ('say "hi"', "größe", "billing")}
    upgrade(database_url)
    engine = make_engine(database_url)
    sessions = make_sessions(engine)
    with unit_of_work(sessions) as session:
        tickets.store(session, [ticket("Mon 09:00", ticket_id=name, tags=tags).wrote("+0m").build()
                                for name, tags in tagged.items()])
    command.downgrade(alembic_config(database_url), "0016")
    upgrade(database_url)
    with sessions() as session:
        found = {name: text for name, text in session.execute(select(TicketRow.ticket_id, TicketRow.tag_set))}
    engine.dispose()
    assert {name: None if text is None else json.loads(text) for name, text in found.items()} == {
        "none": None, "one": ["refund"], "two": ["billing", "vip"], "odd": ["billing", "größe", 'say "hi"']}
    assert found["two"] == tag_set(tagged["two"])
