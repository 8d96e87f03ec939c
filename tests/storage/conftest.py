"""Storage tests' shared pieces: a migrated database, and events stored as ingestion stores them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from metrics.model import TicketEvent
from storage import tickets as ticket_store
from storage.db import make_engine, make_sessions, unit_of_work
from storage.migrate import upgrade


@pytest.fixture
def sessions(database_url: str) -> Iterator[sessionmaker[Session]]:
    """Sessions on a migrated SQLite or PostgreSQL database."""
    upgrade(database_url)
    engine = make_engine(database_url)
    yield make_sessions(engine)
    engine.dispose()


def store_events(sessions: Any, events: list[TicketEvent]) -> None:
    """Save the events and store the tickets they fold into, as ingestion does (marking stale days)."""
    with unit_of_work(sessions) as session:
        ticket_store.save_events_many(session, [(None, events)])
        folded, failures, _ = ticket_store.fold_with(session, events)
        assert not failures
        ticket_store.store(session, folded)
