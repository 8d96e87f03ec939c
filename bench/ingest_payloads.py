"""Realistic, unique webhook bodies for the ingestion benchmark, one builder per helpdesk.

Each builder is `(n, now) -> Payload`: delivery `n` of a stream in which every ticket lives
through four deliveries (n // 4 is the ticket, n % 4 the step: opened, a customer message, an
agent reply, solved), in the payload shape that helpdesk really sends, modelled on its fixtures
in tests/fixtures/webhooks/<helpdesk>/ (named beside each step). Shopify, a shop, sends orders
instead: one new order per delivery. Ids are derived from `n`, so no delivery repeats another;
times lie in the three minutes before `now`.

A builder returns the body only; the benchmark signs it with the adapter's own
`signed_headers(secret, body, now)`. `Payload.headers` holds what the helpdesk sends unsigned
beside it (Help Scout's event name), `Payload.hint` the route's last segment where the helpdesk
names its event in the URL (/webhooks/gorgias/<trigger>, /webhooks/freshdesk/<event>).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

STEPS = ("opened", "customer message", "agent reply", "solved")


@dataclass(frozen=True)
class Payload:
    body: dict[str, Any]
    hint: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def _step(n: int) -> tuple[int, int]:
    return n // len(STEPS), n % len(STEPS)


def _at(now: datetime, step: int) -> datetime:
    """When step `step` of a ticket happened: a minute apart, the last one at `now`."""
    return now - timedelta(minutes=len(STEPS) - 1 - step)


def _iso_z(when: datetime, digits: int = 0) -> str:
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    return text + (f".{when.microsecond:06d}"[:digits + 1] if digits else "") + "Z"


# --- deskpulse's own format (docs/webhooks.md) ---------------------------------------------------


def deskpulse(n: int, now: datetime) -> Payload:
    ticket, step = _step(n)
    tid, at = str(ticket), _at(now, step).isoformat()
    base = {"id": f"b{n}", "ticket_id": tid, "occurred_at": at}
    if step == 0:
        events = [{**base, "type": "ticket.created",
                   "ticket": {"channel": ("email", "chat", "social")[ticket % 3], "status": "new",
                              "subject": "Where is my parcel?", "tags": ["shipping"]}},
                  {**base, "id": f"b{n}m", "type": "message.created",
                   "message": {"id": f"m{n}", "author": {"role": "customer", "id": f"c{ticket}"},
                               "body": "Hi! Where is my parcel?"}}]
    elif step in (1, 2):
        author = ({"role": "customer", "id": f"c{ticket}"} if step == 1 else
                  {"role": "agent", "id": "a1", "name": "Ana"})
        events = [{**base, "type": "message.created",
                   "message": {"id": f"m{n}", "author": author,
                               "body": "Order #1001, if that helps" if step == 1 else "It ships today."}}]
    else:
        events = [{**base, "type": "ticket.status_changed", "status": "solved"}]
    return Payload({"version": 1, "events": events})


# --- Zendesk: event-subscription webhooks (01_ticket_created, 02_customer_comment,
#     03_agent_public_reply, 05_solved) ----------------------------------------------------------


def zendesk(n: int, now: datetime) -> Payload:
    ticket, step = _step(n)
    tid = str(480000 + ticket)
    requester, agent = str(1000000 + ticket), "2002"
    status = ("NEW", "OPEN", "OPEN", "SOLVED")[step]
    detail = {"id": tid, "created_at": _iso_z(_at(now, 0)), "status": status, "priority": "NORMAL",
              "tags": ["delivery"], "type": "QUESTION", "subject": "Parcel is late",
              "via": {"channel": ("web", "email", "chat")[ticket % 3]}, "requester_id": requester,
              "assignee_id": agent if step else None, "group_id": "17", "organization_id": None}
    change, event = [
        ("created", {"meta": {}}),
        ("comment_added", {"comment": {"id": f"c{n}", "body": "Where is it?", "is_public": True,
                                       "author": {"id": requester, "is_staff": False, "name": "Cleo"}}}),
        ("comment_added", {"comment": {"id": f"c{n}", "body": "On its way", "is_public": True,
                                       "author": {"id": agent, "is_staff": True, "name": "Ana"}}}),
        ("status_changed", {"current": "SOLVED", "previous": "OPEN"}),
    ][step]
    return Payload({"type": f"zen:event-type:ticket.{change}", "account_id": 9012345, "id": f"01J-{n:012d}",
                    "time": _iso_z(_at(now, step)), "zendesk_event_version": "2022-11-06",
                    "subject": f"zen:ticket:{tid}", "detail": detail, "event": event})


# --- Freshdesk: automation rules' "Trigger webhook" (01_ticket_created, 02_customer_reply,
#     04_reply_by_another_agent with its hint, 07_resolved) --------------------------------------


def freshdesk(n: int, now: datetime) -> Payload:
    ticket, step = _step(n)
    tid = str(470000 + ticket)
    event, triggered, status, comment = [
        ("ticket_created", "{ticket_action:created}", "Open", ""),
        ("customer_reply", "", "Open", f"Cleo Customer : <div>Order <b>#{1000 + n}</b>, if that helps</div>"),
        ("agent_reply", "", "Pending", "Ana Agent : <div dir=\"ltr\">We are on it</div>"),
        ("status_changed", "{status:{from:3,to:4}}", "Resolved", ""),
    ][step]
    fields = {"event": event, "triggered_event": triggered, "ticket_id": tid,
              "ticket_url": f"https://acme.freshdesk.com/helpdesk/tickets/{tid}",
              "ticket_subject": "Parcel never arrived", "ticket_type": "Incident",
              "ticket_source": ("Email", "Portal", "Chat")[ticket % 3], "ticket_status": status,
              "ticket_priority": "Medium", "ticket_tags": "delivery, vip", "ticket_group_name": "Support",
              "ticket_agent_name": "Ana Agent" if step else "", "ticket_agent_email": "ana@example.com" if step else "",
              "requester_name": "Cleo Customer", "requester_email": f"cleo{ticket}@example.com",
              "ticket_latest_public_comment": comment, "rating": ""}
    if step == 2:  # one rule per situation, named by its URL (/webhooks/freshdesk/agent-reply)
        del fields["event"]
        return Payload({"freshdesk_webhook": fields}, hint="agent-reply")
    return Payload({"freshdesk_webhook": fields})


# --- Front: application webhooks (01_inbound, 08_assigned, 02_reply_by_a_teammate, 10_archived) ---


_FRONT_API = "https://acme.api.frontapp.com"
_FRONT_ANA = {"_links": {"self": f"{_FRONT_API}/teammates/tea_6r55a",
                         "related": {"inboxes": f"{_FRONT_API}/teammates/tea_6r55a/inboxes"}},
              "id": "tea_6r55a", "email": "ana@example.com", "username": "ana", "first_name": "Ana",
              "last_name": "Silva", "is_admin": False, "is_available": True, "is_blocked": False, "type": "user",
              "custom_fields": {}}
_FRONT_INBOX = {"_meta": {"type": "inboxes"}, "data": [{"_links": {"self": f"{_FRONT_API}/inboxes/inb_1ix6"},
                                                        "id": "inb_1ix6", "name": "Support", "is_private": False,
                                                        "is_public": True}]}


def front(n: int, now: datetime) -> Payload:
    ticket, step = _step(n)
    cnv, contact = f"cnv_{ticket:x}", f"crd_{ticket:x}"
    handle = f"cleo{ticket}@example.com"
    at = _at(now, step).timestamp()
    customer = {"_links": {"related": {"contact": f"{_FRONT_API}/contacts/{contact}"}}, "name": "Cleo",
                "handle": handle}
    support = {"_links": {"related": {"contact": None}}, "name": "Support", "handle": "support@acme.example"}
    conversation = {"_links": {"self": f"{_FRONT_API}/conversations/{cnv}"}, "id": cnv, "subject": "Parcel is late",
                    "status": ("unassigned", "assigned", "assigned", "archived")[step], "ticket_ids": [],
                    "assignee": _FRONT_ANA if step else None, "recipient": {**customer, "role": "from"},
                    "tags": [{"_links": {"self": f"{_FRONT_API}/tags/tag_2oxhvy"}, "id": "tag_2oxhvy",
                              "name": "delivery", "description": None, "highlight": None, "is_private": False,
                              "is_visible_in_conversation_lists": True}],
                    "links": [], "custom_fields": {}, "created_at": _at(now, 0).timestamp(), "updated_at": at,
                    "is_private": False, "scheduled_reminders": [], "metadata": {}}

    def message(inbound: bool, text: str) -> dict[str, Any]:
        return {"_meta": {"type": "message"}, "data": {
            "_links": {"self": f"{_FRONT_API}/messages/msg_{n:x}"}, "id": f"msg_{n:x}", "type": "email",
            "is_inbound": inbound, "draft_mode": None, "created_at": at, "subject": "Parcel is late", "blurb": text,
            "author": None if inbound else _FRONT_ANA, "body": f"<p>{text}</p>", "text": text, "attachments": [],
            "metadata": {}, "recipients": [{**customer, "role": "from" if inbound else "to"},
                                           {**support, "role": "to" if inbound else "from"}]}}

    rule = {"_meta": {"type": "rule"}, "data": {"_links": {"self": f"{_FRONT_API}/rules/rul_58xhq"}, "id": "rul_58xhq",
                                                "name": "Assign support", "actions": ["Assign"], "is_private": False}}
    envelope, kind, source, target = [
        ("inbound_received", "inbound", _FRONT_INBOX, message(True, "Where is my parcel?")),
        ("assignee_changed", "assign", rule, {"_meta": {"type": "teammate"}, "data": _FRONT_ANA}),
        ("outbound_sent", "out_reply", _FRONT_INBOX, message(False, "It ships today.")),
        ("conversation_archived", "archive", {"_meta": {"type": "teammate"}, "data": _FRONT_ANA}, None),
    ][step]
    event = {"_links": {"self": f"{_FRONT_API}/events/evt_{n:x}"}, "id": f"evt_{n:x}", "type": kind,
             "emitted_at": at, "source": source, "target": target, "conversation": conversation}
    return Payload({"type": envelope, "authorization": {"id": "cmp_4f2a"}, "payload": event})


# --- Gorgias: HTTP integrations, one per trigger (01_ticket_created, 02_customer_message,
#     03_agent_reply_with_ticket, 06_ticket_closed) ------------------------------------------------


def gorgias(n: int, now: datetime) -> Payload:
    ticket, step = _step(n)
    tid, customer_id = 86000000 + ticket, 5000000 + ticket
    customer = {"id": customer_id, "email": f"cleo{ticket}@example.com", "name": "Cleo Customer"}
    ana = {"id": 9001, "email": "ana@acme.example", "name": "Ana Agent"}

    def message(mid: int, step_of: int, from_agent: bool, text: str) -> dict[str, Any]:
        sent = _iso_z(_at(now, step_of), 6).removesuffix("Z")  # Gorgias sends no offset: UTC
        sender = ana if from_agent else customer
        first, _, last = str(sender["name"]).partition(" ")
        return {"id": mid, "uri": f"/api/tickets/{tid}/messages/{mid}/", "ticket_id": tid, "channel": "email",
                "via": "email", "from_agent": from_agent, "rule_id": None, "public": True,
                "sender": {**sender, "firstname": first, "lastname": last}, "receiver": None,
                "subject": "Parcel never arrived", "body_text": text, "body_html": f"<div>{text}</div>",
                "stripped_text": text, "created_datetime": sent, "sent_datetime": sent if from_agent else None,
                "failed_datetime": None, "integration_id": 66567}

    first = message(4 * tid, 0, False, "Where is my parcel?")
    follow_up = message(4 * tid + 1, 1, False, f"Order #{1000 + n}, if that helps")
    reply = message(4 * tid + 2, 2, True, "It ships today.")
    updated = _iso_z(_at(now, step), 6).removesuffix("Z")
    body = {"id": tid, "uri": f"/api/tickets/{tid}/", "external_id": None,
            "status": "closed" if step == 3 else "open", "channel": "email", "via": "email", "from_agent": False,
            "spam": False, "priority": "normal", "customer": customer, "assignee_user": ana,
            "assignee_team": {"id": 12, "name": "Tier 1"}, "language": "en", "subject": "Parcel never arrived",
            "tags": [{"id": 301, "name": "refund"}],
            "messages": [first, follow_up, reply][:step + 1] if step < 3 else [],
            "created_datetime": first["created_datetime"], "opened_datetime": None,
            "last_received_message_datetime": first["created_datetime"],
            "last_message_datetime": first["created_datetime"], "updated_datetime": updated,
            "closed_datetime": updated if step == 3 else None, "snooze_datetime": None, "trashed_datetime": None,
            "satisfaction_survey": None}
    if step == 0:
        return Payload({"ticket": body}, hint="ticket-created")
    if step == 1:
        return Payload({"message": follow_up}, hint="ticket-message-created")
    if step == 2:
        return Payload({"ticket": body, "message": reply}, hint="ticket-message-created")
    return Payload({"ticket": body}, hint="ticket-updated")


# --- Help Scout: payload v2, the event in X-HelpScout-Event (01_convo_created, a customer reply,
#     02_agent_reply, 04_status_closed) ----------------------------------------------------------


def helpscout(n: int, now: datetime) -> Payload:
    ticket, step = _step(n)
    cid = 2391000000 + ticket
    customer = {"id": 449000000 + ticket, "type": "customer", "first": "Cleo", "last": "Dupont",
                "email": f"cleo{ticket}@example.com"}
    ana = {"id": 2002, "type": "user", "first": "Ana", "last": "Silva", "email": "ana@example.com"}

    def thread(k: int, kind: str, status: str, author: dict[str, Any], text: str,
               action: dict[str, str] | None = None) -> dict[str, Any]:
        return {"id": 4 * cid + k, "type": kind, "status": status, "state": "published", "action": action or {},
                "body": text, "source": {"type": "email", "via": "customer" if author is customer else "user"},
                "customer": customer, "createdBy": author, "assignedTo": ana, "to": [], "cc": [], "bcc": [],
                "createdAt": _iso_z(_at(now, k))}

    history = [thread(0, "customer", "active", customer, "Where is my parcel?"),
               thread(1, "customer", "active", customer, f"Order #{1000 + n}, if that helps"),
               thread(2, "message", "pending", ana, "It ships today."),
               thread(3, "lineitem", "closed", ana, "", {"type": "default", "text": "marked as Closed"})]
    event = ("convo.created", "convo.customer.reply.created", "convo.agent.reply.created", "convo.status")[step]
    closed = step == 3
    body = {"id": cid, "number": 349 + ticket, "threads": step + 1, "type": "email", "folderId": 1234,
            "status": ("active", "active", "pending", "closed")[step], "state": "published",
            "subject": "Parcel is late", "preview": "Where is my parcel?", "mailboxId": 85, "assignee": ana,
            "createdBy": customer, "createdAt": _iso_z(_at(now, 0)), "closedBy": 2002 if closed else 0,
            "closedByUser": ana if closed else None, "closedAt": _iso_z(_at(now, 3)) if closed else None,
            "userUpdatedAt": _iso_z(_at(now, step)),
            "customerWaitingSince": {"time": _iso_z(_at(now, 0)), "friendly": "3 minutes ago"},
            "source": {"type": "email", "via": "customer"},
            "tags": [{"id": 9150, "color": "#929499", "tag": "delivery"}],
            "cc": [], "bcc": [], "primaryCustomer": customer, "customFields": [],
            "_embedded": {"threads": history[:step + 1][::-1]}}  # newest first, as Help Scout lists them
    return Payload(body, headers={"x-helpscout-event": event})


# --- Intercom: notifications for conversation topics (01_user_created, 17's user reply,
#     02_admin_replied, 06_admin_closed) --------------------------------------------------------


def intercom(n: int, now: datetime) -> Payload:
    ticket, step = _step(n)
    cid, contact = str(215472621000000 + ticket), f"6650a1f0c2{ticket:x}"
    at = int(_at(now, step).timestamp())
    created = int(_at(now, 0).timestamp())
    cleo = {"type": "user", "id": contact, "name": "Cleo", "email": f"cleo{ticket}@example.com"}
    ana = {"type": "admin", "id": "7412", "name": "Ana", "email": "ana@example.com"}
    topic, part = [
        ("conversation.user.created", None),
        ("conversation.user.replied", ("comment", "<p>Order #1001, if that helps</p>", cleo)),
        ("conversation.admin.replied", ("comment", "<p>It ships today.</p>", ana)),
        ("conversation.admin.closed", ("close", None, ana)),
    ][step]
    parts = [] if part is None else [{"type": "conversation_part", "id": str(900000000 + n), "part_type": part[0],
                                      "body": part[1], "created_at": at, "updated_at": at, "notified_at": at,
                                      "assigned_to": None, "author": part[2], "attachments": [], "external_id": None,
                                      "redacted": False}]
    item = {"type": "conversation", "id": cid, "created_at": created, "updated_at": at, "waiting_since": created,
            "snoozed_until": None, "title": "Parcel is late",
            "source": {"type": "conversation", "id": str(3381000000 + ticket), "delivered_as": "customer_initiated",
                       "subject": "", "body": "<p>Where is my parcel?</p>", "author": cleo, "attachments": [],
                       "url": "https://shop.example/track", "redacted": False},
            "contacts": {"type": "contact.list", "contacts": [{"type": "contact", "id": contact,
                                                               "external_id": f"c-{ticket}"}]},
            "admin_assignee_id": 7412, "team_assignee_id": None, "open": step < 3,
            "state": "closed" if step == 3 else "open", "read": True, "priority": "not_priority",
            "tags": {"type": "tag.list", "tags": [{"type": "tag", "id": "81", "name": "delivery"}]},
            "conversation_rating": None,
            "conversation_parts": {"type": "conversation_part.list", "conversation_parts": parts,
                                   "total_count": len(parts)}}
    return Payload({"type": "notification_event", "app_id": "k7x9pz1",
                    "data": {"type": "notification_event_data", "item": item}, "links": {},
                    "id": f"notif_{n:08x}-{topic.replace('.', '-')}", "topic": topic, "delivery_status": "pending",
                    "delivery_attempts": 1, "delivered_at": 0, "first_sent_at": at, "created_at": at, "self": None})


# --- Zammad: a trigger's webhook with the default payload (01_created_by_customer_email, a customer
#     follow-up, 02_agent_reply, 05_closed_without_article) --------------------------------------


def _zammad_user(uid: int, first: str, last: str, email: str, role: str) -> dict[str, Any]:
    return {"active": True, "created_at": "2026-01-05T08:00:00.000Z", "created_by": "-", "created_by_id": 1,
            "email": email, "firstname": first, "id": uid, "image": None, "lastname": last, "login": email,
            "organization": None, "organization_id": None, "out_of_office": False,
            "role_ids": [3 if role == "Customer" else 2], "roles": [role], "updated_at": "2026-01-05T08:00:00.000Z",
            "updated_by": "-", "updated_by_id": 1, "verified": False, "vip": False}


def zammad(n: int, now: datetime) -> Payload:
    ticket, step = _step(n)
    tid, number = 81000 + ticket, str(1081000 + ticket)
    emily = _zammad_user(800000 + ticket, "Emily", "Adams", f"emily{ticket}@example.com", "Customer")
    emma = _zammad_user(5, "Emma", "Taylor", "emma@support.example", "Agent")
    articles = [4 * tid + k for k in range(3)]
    article_count = (1, 2, 3, 3)[step]
    updated = _iso_z(_at(now, step), 3)
    body: dict[str, Any] = {"ticket": {
        "article_count": article_count, "article_ids": articles[:article_count],
        "close_at": updated if step == 3 else None, "create_article_sender": "Customer",
        "create_article_sender_id": 2, "create_article_type": "email", "create_article_type_id": 1,
        "created_at": _iso_z(_at(now, 0), 3), "created_by": emily, "created_by_id": emily["id"], "customer": emily,
        "customer_id": emily["id"], "escalation_at": None,
        "first_response_at": _iso_z(_at(now, 2), 3) if step >= 2 else None,
        "group": {"active": True, "created_at": "2026-01-01T00:00:00.000Z", "follow_up_assignment": True,
                  "follow_up_possible": "yes", "id": 3, "name": "Service Desk",
                  "updated_at": "2026-01-01T00:00:00.000Z"},
        "group_id": 3, "id": tid, "last_contact_at": _iso_z(_at(now, min(step, 2)), 3),
        "last_contact_customer_at": _iso_z(_at(now, min(step, 1)), 3), "number": number,
        "organization": {"active": True, "domain_assignment": False, "id": 3, "name": "Awesome Customer Inc.",
                         "shared": True},
        "organization_id": 3, "owner": emma, "owner_id": 5, "pending_time": None,
        "priority": {"active": True, "created_at": "2026-01-01T00:00:00.000Z", "created_by": "-", "created_by_id": 1,
                     "default_create": True, "id": 2, "name": "2 normal", "updated_at": "2026-01-01T00:00:00.000Z",
                     "updated_by": "-", "updated_by_id": 1},
        "priority_id": 2, "state": ("new", "open", "open", "closed")[step], "state_id": (1, 2, 2, 4)[step],
        "ticket_time_accounting": [], "ticket_time_accounting_ids": [], "title": "Parcel is late",
        "updated_at": updated, "updated_by": emma if step >= 2 else emily,
        "updated_by_id": 5 if step >= 2 else emily["id"]}}
    if step == 3:
        body["article"] = {}  # closed by an agent without writing: the trigger sends no article
        return Payload(body)
    author = emma if step == 2 else emily
    sent = _iso_z(_at(now, step), 3)
    body["article"] = {
        "attachments": [], "body": ("Where is my parcel?", f"Order #{1000 + n}, if that helps",
                                    "It left our warehouse today.")[step],
        "cc": None, "content_type": "text/html", "created_at": sent, "created_by": author,
        "created_by_id": author["id"],
        "from": f"{author['firstname']} {author['lastname']} <{author['email']}>", "id": articles[step],
        "internal": False, "message_id": None, "origin_by": None, "origin_by_id": None,
        "sender": "Agent" if step == 2 else "Customer", "sender_id": 1 if step == 2 else 2, "subject": "Parcel is late",
        "ticket_id": tid, "to": "Service Desk", "type": "email", "type_id": 1, "updated_at": sent,
        "updated_by": author, "updated_by_id": author["id"], "accounted_time": 0}
    return Payload(body)


# --- Chatwoot: account webhooks (01_conversation_created, 02_customer_message, 03_agent_reply,
#     13_status_resolved) -------------------------------------------------------------------------


def chatwoot(n: int, now: datetime) -> Payload:
    ticket, step = _step(n)
    display_id, contact = 42000 + ticket, 700000 + ticket
    at, created = _at(now, step), _at(now, 0)
    sender = {"additional_attributes": {}, "custom_attributes": {}, "email": f"cleo{ticket}@example.com",
              "id": contact, "identifier": None, "name": "Cleo Customer", "phone_number": None, "thumbnail": "",
              "type": "contact"}
    ana = {"id": 3, "name": "Ana Agent", "available_name": "Ana", "avatar_url": "", "type": "user",
           "availability_status": "online", "thumbnail": ""}
    seen = int(at.timestamp())
    conversation = {
        "additional_attributes": {"browser": {"device_name": "Unknown", "browser_name": "Firefox",
                                              "platform_name": "Linux", "browser_version": "132.0",
                                              "platform_version": ""},
                                  "referer": "https://shop.example.com/orders",
                                  "initiated_at": {"timestamp": created.strftime("%a %b %d %Y %H:%M:%S GMT+0000")}},
        "can_reply": True, "channel": "Channel::WebWidget",
        "contact_inbox": {"id": 1200000 + ticket, "contact_id": contact, "inbox_id": 1,
                          "source_id": f"405f1d30-1af3-4fa0-8ffd-{ticket:012x}", "created_at": _iso_z(created, 3),
                          "updated_at": _iso_z(created, 3), "hmac_verified": False,
                          "pubsub_token": f"s76C{ticket:020x}"},
        "id": display_id, "inbox_id": 1, "messages": [], "labels": ["delivery"],
        "meta": {"sender": sender, "assignee": ana if step >= 2 else None,
                 "assignee_type": "User" if step >= 2 else None, "team": None, "hmac_verified": False},
        "status": "resolved" if step == 3 else "open", "custom_attributes": {}, "snoozed_until": None,
        "unread_count": 0, "first_reply_created_at": None, "priority": None, "waiting_since": 0,
        "agent_last_seen_at": seen, "contact_last_seen_at": 0, "last_activity_at": seen, "timestamp": seen,
        "created_at": int(created.timestamp()), "updated_at": at.timestamp()}
    if step == 0:
        return Payload({**conversation, "event": "conversation_created"})
    if step == 3:
        return Payload({**conversation, "event": "conversation_status_changed",
                        "changed_attributes": [{"status": {"previous_value": "open", "current_value": "resolved"}}]})
    incoming = step == 1
    return Payload({
        "account": {"id": 1, "name": "Acme Shop"}, "additional_attributes": {}, "content_attributes": {},
        "content_type": "text", "content": "Where is my parcel?" if incoming else "It left the warehouse this morning.",
        "conversation": conversation, "created_at": _iso_z(at, 3), "id": 1000000 + n,
        "inbox": {"id": 1, "name": "Acme web chat"}, "message_type": "incoming" if incoming else "outgoing",
        "private": False,
        "sender": ({"id": contact, "name": "Cleo Customer", "avatar": "", "type": "contact",
                    "account": {"id": 1, "name": "Acme Shop"}} if incoming else
                   {"id": 3, "name": "Ana Agent", "email": "ana@acme.example", "type": "user"}),
        "source_id": None, "event": "message_created"})


# --- Shopify: orders/create, the Order resource (01_order_with_customer,
#     02_customer_without_email_order_has_one, 03_guest_order_contact_email_only, and a returning
#     customer's second order) ------------------------------------------------------------------


def shopify(n: int, now: datetime) -> Payload:
    buyer, step = _step(n)
    order_id, customer_id = 6120458000000 + n, 7265103000000 + buyer
    local = (now - timedelta(seconds=3)).astimezone(timezone(timedelta(hours=1)))  # the shop's time zone
    email = f"cleo{buyer}@example.com"
    customer = None if step == 2 else {
        "id": customer_id, "email": None if step == 1 else email, "first_name": "Cleo", "last_name": "Customer",
        "state": "enabled", "verified_email": True, "currency": "EUR",
        "admin_graphql_api_id": f"gid://shopify/Customer/{customer_id}"}
    quantity = 1 + n % 3
    total = quantity * 27.45
    body = {"id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}", "name": f"#{1000 + n}",
            "order_number": 1000 + n, "email": None if step == 2 else email, "contact_email": email, "phone": None,
            "created_at": (local + timedelta(seconds=2)).isoformat(timespec="seconds"),
            "processed_at": local.isoformat(timespec="seconds"),
            "updated_at": (local + timedelta(seconds=3)).isoformat(timespec="seconds"), "cancelled_at": None,
            "cancel_reason": None, "test": False, "currency": "EUR", "presentment_currency": "EUR",
            "subtotal_price": f"{total / 1.19:.2f}", "total_tax": f"{total - total / 1.19:.2f}",
            "total_price": f"{total:.2f}", "financial_status": "paid", "fulfillment_status": None,
            "source_name": "web", "tags": "", "customer": customer,
            "line_items": [{"id": 15240017985825, "title": "Travel mug", "quantity": quantity, "price": "27.45",
                            "sku": "MUG-TRV"}]}
    return Payload(body, headers={"x-shopify-shop-domain": "acme-goods.myshopify.com",
                                  "x-shopify-api-version": "2026-10",
                                  "x-shopify-event-id": f"98880550-7158-44d4-b7cd-{n:012x}"})


BUILDERS: dict[str, Callable[[int, datetime], Payload]] = {
    "chatwoot": chatwoot, "deskpulse": deskpulse, "freshdesk": freshdesk, "front": front, "gorgias": gorgias,
    "helpscout": helpscout, "intercom": intercom, "shopify": shopify, "zammad": zammad, "zendesk": zendesk,
}
