"""Per-ticket numbers from literal events (docs/metrics.md, "Per ticket")."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta

from metrics.model import (
    Assigned,
    Channel,
    Csat,
    CsatScale,
    MessagePosted,
    Person,
    Rated,
    RemovalReason,
    Removed,
    Restored,
    Role,
    Status,
    StatusChanged,
    TicketEvent,
    TicketObserved,
)
from metrics.stats import median, percentile
from metrics.tickets import fold_ticket

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
_n = itertools.count()


def minutes(m: float) -> datetime:
    return T0 + timedelta(minutes=m)


def base(m: float) -> dict[str, object]:
    return {"source": "test", "ticket_id": "1", "event_id": f"e{next(_n)}", "occurred_at": minutes(m)}


def opened(m: float = 0, **kw: object) -> TicketObserved:
    return TicketObserved(**base(m), opened=True, channel=Channel.EMAIL, status=Status.NEW, **kw)  # type: ignore[arg-type]


def says(m: float, role: Role, *, public: bool = True, who: str = "ana") -> MessagePosted:
    return MessagePosted(**base(m), message_id=f"m{next(_n)}", author_role=role,  # type: ignore[arg-type]
                         author=Person(id=who), public=public)


def status(m: float, value: Status) -> StatusChanged:
    return StatusChanged(**base(m), status=value)  # type: ignore[arg-type]


def test_first_response_counts_from_creation_to_the_first_public_agent_reply() -> None:
    t = fold_ticket([opened(), says(0, Role.CUSTOMER), says(5, Role.AGENT, public=False),
                     says(7, Role.BOT), says(12, Role.AGENT), status(60, Status.SOLVED)])
    assert t.first_response_seconds == 12 * 60  # the note and the bot do not count
    assert (t.agent_replies, t.bot_replies, t.customer_messages) == (1, 1, 1)
    assert t.one_touch and not t.abandoned
    assert t.first_resolution_seconds == t.full_resolution_seconds == 3600


def test_no_reply_means_no_first_response_time_not_zero() -> None:
    t = fold_ticket([opened(), says(0, Role.CUSTOMER), status(30, Status.SOLVED)])
    assert t.first_response_seconds is None
    assert t.abandoned and not t.one_touch


def test_every_wait_for_an_agent_is_one_response_interval() -> None:
    t = fold_ticket([opened(), says(0, Role.CUSTOMER), says(10, Role.AGENT), says(20, Role.CUSTOMER),
                     says(25, Role.CUSTOMER), says(50, Role.AGENT), says(55, Role.AGENT), says(70, Role.CUSTOMER)])
    assert t.response_intervals_seconds == (600.0, 1800.0)  # the second wait starts at the first message
    assert t.awaiting_reply_since == minutes(70)


def test_a_reopen_keeps_the_first_resolution_and_moves_the_full_one() -> None:
    t = fold_ticket([opened(), says(0, Role.CUSTOMER), says(5, Role.AGENT), status(10, Status.SOLVED),
                     says(100, Role.CUSTOMER), status(100, Status.OPEN), says(110, Role.AGENT),
                     status(120, Status.CLOSED)])
    assert (t.times_resolved, t.reopens) == (2, 1)
    assert t.first_resolution_seconds == 600 and t.full_resolution_seconds == 7200
    assert not t.one_touch


def test_an_unresolved_ticket_has_no_full_resolution_time() -> None:
    t = fold_ticket([opened(), status(10, Status.SOLVED), status(20, Status.OPEN)])
    assert t.first_resolution_seconds == 600 and t.full_resolution_seconds is None and t.reopens == 1


def test_reopens_are_seen_in_snapshots_too() -> None:
    snapshot = [TicketObserved(**base(m), status=s) for m, s in ((10, Status.SOLVED), (20, Status.OPEN),  # type: ignore[arg-type]
                                                                 (30, Status.SOLVED))]
    t = fold_ticket([opened(), *snapshot])
    assert (t.times_resolved, t.reopens, t.full_resolution_seconds) == (2, 1, 1800)


def test_outbound_tickets_start_the_clock_at_the_customers_first_message() -> None:
    t = fold_ticket([opened(opened_by=Role.AGENT), says(0, Role.AGENT), says(60, Role.CUSTOMER),
                     says(75, Role.AGENT)])
    assert t.first_response_seconds == 15 * 60 and t.outbound


def test_the_latest_rating_counts() -> None:
    def rated(m: float, value: int, csat: Csat) -> Rated:
        return Rated(**base(m), rating=csat, scale=CsatScale.ONE_TO_FIVE, raw=str(value), score=value)  # type: ignore[arg-type]

    t = fold_ticket([opened(), rated(60, 2, Csat.BAD), rated(90, 5, Csat.GOOD)])
    assert (t.csat, t.csat_score) == (Csat.GOOD, 5)


def test_any_arrival_order_gives_the_same_ticket() -> None:
    events: list[TicketEvent] = [opened(), says(0, Role.CUSTOMER), says(3, Role.AGENT), status(4, Status.SOLVED),
                                 says(30, Role.CUSTOMER), status(30, Status.OPEN), says(33, Role.AGENT),
                                 status(40, Status.SOLVED)]
    rng = random.Random(2)
    orders = [rng.sample(events, len(events)) for _ in range(300)]
    assert {fold_ticket(order) for order in orders} == {fold_ticket(events)}


def test_a_reply_before_the_creation_arrives_waits_for_it() -> None:
    early = fold_ticket([says(12, Role.AGENT)])
    assert not early.created_at_known
    complete = fold_ticket([says(12, Role.AGENT), opened()])
    assert complete.created_at_known and complete.first_response_seconds == 720


def test_removed_tickets_are_flagged() -> None:
    t = fold_ticket([opened(), Removed(**base(5), reason=RemovalReason.SPAM)])  # type: ignore[arg-type]
    assert t.removed == RemovalReason.SPAM


def removed(m: float, reason: RemovalReason = RemovalReason.SPAM) -> Removed:
    return Removed(**base(m), reason=reason)  # type: ignore[arg-type]


def restored(m: float) -> Restored:
    return Restored(**base(m))  # type: ignore[arg-type]


def test_a_ticket_marked_not_spam_again_counts_again_with_its_whole_history() -> None:
    story = [opened(), says(0, Role.CUSTOMER), removed(5), restored(30), says(42, Role.AGENT),
             status(60, Status.SOLVED)]
    t = fold_ticket(story)
    assert t.removed is None
    assert t.first_response_seconds == 42 * 60 and t.one_touch  # as if it had never been flagged


def test_the_latest_removal_or_restoration_decides_in_any_arrival_order() -> None:
    spam_again = [opened(), removed(5), restored(30), removed(50, RemovalReason.DELETED)]
    back_again = [opened(), removed(5, RemovalReason.DELETED), restored(30), removed(40), restored(50)]
    for events, expected in ((spam_again, RemovalReason.DELETED), (back_again, None)):
        arrivals = {fold_ticket(order).removed for order in itertools.permutations(events)}
        assert arrivals == {expected}


def test_a_removal_delivered_after_the_restoration_that_undid_it_stays_undone() -> None:
    spam, unspam = removed(5), restored(30)
    assert fold_ticket([opened(), unspam]).removed is None  # restoring what was never removed: nothing
    assert fold_ticket([opened(), unspam, spam]).removed is None  # the removal, delivered late, is older


def test_a_removal_and_a_restoration_of_the_same_second_leave_the_ticket_in() -> None:
    events = [opened(), removed(5), restored(5)]
    assert {fold_ticket(order).removed for order in itertools.permutations(events)} == {None}


def test_a_merge_is_not_undone() -> None:
    t = fold_ticket([opened(), removed(5, RemovalReason.MERGED), restored(30)])
    assert t.removed == RemovalReason.MERGED
    spam_then_merged = fold_ticket([opened(), removed(5), restored(10), removed(20, RemovalReason.MERGED),
                                    removed(25), restored(30)])
    assert spam_then_merged.removed == RemovalReason.MERGED


def test_median_and_nearest_rank_percentile() -> None:
    assert median([1, 3, 2, 10]) == 2.5
    assert percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == 9
    assert percentile([5], 0.9) == 5 and median([]) is None


def test_a_change_of_group_alone_keeps_the_assignee_and_an_empty_assignee_unassigns() -> None:
    assign = Assigned(**base(5), assignee=Person(id="ana", name="Ana"))  # type: ignore[arg-type]
    regroup = Assigned(**base(10), assignee=None, group="billing")  # type: ignore[arg-type]
    t = fold_ticket([opened(), assign, regroup])
    assert (t.assignee, t.group) == (Person(id="ana", name="Ana"), "billing")
    t = fold_ticket([opened(), assign, regroup, Assigned(**base(15), assignee=Person())])  # type: ignore[arg-type]
    assert (t.assignee, t.group) == (None, "billing")
