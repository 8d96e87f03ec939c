"""One reader per metric: which stored measurements count in a period, grouped, handed to the
metric's own arithmetic in metrics/ (docs/metrics.md names the moment each is attributed to)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Subquery,
    case,
    cast,
    distinct,
    exists,
    extract,
    func,
    null,
    select,
    union_all,
)

from metrics.agents import agent_figures
from metrics.catalog import level_figures, team
from metrics.dimensions import Dimension
from metrics.model import Csat, Role
from metrics.outcomes import outcome_figures
from metrics.periods import Period
from metrics.response_times import duration_figures, resolution_figures
from metrics.satisfaction import SCORE_SCALE, csat_figures
from metrics.sla import SlaTicket, sla_figures
from metrics.volume import age_seconds, backlog_by_age
from storage.tables import TicketMessage, TicketRow, TicketSpan, TicketTag

if TYPE_CHECKING:
    from storage.figures import StoredSource

Figures = dict[str, float | None]
Grouped = dict[str, Figures]
TICKETS, MESSAGES, SPANS, TAGS = TicketRow.__table__, TicketMessage.__table__, TicketSpan.__table__, TicketTag.__table__
T, M, S = TICKETS, MESSAGES, SPANS


def within(column: ColumnElement[datetime], period: Period) -> list[ColumnElement[bool]]:
    return [column >= period.start, column < period.end]


def open_spans(opened_before: ColumnElement[bool], resolved_after: datetime) -> Subquery:
    """Spans that `opened_before` holds for and that are unresolved or were resolved after
    `resolved_after`: two index ranges (unresolved; resolved since), never the history before."""
    still_open = select(S.c.ticket_key).where(S.c.resolved_at.is_(None), opened_before)
    resolved_since = select(S.c.ticket_key).where(S.c.resolved_at > resolved_after, opened_before)
    return union_all(still_open, resolved_since).subquery()


def open_at(moment: datetime) -> Subquery:
    """Tickets (one row each: spans never overlap) open at `moment` (metrics.tickets.OpenSpan.holds)."""
    return open_spans(S.c.opened_at <= moment, moment)


def has_tag(*where: ColumnElement[bool]) -> ColumnElement[bool]:
    """The ticket carries a tag (matching `where`)."""
    return exists(select(TAGS.c.tag).where(TAGS.c.ticket_key == T.c.key, *where))


def epoch(source: StoredSource, column: ColumnElement[datetime]) -> ColumnElement[float]:
    """POSIX seconds of a stored moment, computed by the database: far cheaper than datetimes."""
    if source.dialect == "sqlite":  # stored as text, 'YYYY-MM-DD HH:MM:SS.ffffff' in UTC
        return cast(func.strftime("%s", column), Integer) + cast(func.substr(column, 20), Float)
    return cast(extract("epoch", column), Float)


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.sum(case((condition, 1), else_=0))


def _groups(by: Dimension | None) -> set[str]:
    """The keys every answer has: the total always exists, even with nothing in it."""
    return {"all"} if by is None else set()


def volume(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    counts: dict[str, Figures] = defaultdict(lambda: dict.fromkeys(
        ("new", "active", "solved", "reopened", "incoming", "outgoing"), 0))
    for key in _groups(by):
        counts[key]
    active = open_spans(S.c.opened_at < period.end, period.start)
    reads: list[tuple[str, Any, ColumnElement[int], list[ColumnElement[bool]]]] = [
        ("new", T, func.count(), within(T.c.created_at, period)),
        ("active", active, func.count(distinct(active.c.ticket_key)), []),
        ("solved", S, func.count(distinct(S.c.ticket_key)), within(S.c.resolved_at, period)),
        ("reopened", S, func.count(distinct(S.c.ticket_key)), [S.c.seq > 0, *within(S.c.opened_at, period)]),
    ]
    for name, table, counted, where in reads:
        for key, (n,) in source.rows(by, [counted], table, where, aggregate=[]):
            counts[key][name] = n
    for key, (role, n) in source.rows(by, [M.c.role, func.count()], M,
                                      [M.c.role.in_((Role.CUSTOMER.value, Role.AGENT.value)), *within(M.c.at, period)],
                                      aggregate=[M.c.role]):
        counts[key]["incoming" if role == Role.CUSTOMER.value else "outgoing"] = n
    return dict(counts)


def backlog(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    """At the end of the period (now, for a period that has not ended)."""
    at = period.end
    ages: dict[str, list[float]] = defaultdict(list)
    for key in _groups(by):
        ages[key]
    for key, (created_at,) in source.rows(by, [T.c.created_at], open_at(at), []):
        ages[key].append(age_seconds(created_at, at))
    return {key: backlog_by_age(values) for key, values in ages.items()}


def _durations(source: StoredSource, by: Dimension | None, seconds: ColumnElement[float],
               moment: ColumnElement[datetime], table: Any, where: list[ColumnElement[bool]],
               also: tuple[ColumnElement[Any], dict[str, list[Any]]] | None = None) -> Grouped:
    """Duration figures of the measurements that passed `where`; the moment each ended is read
    only when business time is wanted. `also`: one more column, collected per group on the way."""
    calendar = source.context.calendar
    columns = [seconds, epoch(source, moment) if calendar is not None else null()]
    if also is not None:
        columns.append(also[0])
    values: dict[str, list[float]] = defaultdict(list)
    ends: dict[str, list[float]] = defaultdict(list)
    for key in _groups(by):
        values[key]
    for key, row in source.rows(by, columns, table, [seconds.is_not(None), *where]):
        values[key].append(row[0])
        ends[key].append(row[1])
        if also is not None:
            also[1][key].append(row[2])
    return {key: duration_figures(v, calendar, ends[key] if calendar is not None else ()) for key, v in values.items()}


def first_response_time(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    return _durations(source, by, T.c.first_response_seconds, T.c.first_response_at, T,
                      within(T.c.first_response_at, period))


def response_time(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    return _durations(source, by, M.c.wait_seconds, M.c.at, M, [M.c.role == Role.AGENT.value, *within(M.c.at, period)])


def resolution_time(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    first = _durations(source, by, T.c.first_resolution_seconds, T.c.first_resolved_at, T,
                       within(T.c.first_resolved_at, period))
    replies: dict[str, list[int]] = defaultdict(list)
    full = _durations(source, by, T.c.full_resolution_seconds, T.c.last_resolved_at, T,
                      within(T.c.last_resolved_at, period), also=(T.c.agent_replies, replies))
    empty = duration_figures([], source.context.calendar)
    return {key: resolution_figures(first.get(key, empty), full.get(key, empty), replies[key])
            for key in set(first) | set(full)}


def csat(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    ratings: dict[str, list[tuple[Csat, float | None]]] = defaultdict(list)
    for key in _groups(by):
        ratings[key]
    score = case((T.c.csat_scale == SCORE_SCALE, T.c.csat_score), else_=None)
    for key, (verdict, value) in source.rows(by, [T.c.csat, score], T, [T.c.csat.is_not(None),
                                                                       *within(T.c.rated_at, period)]):
        ratings[key].append((Csat(verdict), value))
    return {key: csat_figures(values) for key, values in ratings.items()}


def outcomes(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    """Over the tickets resolved now whose last resolution fell in the period."""
    counts = {key: (0, 0, 0, 0, 0) for key in _groups(by)}
    automated = (T.c.agent_replies == 0) & (T.c.bot_replies > 0)
    columns = [func.count(), _count_if(T.c.one_touch), _count_if(T.c.abandoned), _count_if(automated),
               _count_if(T.c.reopens > 0)]
    for key, row in source.rows(by, columns, T, [T.c.is_resolved, *within(T.c.last_resolved_at, period)],
                                aggregate=[]):
        counts[key] = tuple(int(n or 0) for n in row)  # type: ignore[assignment]
    return {key: outcome_figures(resolved, one_touch=one, abandoned=abandoned, automated=auto, reopened=reopened)
            for key, (resolved, one, abandoned, auto, reopened) in counts.items()}


def sla(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    """Over the inbound tickets created in the period."""
    context = source.context
    inbound: dict[str, list[SlaTicket]] = defaultdict(list)
    for key in _groups(by):
        inbound[key]
    columns = [T.c.channel, T.c.priority, epoch(source, T.c.created_at), epoch(source, T.c.first_response_at)]
    for key, row in source.rows(by, columns, T, [T.c.outbound.is_(False), *within(T.c.created_at, period)]):
        inbound[key].append(SlaTicket(*row))
    return {key: sla_figures(tickets, context.sla, now=context.now, calendar=context.calendar)
            for key, tickets in inbound.items()}


def agents(source: StoredSource, period: Period) -> dict[str, Figures]:
    """Each agent credited with the work they did (metrics.agents)."""
    replies, handled, closed = {}, {}, {}
    first_responses: dict[str, list[float]] = defaultdict(list)
    ratings: dict[str, list[Csat]] = defaultdict(list)
    agent_replies = [M.c.role == Role.AGENT.value, M.c.author.is_not(None), *within(M.c.at, period)]
    per_author = [M.c.author, func.count(), func.count(distinct(M.c.ticket_key))]
    for _, (who, n, conversations) in source.rows(None, per_author, M, agent_replies, aggregate=[M.c.author]):
        replies[who], handled[who] = n, conversations
    for _, (who, n) in source.rows(None, [S.c.resolved_by, func.count()], S,
                                   [S.c.resolved_by.is_not(None), *within(S.c.resolved_at, period)],
                                   aggregate=[S.c.resolved_by]):
        closed[who] = n
    for _, (who, seconds) in source.rows(None, [T.c.first_responder, func.coalesce(T.c.first_response_seconds, 0.0)],
                                         T, [T.c.first_responder.is_not(None), *within(T.c.first_response_at, period)]):
        first_responses[who].append(seconds)
    rater = func.coalesce(T.c.csat_agent_id, T.c.assignee_id, T.c.assignee_name)
    for _, (who, verdict) in source.rows(None, [rater, T.c.csat], T, [
            T.c.csat.is_not(None), rater.is_not(None), *within(T.c.rated_at, period)]):
        ratings[who].append(Csat(verdict))
    return agent_figures(replies, handled, closed, first_responses, ratings)


def team_line(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    """The team's line of the agents table (agents has rows of its own, never a breakdown)."""
    conversations = source.count(M, [M.c.role == Role.AGENT.value, *within(M.c.at, period)], distinct_tickets=True)
    median = first_response_time(source, period, None)["all"]["median"]
    return {"all": team(agents(source, period), conversations, median)}


def tags(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    tagged = source.count(T, [*within(T.c.created_at, period), has_tag()])
    return {"all": {"tickets": float(tagged), "share": None}}


def level(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    frt, satisfaction = first_response_time(source, period, by), csat(source, period, by)
    business = source.context.calendar is not None
    empty_frt, empty_csat = duration_figures([], source.context.calendar), csat_figures([])
    return {key: level_figures(frt.get(key, empty_frt), satisfaction.get(key, empty_csat), business)
            for key in set(frt) | set(satisfaction)}


def peak(source: StoredSource, period: Period, by: Dimension | None) -> Grouped:
    news: dict[str, Figures] = {key: {"new": 0.0} for key in _groups(by)}
    for key, (n,) in source.rows(by, [func.count()], T, within(T.c.created_at, period), aggregate=[]):
        news[key] = {"new": float(n)}
    return news


FIGURES: dict[str, Callable[[StoredSource, Period, Dimension | None], Grouped]] = {
    "volume": volume, "backlog": backlog, "frt": first_response_time, "response": response_time,
    "resolution": resolution_time, "csat": csat, "outcomes": outcomes, "sla": sla, "agents": team_line, "tags": tags,
    "level": level, "peak": peak,
}
