"""Zendesk API pages become the facts the webhooks would have brought (storage.ingest.backfill.zendesk_api).

Payloads are written from Zendesk's API reference: Incremental Exports (cursor-based tickets,
time-based ticket events with the comment_events sideload), Users, Satisfaction Ratings.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from metrics.model import (
    Assigned,
    Channel,
    Csat,
    MessagePosted,
    Person,
    Priority,
    PriorityChanged,
    Rated,
    RemovalReason,
    Removed,
    Role,
    Status,
    StatusChanged,
    TagsChanged,
    TicketObserved,
)
from metrics.tickets import fold_ticket
from storage.ingest.adapters.contract import PayloadError
from storage.ingest.backfill import zendesk_api
from storage.ingest.backfill.zendesk_api import (
    RATINGS,
    TICKET_EVENTS,
    TICKETS,
    event_page,
    first_request,
    rating_page,
    relative,
    staff_page,
    ticket_page,
)

SINCE = datetime(2026, 8, 1, tzinfo=UTC)
NOW = datetime(2026, 11, 1, tzinfo=UTC)
STAFF = {"2002": "Agent Ana", "2003": "Admin Ben"}


def ticket(**overrides: object) -> dict[str, object]:
    return {"id": 48213, "created_at": "2026-10-05T08:30:00Z", "updated_at": "2026-10-05T12:00:00Z",
            "subject": "Parcel is late", "status": "solved", "priority": "high", "type": "question",
            "tags": ["delivery", "vip"], "via": {"channel": "web", "source": {}}, "requester_id": 1001,
            "assignee_id": 2002, "group_id": 17, "organization_id": None, **overrides}


def audit(audit_id: int, created_at: str, children: list[dict[str, object]],
          ticket_id: int = 48213) -> dict[str, object]:
    moment = datetime.fromisoformat(created_at.replace("Z", "+00:00"))
    return {"id": audit_id, "ticket_id": ticket_id, "timestamp": int(moment.timestamp()), "created_at": created_at,
            "updater_id": 1001, "via": "Web form", "system": {}, "event_type": "Audit", "child_events": children,
            "merged_ticket_ids": []}


def comment(comment_id: int, author: int, *, public: bool = True, body: str = "Where is it?") -> dict[str, object]:
    return {"id": comment_id, "via": {"channel": "web", "source": {}}, "via_reference_id": None, "type": "Comment",
            "author_id": author, "body": body, "html_body": f"<p>{body}</p>", "public": public, "attachments": [],
            "audit_id": 1, "event_type": "Comment"}


def test_each_stream_starts_at_the_window_and_asks_for_what_it_needs() -> None:
    assert first_request(TICKETS, SINCE) == "/api/v2/incremental/tickets/cursor.json?start_time=1785542400"
    assert first_request(TICKET_EVENTS, SINCE) == (
        "/api/v2/incremental/ticket_events.json?start_time=1785542400&include=comment_events")
    assert first_request(RATINGS, SINCE) == (
        "/api/v2/satisfaction_ratings?score=received&start_time=1785542400&page%5Bsize%5D=100")


def test_next_page_links_are_followed_on_zendesks_own_host_only() -> None:
    assert relative("https://acme.zendesk.com/api/v2/users?page%5Bafter%5D=x") == "/api/v2/users?page%5Bafter%5D=x"
    assert relative("https://attacker.example/api/v2/users") == "/api/v2/users"
    assert relative(None) is None


def test_the_staff_list_names_agents_and_admins_by_id() -> None:
    page = {"users": [{"id": 2002, "name": "Agent Ana", "role": "agent"}, {"id": 2003, "name": "Admin Ben",
                                                                          "role": "admin"},
                      {"id": 1001, "name": "Cleo", "role": "end-user"}],
            "meta": {"has_more": True, "after_cursor": "abc"},
            "links": {"next": "https://acme.zendesk.com/api/v2/users?page%5Bafter%5D=abc"}}
    assert staff_page(page) == ({"2002": "Agent Ana", "2003": "Admin Ben"}, "/api/v2/users?page%5Bafter%5D=abc")
    last = {**page, "meta": {"has_more": False}, "links": {"next": None}}
    assert staff_page(last)[1] is None


def test_a_ticket_snapshot_carries_the_fields_the_webhook_detail_does() -> None:
    page = ticket_page({"tickets": [ticket()], "after_cursor": "c2", "after_url":
                        "https://acme.zendesk.com/api/v2/incremental/tickets/cursor.json?cursor=c2",
                        "end_of_stream": False}, since=SINCE, eligible=(), received_at=NOW)
    [snapshot] = page.events
    assert isinstance(snapshot, TicketObserved) and snapshot.ticket_key == "zendesk:48213"
    assert snapshot.event_id == "api:ticket:48213:1791201600"  # one per version of the ticket
    assert (snapshot.channel, snapshot.channel_raw, snapshot.status, snapshot.priority) == (
        Channel.WEB, "web", Status.SOLVED, Priority.HIGH)
    assert snapshot.created_at == datetime(2026, 10, 5, 8, 30, tzinfo=UTC)
    assert (snapshot.requester, snapshot.assignee, snapshot.group) == (Person(id="1001"), Person(id="2002"), "17")
    assert snapshot.tags == ("delivery", "vip") and not snapshot.opened
    assert (page.next, page.done) == ("/api/v2/incremental/tickets/cursor.json?cursor=c2", False)
    assert page.reached == datetime(2026, 10, 5, 12, tzinfo=UTC)


def test_tickets_created_before_the_window_are_left_out_unless_imported_before() -> None:
    old = ticket(id=100, created_at="2026-07-01T00:00:00Z")
    body = {"tickets": [old, ticket()], "after_cursor": "c", "end_of_stream": True}
    assert [e.ticket_id for e in ticket_page(body, since=SINCE, eligible=(), received_at=NOW).events] == ["48213"]
    assert [e.ticket_id for e in ticket_page(body, since=SINCE, eligible={"100"}, received_at=NOW).events] == [
        "100", "48213"]


def test_a_deleted_ticket_leaves_every_metric() -> None:
    page = ticket_page({"tickets": [ticket(status="deleted")], "end_of_stream": True}, since=SINCE, eligible=(),
                       received_at=NOW)
    assert [type(e) for e in page.events] == [TicketObserved, Removed]
    assert page.events[1].reason is RemovalReason.DELETED  # type: ignore[attr-defined]


def test_the_timeline_of_one_ticket() -> None:
    creation = audit(1, "2026-10-05T08:30:00Z", [
        comment(9001, 1001),
        {"id": 11, "via": "Web form", "event_type": "Create", "status": "new"},
        {"id": 12, "via": "Web form", "event_type": "Create", "priority": "normal"},
        {"id": 13, "via": "Web form", "event_type": "Create", "tags": ["delivery"]},
        {"id": 14, "via": "Web form", "event_type": "Create", "requester_id": 1001}])
    reply = audit(2, "2026-10-05T08:55:00Z", [
        comment(9002, 2002, body="On its way"), comment(9003, 2003, public=False, body="check the carrier"),
        {"id": 21, "event_type": "Change", "status": "solved", "previous_value": "open"},
        {"id": 22, "event_type": "Change", "priority": "high", "previous_value": "normal"},
        {"id": 23, "event_type": "Change", "tags": ["delivery", "late"], "added_tags": ["late"],
         "removed_tags": []},
        {"id": 24, "event_type": "Change", "assignee_id": 2002, "previous_value": None},
        {"id": 25, "event_type": "Notification", "subject": "Your request"}])
    page = event_page({"ticket_events": [creation, reply], "end_time": 1791190500, "count": 2,
                       "end_of_stream": True, "next_page": "https://acme.zendesk.com/api/v2/incremental/"
                                                           "ticket_events.json?start_time=1791190500"},
                      staff=STAFF, eligible=(), received_at=NOW)
    created, customer, agent, note, solved, priority, tags, assigned = page.events
    assert isinstance(created, TicketObserved) and created.opened and created.event_id == "api:created:48213"
    assert (created.status, created.priority, created.tags, created.requester) == (
        Status.NEW, Priority.NORMAL, ("delivery",), Person(id="1001"))
    assert created.created_at == datetime(2026, 10, 5, 8, 30, tzinfo=UTC) and created.channel is Channel.WEB
    assert isinstance(customer, MessagePosted) and (customer.message_id, customer.author_role) == ("9001",
                                                                                                    Role.CUSTOMER)
    assert isinstance(agent, MessagePosted) and agent.author == Person(id="2002", name="Agent Ana")
    assert (agent.author_role, agent.public, agent.event_id) == (Role.AGENT, True, "api:comment:9002")
    assert isinstance(note, MessagePosted) and (note.author_role, note.public) == (Role.AGENT, False)
    assert isinstance(solved, StatusChanged) and (solved.status, solved.previous) == (Status.SOLVED, Status.OPEN)
    assert isinstance(priority, PriorityChanged) and priority.priority is Priority.HIGH
    assert isinstance(tags, TagsChanged) and (tags.added, tags.removed) == (("late",), ())
    assert isinstance(assigned, Assigned) and assigned.assignee == Person(id="2002")
    assert page.created == {"48213"} and page.done
    assert page.next == "/api/v2/incremental/ticket_events.json?start_time=1791190500&include=comment_events"
    t = fold_ticket(page.events)
    assert (t.first_response_seconds, t.agent_replies, t.customer_messages, t.first_resolution_seconds) == (
        1500.0, 1, 1, 1500.0)


def test_zendesk_itself_writes_system_comments_and_end_users_are_customers() -> None:
    page = event_page({"ticket_events": [audit(1, "2026-10-05T08:30:00Z", [
        {"id": 1, "event_type": "Create", "status": "new"}, comment(9001, -1, body="We got your request"),
        comment(9002, 5555)])], "end_of_stream": True}, staff=STAFF, eligible=(), received_at=NOW)
    roles = [e.author_role for e in page.events if isinstance(e, MessagePosted)]
    assert roles == [Role.SYSTEM, Role.CUSTOMER]


def test_updates_of_tickets_created_before_the_window_are_left_out() -> None:
    later = audit(5, "2026-10-06T09:00:00Z", [comment(9100, 2002)], ticket_id=100)
    page = event_page({"ticket_events": [later], "end_of_stream": True}, staff=STAFF, eligible=(), received_at=NOW)
    assert page.events == [] and page.created == frozenset()
    kept = event_page({"ticket_events": [later], "end_of_stream": True}, staff=STAFF, eligible={"100"},
                      received_at=NOW)
    assert [e.event_id for e in kept.events] == ["api:comment:9100"]


def test_field_changes_read_in_the_audits_api_shape_too() -> None:
    change = audit(7, "2026-10-06T09:00:00Z", [
        {"id": 71, "type": "Change", "field_name": "status", "value": "pending", "previous_value": "open"},
        {"id": 72, "type": "Change", "field_name": "tags", "value": ["a", "c"], "previous_value": ["a", "b"]},
        {"id": 73, "type": "Change", "field_name": "group_id", "value": 18, "previous_value": 17}])
    page = event_page({"ticket_events": [change], "end_of_stream": True}, staff=STAFF, eligible={"48213"},
                      received_at=NOW)
    status, tags, group = page.events
    assert isinstance(status, StatusChanged) and status.status is Status.PENDING
    assert isinstance(tags, TagsChanged) and (tags.added, tags.removed) == (("c",), ("b",))
    assert isinstance(group, Assigned) and (group.assignee, group.group) == (None, "18")


def test_a_page_without_its_list_is_not_read() -> None:
    with pytest.raises(PayloadError) as raised:
        event_page({"count": 0}, staff=STAFF, eligible=(), received_at=NOW)
    assert raised.value.code == "missing_field"


def test_ratings_are_good_or_bad_at_the_time_they_were_given() -> None:
    body = {"satisfaction_ratings": [
        {"id": 501, "ticket_id": 48213, "score": "good", "comment": "Fast!", "assignee_id": 2002,
         "created_at": "2026-10-05T12:00:00Z", "updated_at": "2026-10-05T13:10:00Z"},
        {"id": 502, "ticket_id": 48213, "score": "offered", "created_at": "2026-10-05T12:00:00Z",
         "updated_at": "2026-10-05T12:00:00Z"},
        {"id": 503, "ticket_id": 100, "score": "bad", "created_at": "2026-10-05T12:00:00Z",
         "updated_at": "2026-10-05T12:00:00Z"}],
        "meta": {"has_more": False}, "links": {"next": None}}
    first = first_request(RATINGS, SINCE)
    page = rating_page(body, eligible={"48213"}, received_at=NOW, restart=first)
    [rated] = page.events
    assert isinstance(rated, Rated) and (rated.rating, rated.raw, rated.comment) == (Csat.GOOD, "good", "Fast!")
    assert rated.occurred_at == datetime(2026, 10, 5, 13, 10, tzinfo=UTC) and rated.agent == Person(id="2002")
    assert (page.done, page.next) == (True, first)  # read again from the start on the next run


def test_which_tickets_a_page_is_about() -> None:
    body = {"ticket_events": [audit(1, "2026-10-05T08:30:00Z", [], ticket_id=7),
                              audit(2, "2026-10-05T08:31:00Z", [], ticket_id=48213)]}
    assert zendesk_api.ticket_ids(body, TICKET_EVENTS) == ["48213", "7"]


def test_a_ticket_zendesk_closed_by_merging_it_leaves_every_metric() -> None:
    merged = ticket(status="closed", tags=["delivery", "closed_by_merge"])
    events = ticket_page({"tickets": [merged], "end_of_stream": True}, since=SINCE, eligible=(),
                         received_at=NOW).events
    [removed] = [e for e in events if isinstance(e, Removed)]
    assert removed.reason == RemovalReason.MERGED and removed.event_id == "api:merged:48213"
    assert fold_ticket(events).removed == RemovalReason.MERGED


def test_the_update_that_merges_a_ticket_away_removes_it_and_its_target_stays() -> None:
    closing = [{"id": 7001, "event_type": "Change", "status": "closed", "previous_value": "open"},
               {"id": 7002, "event_type": "Change", "tags": ["delivery", "closed_by_merge"],
                "added_tags": ["closed_by_merge"], "removed_tags": [], "previous_value": "delivery"}]
    note = comment(7003, 2002, public=False, body="Request #48214 was closed and merged into this request.")
    source, target = audit(9001, "2026-10-05T09:00:00Z", closing, ticket_id=48214), audit(
        9002, "2026-10-05T09:00:00Z", [note], ticket_id=48213)
    source["via"] = target["via"] = "Merge"
    events = event_page({"ticket_events": [source, target], "end_of_stream": True}, staff=STAFF,
                        eligible=("48213", "48214"), received_at=NOW).events
    removals = [(e.ticket_id, e.reason, e.event_id) for e in events if isinstance(e, Removed)]
    assert removals == [("48214", RemovalReason.MERGED, "api:merged:48214")]  # the same id as from its snapshot
    # the audits API's via object says it the same way, and a closing via merge alone is enough
    source["via"] = {"channel": "web", "source": {"rel": "merge", "from": {}, "to": {}}}
    source["child_events"] = closing[:1]
    events = event_page({"ticket_events": [source], "end_of_stream": True}, staff=STAFF, eligible=("48214",),
                        received_at=NOW).events
    assert [e.reason for e in events if isinstance(e, Removed)] == [RemovalReason.MERGED]
    # an ordinary closing is not a merge
    source["via"] = "Web form"
    events = event_page({"ticket_events": [source], "end_of_stream": True}, staff=STAFF, eligible=("48214",),
                        received_at=NOW).events
    assert not [e for e in events if isinstance(e, Removed)]


@pytest.mark.parametrize(("satisfaction", "expected"), [
    ({"id": 35436, "score": "good", "comment": "Great support!"}, Csat.GOOD),
    ({"id": 35436, "score": "bad", "comment": None}, Csat.BAD),
    ({"score": "offered"}, None), ({"score": "unoffered"}, None), (None, None),  # asked, not answered; no CSAT
])
def test_the_rating_a_ticket_snapshot_carries(satisfaction: object, expected: Csat | None) -> None:
    events = ticket_page({"tickets": [ticket(satisfaction_rating=satisfaction)], "end_of_stream": True}, since=SINCE,
                         eligible=(), received_at=NOW).events
    rated = [e for e in events if isinstance(e, Rated)]
    assert [r.rating for r in rated] == ([expected] if expected else [])
    if rated:  # dated by the ticket's last update, which may come after the rating: a suspect time
        assert rated[0].time_suspect and rated[0].occurred_at == datetime(2026, 10, 5, 12, tzinfo=UTC)


def test_a_listed_rating_replaces_the_undated_one_of_the_snapshot() -> None:
    listed = {"id": 35436, "ticket_id": 48213, "score": "good", "updated_at": "2026-10-05T10:00:00Z"}
    page = rating_page({"satisfaction_ratings": [listed], "meta": {"has_more": False}, "links": {}},
                       eligible=("48213",), received_at=NOW, restart="/start")
    assert set(page.superseded) == {"api:rating:35436:ticket:good", "api:rating:35436:ticket:bad"}
