"""A local stand-in for the parts of Zendesk's REST API that `deskpulse backfill zendesk` reads,
on a real HTTP server, with an account builder that also writes the same story as webhooks.

Served as Zendesk documents them (developer.zendesk.com, Incremental Exports; Users; Satisfaction
Ratings; Pagination):
- /api/v2/users?role[]=…&page[size]=… (cursor pagination: meta.has_more, links.next);
- /api/v2/incremental/tickets/cursor.json?start_time=… | ?cursor=… (after_cursor, after_url,
  end_of_stream; the cursor keeps working after the end, for later changes);
- /api/v2/incremental/ticket_events.json?start_time=…&include=comment_events (time-based:
  next_page starts at the page's end_time, so items of that second come again; without the
  sideload a comment is only `comment_present`);
- /api/v2/satisfaction_ratings?score=received&start_time=…&page[size]=… (cursor pagination).
Tickets carry `satisfaction_rating` ({id, score, comment} or {score: offered}); a merge closes the
merged-away ticket and tags it closed_by_merge in an update via "Merge".
Basic authentication with `<email>/token:<token>` is required. Failures are injected per path:
429s with a Retry-After, and outages (503 from the n-th request on).
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

EMAIL, TOKEN = "admin@example.com", "zendesk-api-token"
SYSTEM = "-1"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class ZendeskApiStandIn:
    server: ThreadingHTTPServer
    users: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    ticket_events: list[dict[str, Any]] = field(default_factory=list)
    ratings: list[dict[str, Any]] = field(default_factory=list)
    page_size: int = 2
    rate_limits: dict[str, int] = field(default_factory=dict)  # path -> 429s to give first
    retry_after: str = "7"
    down_from: dict[str, int] = field(default_factory=dict)  # path -> the n-th request on answers 503
    requests: list[str] = field(default_factory=list)  # path and query of every request, in order
    _counts: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def asked(self, path: str) -> list[dict[str, str]]:
        """The queries of every request to `path`, in order."""
        return [{k: v[-1] for k, v in parse_qs(urlsplit(r).query).items()} for r in self.requests
                if urlsplit(r).path == path]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- answers ---------------------------------------------------------------------------

    def answer(self, path: str, query: dict[str, list[str]], authorization: str | None) -> tuple[int, dict[str, Any],
                                                                                                  dict[str, str]]:
        expected = "Basic " + base64.b64encode(f"{EMAIL}/token:{TOKEN}".encode()).decode()
        if authorization != expected:
            return 401, {"error": "Couldn't authenticate you"}, {}
        with self._lock:
            self._counts[path] = self._counts.get(path, 0) + 1
            if self.rate_limits.get(path, 0) > 0:
                self.rate_limits[path] -= 1
                return 429, {"error": "APIRateLimitExceeded"}, {"Retry-After": self.retry_after}
            if path in self.down_from and self._counts[path] >= self.down_from[path]:
                return 503, {"error": "ServiceUnavailable"}, {}
        one = {k: v[-1] for k, v in query.items()}
        handlers = {"/api/v2/users": self._users, "/api/v2/incremental/tickets/cursor.json": self._tickets,
                    "/api/v2/incremental/ticket_events.json": self._ticket_events,
                    "/api/v2/satisfaction_ratings": self._ratings}
        if path not in handlers:
            return 404, {"error": "InvalidEndpoint"}, {}
        return 200, handlers[path](one, query), {}

    def _cursor_page(self, items: list[dict[str, Any]], key: str, path: str, query: dict[str, str],
                     keep: dict[str, list[str]]) -> dict[str, Any]:
        size = int(query.get("page[size]", self.page_size))
        start = int(base64.b64decode(query["page[after]"]).decode()) if query.get("page[after]") else 0
        chunk, end = items[start:start + size], start + size
        more = end < len(items)
        after = base64.b64encode(str(end).encode()).decode()
        params = [(k, v) for k, values in keep.items() if k not in ("page[after]",) for v in values]
        return {key: chunk, "meta": {"has_more": more, "after_cursor": after if more else None,
                                     "before_cursor": None},
                "links": {"next": f"{self.base_url}{path}?{urlencode([*params, ('page[after]', after)])}"
                          if more else None, "prev": None}}

    def _users(self, query: dict[str, str], full: dict[str, list[str]]) -> dict[str, Any]:
        roles = full.get("role[]") or [u["role"] for u in self.users]
        chosen = [u for u in self.users if u["role"] in roles]
        return self._cursor_page(chosen, "users", "/api/v2/users", query, full)

    def _tickets(self, query: dict[str, str], full: dict[str, list[str]]) -> dict[str, Any]:
        if "cursor" in query:
            start_time, offset = base64.b64decode(query["cursor"]).decode().split(":")
        else:
            start_time, offset = query["start_time"], "0"
        items = sorted((t for t in self.tickets if _epoch(t["updated_at"]) >= int(start_time)),
                       key=lambda t: (t["updated_at"], t["id"]))
        size = int(query.get("per_page", self.page_size))
        chunk = items[int(offset):int(offset) + size]
        end = int(offset) + len(chunk)
        cursor = base64.b64encode(f"{start_time}:{end}".encode()).decode()
        path = "/api/v2/incremental/tickets/cursor.json"
        return {"tickets": chunk, "after_cursor": cursor, "after_url": f"{self.base_url}{path}?cursor={cursor}",
                "before_cursor": None, "before_url": None, "end_of_stream": end >= len(items)}

    def _ticket_events(self, query: dict[str, str], full: dict[str, list[str]]) -> dict[str, Any]:
        start = int(query["start_time"])
        items = sorted((e for e in self.ticket_events if e["timestamp"] >= start), key=lambda e: (e["timestamp"],
                                                                                                   e["id"]))
        size = self.page_size
        while size < len(items) and items[size - 1]["timestamp"] == start:
            size += 1  # a page always moves past its start time, or the next page would be this one
        chunk = items[:size]
        end_of_stream = len(chunk) == len(items)
        if query.get("include") != "comment_events":
            chunk = [_without_comments(e) for e in chunk]
        end_time = chunk[-1]["timestamp"] if chunk else start
        params = urlencode([("start_time", end_time)] + ([("include", query["include"])] if "include" in query else []))
        return {"ticket_events": chunk, "count": len(chunk), "end_time": end_time, "end_of_stream": end_of_stream,
                "next_page": f"{self.base_url}/api/v2/incremental/ticket_events.json?{params}"}

    def _ratings(self, query: dict[str, str], full: dict[str, list[str]]) -> dict[str, Any]:
        start = int(query.get("start_time", 0))
        chosen = [r for r in self.ratings if _epoch(r["created_at"]) >= start
                  and (query.get("score") != "received" or r["score"] in ("good", "bad"))]
        return self._cursor_page(chosen, "satisfaction_ratings", "/api/v2/satisfaction_ratings", query, full)


def _epoch(text: str) -> int:
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def _without_comments(event: dict[str, Any]) -> dict[str, Any]:
    children = [{"comment_present": True, "comment_public": c.get("public", True), "event_type": "Comment"}
                if c.get("event_type") == "Comment" else c for c in event["child_events"]]
    return {**event, "child_events": children}


def start_zendesk_api_standin() -> ZendeskApiStandIn:
    standin: ZendeskApiStandIn

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            standin.requests.append(self.path)
            status, body, headers = standin.answer(url.path, parse_qs(url.query), self.headers.get("authorization"))
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    standin = ZendeskApiStandIn(server)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return standin


# --- one Zendesk account's story, for the API and for webhooks --------------------------------------


class ZendeskTicket:
    """One ticket's life, written both as the API exports it and as event webhooks would send it.

    `t = account.ticket("48213", opened=…)`, then `t.comment(25, "9002", author="2002")`,
    `t.status(26, "solved")`; minutes count from the opening.
    """

    def __init__(self, account: ZendeskAccount, ticket_id: str, opened: datetime, *, requester: str,
                 channel: str, subject: str, tags: list[str], assignee: str | None, group: str | None) -> None:
        self.account, self.id, self.opened = account, ticket_id, opened
        self.fields = {"status": "new", "priority": "normal", "tags": tags, "subject": subject, "type": "question",
                       "requester_id": int(requester), "assignee_id": int(assignee) if assignee else None,
                       "group_id": int(group) if group else None}
        self.channel = channel
        self.updated = opened
        self.satisfaction: dict[str, Any] | None = None
        self.webhooks: list[dict[str, Any]] = []
        creates = [{"id": account.next_id(), "event_type": "Create", "via": "Web form", "via_reference_id": None,
                    name: value} for name, value in self.fields.items() if value is not None]
        self._audit(0, creates, author=requester)
        self._webhook("created", 0, {"meta": {"sequence": {"id": "s", "position": 1}}})

    def at(self, minutes: float) -> datetime:
        return self.opened + timedelta(minutes=minutes)

    def comment(self, minutes: float, comment_id: str, *, author: str, public: bool = True,
                body: str = "…") -> ZendeskTicket:
        child = {"id": int(comment_id), "event_type": "Comment", "type": "Comment", "author_id": int(author),
                 "body": body, "html_body": f"<p>{body}</p>", "plain_body": body, "public": public,
                 "attachments": [], "via": {"channel": "web"}, "via_reference_id": None,
                 "created_at": iso(self.at(minutes))}
        self._audit(minutes, [child], author=author)
        staff = author in self.account.staff or author == SYSTEM
        self._webhook("comment_added", minutes, {"comment": {
            "id": comment_id, "body": body, "is_public": public,
            "author": {"id": author, "is_staff": staff, "name": self.account.staff.get(author, "Cleo")}}})
        return self

    def status(self, minutes: float, status: str, *, author: str = "2002") -> ZendeskTicket:
        previous = self.fields["status"]
        self.fields["status"] = status
        self._audit(minutes, [{"id": self.account.next_id(), "event_type": "Change", "via": "Web form",
                               "via_reference_id": None, "status": status, "previous_value": previous}],
                    author=author)
        self._webhook("status_changed", minutes, {"current": status.upper(), "previous": str(previous).upper()})
        return self

    def rated(self, minutes: float, score: str, comment: str | None = None, *, listed: bool = True) -> ZendeskTicket:
        """A rating: in the ticket's `satisfaction_rating` ({id, score, comment}, as the Tickets API
        shows it) and, unless `listed` is False, in the satisfaction ratings list with its times."""
        rating_id = self.account.next_id()
        if listed:
            self.account.standin.ratings.append({
                "id": rating_id, "ticket_id": int(self.id), "score": score, "comment": comment,
                "assignee_id": self.fields["assignee_id"], "group_id": self.fields["group_id"],
                "requester_id": self.fields["requester_id"], "created_at": iso(self.at(minutes - 5)),
                "updated_at": iso(self.at(minutes)), "url": ""})
        self.satisfaction = {"id": rating_id, "score": score, "comment": comment}
        self.updated = max(self.updated, self.at(minutes))
        self._snapshot()
        return self

    def offered(self, minutes: float) -> ZendeskTicket:
        """A survey sent and not answered: the ticket's satisfaction_rating says "offered"."""
        self.satisfaction = {"score": "offered"}
        self.updated = max(self.updated, self.at(minutes))
        self._snapshot()
        return self

    def merged_into(self, minutes: float, target: ZendeskTicket, *, author: str = "2002") -> ZendeskTicket:
        """An agent merges this ticket into `target`, as Zendesk does: this one gets a private note,
        is closed and tagged closed_by_merge in one update made via merge; the target gets a
        private note via merge too. Webhooks: ticket.merged for this one."""
        note = self.account.next_id()
        previous_tags = list(self.fields["tags"])
        self.fields["tags"] = [*previous_tags, "closed_by_merge"]
        previous = self.fields["status"]
        self.fields["status"] = "closed"
        self._audit(minutes, [
            {"id": note, "event_type": "Comment", "type": "Comment", "author_id": int(author),
             "body": f"Request #{self.id} was closed and merged into request #{target.id}.", "public": False,
             "created_at": iso(self.at(minutes))},
            {"id": self.account.next_id(), "event_type": "Change", "via": "Merge", "via_reference_id": None,
             "status": "closed", "previous_value": previous},
            {"id": self.account.next_id(), "event_type": "Change", "via": "Merge", "via_reference_id": None,
             "tags": self.fields["tags"], "added_tags": ["closed_by_merge"], "removed_tags": [],
             "previous_value": " ".join(previous_tags)}], author=author, via="Merge")
        moment = self.at(minutes)
        target_minutes = (moment - target.opened).total_seconds() / 60
        target._audit(target_minutes, [
            {"id": self.account.next_id(), "event_type": "Comment", "type": "Comment", "author_id": int(author),
             "body": f"Request #{self.id} was closed and merged into this request.", "public": False,
             "created_at": iso(moment)}], author=author, via="Merge")
        self._webhook("merged", minutes, {})
        return self

    def _audit(self, minutes: float, children: list[dict[str, Any]], *, author: str, via: str = "Web form") -> None:
        moment = self.at(minutes)
        self.account.standin.ticket_events.append({
            "id": self.account.next_id(), "ticket_id": int(self.id), "timestamp": int(moment.timestamp()),
            "created_at": iso(moment), "updater_id": int(author), "via": via, "system": {},
            "event_type": "Audit", "child_events": children, "merged_ticket_ids": []})
        self.updated = max(self.updated, moment)
        self._snapshot()

    def _snapshot(self) -> None:
        standin = self.account.standin
        standin.tickets[:] = [t for t in standin.tickets if str(t["id"]) != self.id]
        standin.tickets.append({
            "id": int(self.id), "url": "", "external_id": None, "via": {"channel": self.channel, "source": {}},
            "created_at": iso(self.opened), "updated_at": iso(self.updated), "type": self.fields["type"],
            "subject": self.fields["subject"], "raw_subject": self.fields["subject"], "description": "…",
            "priority": self.fields["priority"], "status": self.fields["status"],
            "requester_id": self.fields["requester_id"], "submitter_id": self.fields["requester_id"],
            "assignee_id": self.fields["assignee_id"], "organization_id": None, "group_id": self.fields["group_id"],
            "tags": self.fields["tags"], "satisfaction_rating": self.satisfaction,
            "generated_timestamp": int(self.updated.timestamp())})

    def _webhook(self, kind: str, minutes: float, event: dict[str, Any]) -> None:
        """An event-subscription webhook body (developer.zendesk.com, Ticket events)."""
        detail = {"id": self.id, "created_at": iso(self.opened), "updated_at": iso(self.at(minutes)),
                  "status": str(self.fields["status"]).upper(), "priority": str(self.fields["priority"]).upper(),
                  "tags": self.fields["tags"], "type": "QUESTION", "subject": self.fields["subject"],
                  "via": {"channel": self.channel}, "requester_id": str(self.fields["requester_id"]),
                  "assignee_id": str(self.fields["assignee_id"] or ""), "organization_id": None,
                  "group_id": str(self.fields["group_id"] or ""), "brand_id": "1", "is_public": True}
        self.webhooks.append({
            "type": f"zen:event-type:ticket.{kind}", "account_id": 9012345,
            "id": f"{self.id}-{kind}-{minutes}-{len(self.webhooks)}", "time": iso(self.at(minutes)),
            "zendesk_event_version": "2022-11-06", "subject": f"zen:ticket:{self.id}", "detail": detail,
            "event": event})


class ZendeskAccount:
    """The users, tickets, updates and ratings of one account, served by a stand-in."""

    def __init__(self, standin: ZendeskApiStandIn, *, staff: dict[str, str]) -> None:
        self.standin, self.staff = standin, staff
        self._ids = 800000
        standin.users += [{"id": int(i), "name": name, "role": "agent", "email": f"{name.lower()}@example.com"}
                          for i, name in staff.items()]

    def next_id(self) -> int:
        self._ids += 1
        return self._ids

    def ticket(self, ticket_id: str, *, opened: datetime, requester: str = "1001", channel: str = "web",
               subject: str = "Parcel is late", tags: list[str] | None = None, assignee: str | None = "2002",
               group: str | None = "17") -> ZendeskTicket:
        return ZendeskTicket(self, ticket_id, opened, requester=requester, channel=channel, subject=subject,
                             tags=tags or ["delivery"], assignee=assignee, group=group)
