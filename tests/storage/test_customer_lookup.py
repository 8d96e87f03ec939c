"""`/customer` finds a customer's tickets by e-mail, helpdesk id or name, through indexes, also in
a helpdesk where most requesters have no name (e-mail-only senders, chat visitors)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from metrics.model import Channel, Person
from storage import tickets
from storage.db import make_engine, make_sessions, unit_of_work
from storage.migrate import upgrade
from storage.ticket_queries import customer_query, customer_tickets
from tests.support.tickets import TicketStory, when

JANE = Person(id="zd-42", email="Jane.Doe@shop.example", name="Jane Doe")


def _shop_with_nameless_requesters(sessions: Any) -> None:
    """1,500 tickets from 500 customers who gave only an address, and Jane's two tickets."""
    nameless = [TicketStory(when("Mon 09:00"), f"n{i}", channel=Channel.EMAIL,
                            requester=Person(id=f"c{i % 500}", email=f"c{i % 500}@mail.example")).build()
                for i in range(1500)]
    jane = [TicketStory(when(opened), number, channel=Channel.CHAT, requester=JANE).build()
            for opened, number in (("Tue 10:00", "j2"), ("Mon 08:00", "j1"))]
    with unit_of_work(sessions) as session:
        tickets.store(session, nameless + jane)
        # statistics as a long-lived database gathers them (ANALYZE, autovacuum)
        session.execute(text("ANALYZE"))


@pytest.mark.parametrize("asked", ["jane.doe@shop.example", "JANE.DOE@SHOP.EXAMPLE", "zd-42", "Jane Doe"])
def test_a_customer_is_found_by_address_id_or_name_oldest_ticket_first(store: Any, asked: str) -> None:
    _, sessions = store
    _shop_with_nameless_requesters(sessions)
    with sessions() as session:
        found = customer_tickets(session, asked)
    assert [t.key for t in found] == ["test:j1", "test:j2"]


def test_sqlite_reads_indexes_not_every_ticket_when_most_requesters_have_no_name(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    _shop_with_nameless_requesters(make_sessions(engine))
    query = customer_query("Jane Doe").compile(dialect=engine.dialect)
    with engine.connect() as connection:
        plan = [row[-1] for row in connection.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {query}", tuple(query.params[name] for name in query.positiontup or ()))]
    engine.dispose()
    assert not any(step.startswith("SCAN tickets") for step in plan), plan
    assert any("ix_tickets_requester_name" in step for step in plan), plan
