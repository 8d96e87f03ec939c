"""Which tickets were open at a past moment (backlog then, active tickets of a past period): the
stored read by span length class gives exactly what the tickets' own open spans say."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from metrics.tickets import Ticket
from storage import tickets
from storage.db import unit_of_work
from storage.metric_figures import open_at, open_spans
from storage.tables import SPAN_LENGTH_LIMITS, TicketSpan, span_length_class
from tests.support.tickets import ticket, when

# (solved, reopened, solved again), after the opening: spans from minutes to years, and still open
STORIES = [("+10m", None, None), ("+1439m", None, None), ("+24h", None, None), ("+3d", None, None),
           ("+7d", "+8d", "+40d"), ("+29d", None, None), ("+89d", None, None), ("+200d", None, None),
           ("+364d", None, None), ("+400d", None, None), ("+2h", "+1d", None), (None, None, None),
           ("+800d", None, None)]


def _history() -> list[Ticket]:
    built = []
    for day in range(0, 30, 3):
        for solved, reopened, again in STORIES:
            story = ticket(f"2025-01-{day + 1:02d} 09:00").wrote("+0m")
            if solved:
                story.solved(solved)
            if reopened:
                story.reopened(reopened)
            if again:
                story.solved(again)
            built.append(story.build())
    return built


@pytest.mark.parametrize("moment", ["2025-01-01 09:00", "2025-01-02 08:59", "2025-01-02 09:00", "2025-01-09 12:00",
                                    "2025-02-03 09:00", "2025-04-15 00:00", "2025-08-01 09:00", "2026-01-05 09:00",
                                    "2026-03-01 09:00", "2027-06-01 09:00"])
def test_tickets_open_at_a_past_moment_are_exactly_those_whose_spans_hold_it(store: Any, moment: str) -> None:
    _, sessions = store
    history = _history()
    with unit_of_work(sessions) as session:
        tickets.store(session, history)
    at = when(moment)
    expected = sorted(t.key for t in history if any(span.holds(at) for span in t.open_spans))
    just_before = sorted(t.key for t in history if any(
        span.opened_at < at and (span.resolved_at is None or span.resolved_at > at) for span in t.open_spans))
    with sessions() as session:
        found = sorted(session.scalars(select(open_at(at).c.ticket_key)))
        found_before = sorted(session.scalars(select(open_spans(at, opened_at_moment=False).c.ticket_key)))
        classes = set(session.scalars(select(TicketSpan.length_class).distinct()))
    assert classes == {None, *range(len(SPAN_LENGTH_LIMITS) + 1)}  # every class is exercised
    assert found == expected
    assert found_before == just_before


def test_a_span_is_classed_by_the_first_limit_that_holds_it_with_a_second_to_spare() -> None:
    start = when("2025-01-01 09:00")
    day = timedelta(days=1)
    assert span_length_class(start, None) is None
    assert span_length_class(start, start + timedelta(minutes=5)) == 0
    assert span_length_class(start, start + day - timedelta(seconds=1)) == 0
    assert span_length_class(start, start + day) == 1  # on the limit: one class up, still found
    assert span_length_class(start, start + 30 * day) == 3
    assert span_length_class(start, start + 2 * 365 * day) == len(SPAN_LENGTH_LIMITS)
