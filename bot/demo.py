"""A demo support team's history, as the webhooks its helpdesk would have sent (pure).

The team: eight agents in Berlin working weekdays 08:00-18:00 and a smaller weekend shift,
plus "Shopbot", which answers some chats first and closes a few simple ones alone. Tickets
come by email (about 55%), chat (30%) and social media (15%), mostly in the morning and
early afternoon, far fewer at night and at weekends. Two bad days (a carrier outage) bring
2.5 times the volume, slow answers and unhappy ratings. About 40% of solved tickets are
rated on a 1-5 scale. Nothing happens after `end`, so recent tickets form a real backlog.
The team's shop sells every day, to its regulars and to new buyers; some tickets (product
questions most often) are followed by an order of the same customer.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

DEMO_TIMEZONE = "Europe/Berlin"
AGENTS = [("a1", "Amira Haddad"), ("a2", "Ben Okafor"), ("a3", "Chloé Martin"), ("a4", "Daniel Weber"),
          ("a5", "Elif Demir"), ("a6", "Felix Novak"), ("a7", "Grace Lin"), ("a8", "Hugo Silva")]
BOT = {"role": "bot", "id": "shopbot", "name": "Shopbot"}
CHANNELS = [("email", 0.55), ("chat", 0.30), ("social", 0.15)]
TAGS = [("shipping", 0.24), ("order-status", 0.16), ("returns", 0.12), ("refund", 0.10), ("billing", 0.09),
        ("product-question", 0.12), ("damaged-item", 0.06), ("login", 0.06), ("bug", 0.05)]
FIRST_NAMES = ["Lena", "Jonas", "Mia", "Paul", "Sofia", "Noah", "Emma", "Luca", "Hannah", "Elias", "Clara", "Finn"]
LAST_NAMES = ["Schmidt", "Rossi", "Dubois", "Kowalski", "Jensen", "Garcia", "Berg", "Costa", "Meyer", "Ivanova"]
SUBJECTS = {"shipping": "Where is my parcel?", "order-status": "Order status", "returns": "How do I return this?",
            "refund": "Refund not received", "billing": "Charged twice", "product-question": "Does it fit?",
            "damaged-item": "Arrived broken", "login": "Cannot log in", "bug": "Checkout error"}
# Median minutes to a first answer while someone is on shift, by channel.
TYPICAL_WAIT = {"email": 95.0, "chat": 2.5, "social": 35.0}
# How often a ticket is followed by an order of its customer, by tag (else BUY_AFTER_OTHER).
BUY_AFTER = {"product-question": 0.35, "order-status": 0.15, "shipping": 0.12, "returns": 0.08}
BUY_AFTER_OTHER = 0.05
SHOP_ORDERS_PER_DAY = 45
# The shop sold for a while before its support history starts: buyers of over a year ago who
# do not come back lapse during the demo's weeks, so retention is what a real shop sees.
SHOP_SOLD_BEFORE_DAYS = 400
HOURLY_SHARE = [1, 1, 1, 1, 1, 2, 3, 6, 9, 11, 11, 10, 8, 8, 9, 9, 8, 6, 5, 4, 4, 3, 2, 1]


@dataclass(frozen=True)
class DemoTicket:
    ticket_id: str
    deliveries: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Life:
    """One ticket being written: its events so far, grouped into deliveries."""

    ticket_id: str
    end: datetime
    deliveries: list[list[dict[str, Any]]] = field(default_factory=list)
    count: int = 0

    def send(self, at: datetime, kind: str, **fields: Any) -> bool:
        """Add an event as its own delivery; False (and nothing added) when it would be after `end`."""
        if at > self.end:
            return False
        self.count += 1
        self.deliveries.append([{"id": f"demo-{self.ticket_id}-{self.count}", "type": kind,
                                 "ticket_id": self.ticket_id, "occurred_at": at.isoformat(), **fields}])
        return True

    def also(self, at: datetime, kind: str, **fields: Any) -> None:
        """Add an event to the latest delivery (one helpdesk action, several facts)."""
        self.count += 1
        self.deliveries[-1].append({"id": f"demo-{self.ticket_id}-{self.count}", "type": kind,
                                    "ticket_id": self.ticket_id, "occurred_at": at.isoformat(), **fields})


def demo_history(*, end: datetime, days: int = 90, seed: int = 7,
                 tickets_per_weekday: int = 120) -> Iterator[DemoTicket]:
    """Tickets created over the `days` before `end`, in creation order."""
    rng = random.Random(seed)
    zone = ZoneInfo(DEMO_TIMEZONE)
    first_day = (end.astimezone(zone) - timedelta(days=days)).date()
    bad_days = {first_day + timedelta(days=round(days * 0.35)), first_day + timedelta(days=round(days * 0.8))}
    vip = {f"cust-{n}" for n in rng.sample(range(1, 2500), 40)}
    number = 10000
    for offset in range(days + 1):
        day = first_day + timedelta(days=offset)
        weekend = day.weekday() >= 5
        bad = day in bad_days
        volume = tickets_per_weekday * (0.35 if weekend else 1.0) * (2.5 if bad else 1.0) * rng.uniform(0.85, 1.15)
        for created in sorted(_arrivals(rng, day, zone, round(volume))):
            if created > end:
                continue
            number += 1
            yield _ticket(rng, str(number), created, end=end, zone=zone, bad=bad, vip=vip)


def _arrivals(rng: random.Random, day: Any, zone: ZoneInfo, count: int) -> list[datetime]:
    hours = rng.choices(range(24), weights=HOURLY_SHARE, k=count)
    return [datetime.combine(day, time(h, rng.randrange(60), rng.randrange(60)), zone) for h in hours]


def _on_shift(at: datetime, zone: ZoneInfo) -> datetime:
    """The earliest moment at or after `at` when an agent is working."""
    local = at.astimezone(zone)
    for _ in range(8):
        start, stop = (time(10), time(16)) if local.weekday() >= 5 else (time(8), time(18))
        if local.time() < start:
            return datetime.combine(local.date(), start, zone)
        if local.time() < stop:
            return local
        local = datetime.combine(local.date() + timedelta(days=1), time(0), zone)
    return local


def _reply_after(rng: random.Random, at: datetime, channel: str, zone: ZoneInfo, *, slow: float) -> datetime:
    ready = _on_shift(at, zone)
    wait = rng.lognormvariate(0, 0.8) * TYPICAL_WAIT[channel] * slow
    if ready.astimezone(zone).weekday() >= 5:
        wait *= 1.6  # a smaller weekend shift
    return ready + timedelta(minutes=wait)


def _ticket(rng: random.Random, ticket_id: str, created: datetime, *, end: datetime, zone: ZoneInfo, bad: bool,
            vip: set[str]) -> DemoTicket:
    channel = rng.choices([c for c, _ in CHANNELS], weights=[w for _, w in CHANNELS])[0]
    tag = "shipping" if bad and rng.random() < 0.6 else rng.choices([t for t, _ in TAGS], [w for _, w in TAGS])[0]
    customer_id = f"cust-{rng.randrange(1, 2500)}"
    name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    customer = {"role": "customer", "id": customer_id, "name": name}
    tags = [tag, *(["vip"] if customer_id in vip else [])]
    agent_id, agent_name = rng.choice(AGENTS)
    agent = {"role": "agent", "id": agent_id, "name": agent_name}
    priority = rng.choices(["low", "normal", "high", "urgent"], [0.1, 0.72, 0.15, 0.03])[0]
    life = _Life(ticket_id, end)
    spam = rng.random() < 0.01
    life.send(created, "ticket.created", ticket={
        "created_at": created.isoformat(), "subject": SUBJECTS[tag], "channel": channel, "status": "new",
        "priority": priority, "tags": tags, "requester": {"id": customer_id, "name": name,
                                                          "email": f"{customer_id}@example.com"}})
    life.also(created, "message.created", message=_message(ticket_id, 0, customer, SUBJECTS[tag]))
    if spam:
        life.send(created + timedelta(minutes=rng.uniform(5, 60)), "ticket.removed", reason="spam")
        return _done(life)
    _conversation(rng, life, created, channel=channel, customer=customer, agent=agent, zone=zone, bad=bad)
    _maybe_buys(life, created, tag=tag, customer_id=customer_id, name=name)
    return _done(life)


def _maybe_buys(life: _Life, created: datetime, *, tag: str, customer_id: str, name: str) -> None:
    """Sometimes the customer orders within days of asking (its own random stream, so the
    tickets stay what they were before the shop existed)."""
    rng = random.Random(f"order-after-{life.ticket_id}")
    if rng.random() < BUY_AFTER.get(tag, BUY_AFTER_OTHER):
        at = created + timedelta(hours=rng.uniform(1, 6 * 24))
        life.send(at, "order.placed", order=_order(rng, f"T{life.ticket_id}", at, customer_id, name))


def demo_orders(*, end: datetime, days: int = 90, seed: int = 7,
                sold_before: int = SHOP_SOLD_BEFORE_DAYS) -> Iterator[dict[str, Any]]:
    """The shop's other orders, a delivery a day from `sold_before` days before the support
    history: regulars (the customers who also write to support) and first-time buyers."""
    rng = random.Random(f"shop-{seed}")
    first = end - timedelta(days=days + sold_before)
    for offset in range(days + sold_before + 1):
        day_start = first + timedelta(days=offset)
        events = []
        for n in range(round(SHOP_ORDERS_PER_DAY * rng.uniform(0.7, 1.3))):
            at = day_start + timedelta(seconds=rng.uniform(0, 86400))
            if at > end:
                continue
            regular = rng.random() < 0.7
            customer = f"cust-{rng.randrange(1, 2500)}" if regular else f"buyer-{offset}-{n}"
            events.append({"id": f"demo-order-{offset}-{n}", "type": "order.placed", "occurred_at": at.isoformat(),
                           "order": _order(rng, f"S{offset}-{n}", at, customer, None)})
        if events:
            yield {"version": 1, "events": events}


def _order(rng: random.Random, order_id: str, at: datetime, customer_id: str, name: str | None) -> dict[str, Any]:
    return {"id": order_id, "placed_at": at.isoformat(), "total": f"{rng.uniform(19, 180):.2f}", "currency": "EUR",
            "customer": {"id": customer_id, "name": name, "email": f"{customer_id}@example.com"}}


def _conversation(rng: random.Random, life: _Life, created: datetime, *, channel: str, customer: dict[str, Any],
                  agent: dict[str, Any], zone: ZoneInfo, bad: bool) -> None:
    slow = 3.0 if bad else 1.0
    now = created
    if channel == "chat" and rng.random() < 0.35:  # Shopbot answers first
        now += timedelta(seconds=rng.uniform(3, 20))
        if not life.send(now, "message.created", message=_message(life.ticket_id, 1, BOT, "Here is what I found…")):
            return
        if rng.random() < 0.3:  # and sometimes that is all it takes
            life.send(now + timedelta(minutes=rng.uniform(2, 10)), "ticket.status_changed", status="solved")
            return
    if rng.random() < 0.06:  # the customer gives up before anyone answers
        now += timedelta(minutes=rng.uniform(10, 120))
        if life.send(now, "message.created", message=_message(life.ticket_id, 2, customer, "Never mind, solved.")):
            life.send(now + timedelta(minutes=rng.uniform(30, 240)), "ticket.status_changed", status="solved")
        return
    assignee = {"id": agent["id"], "name": agent["name"]}
    if not life.send(now + timedelta(seconds=30), "ticket.assigned", assignee=assignee):
        return
    rounds = rng.choices([1, 2, 3, 4], [0.6, 0.25, 0.1, 0.05])[0]
    for round_ in range(rounds):
        now = _reply_after(rng, now, channel, zone, slow=slow if round_ == 0 else 1.0)
        if not life.send(now, "message.created", message=_message(life.ticket_id, 10 + round_, agent, "Happy to help")):
            return
        if rng.random() < 0.15:
            life.also(now, "message.created", message=_message(life.ticket_id, 20 + round_, agent, "note",
                                                               public=False))
        if round_ < rounds - 1:
            now += timedelta(minutes=rng.lognormvariate(0, 1) * (8 if channel == "chat" else 240))
            if not life.send(now, "message.created", message=_message(life.ticket_id, 30 + round_, customer, "But…")):
                return
    _resolve(rng, life, now, customer=customer, agent=agent, channel=channel, zone=zone, bad=bad)


def _resolve(rng: random.Random, life: _Life, at: datetime, *, customer: dict[str, Any], agent: dict[str, Any],
             channel: str, zone: ZoneInfo, bad: bool) -> None:
    solved = at + timedelta(minutes=rng.uniform(0, 30))
    if not life.send(solved, "ticket.status_changed", status="solved"):
        return
    if rng.random() < 0.07:  # the customer writes again: reopened, answered, solved again
        back = solved + timedelta(hours=rng.uniform(2, 40))
        if not life.send(back, "message.created", message=_message(life.ticket_id, 40, customer, "Still broken")):
            return
        life.also(back, "ticket.status_changed", status="open")
        answer = _reply_after(rng, back, channel, zone, slow=1.0)
        if not life.send(answer, "message.created", message=_message(life.ticket_id, 41, agent, "Fixed now")):
            return
        solved = answer + timedelta(minutes=rng.uniform(1, 20))
        if not life.send(solved, "ticket.status_changed", status="solved"):
            return
    if rng.random() < 0.4:
        score = rng.choices([5, 4, 3, 2, 1], [0.2, 0.15, 0.2, 0.25, 0.2] if bad else [0.62, 0.23, 0.07, 0.04, 0.04])[0]
        life.send(solved + timedelta(hours=rng.uniform(1, 30)), "ticket.rated",
                  rating={"scale": "1_5", "value": score}, agent={"id": agent["id"], "name": agent["name"]})
    if rng.random() < 0.5:
        life.send(solved + timedelta(days=4), "ticket.status_changed", status="closed")


def _message(ticket_id: str, n: int, author: dict[str, Any], body: str, *, public: bool = True) -> dict[str, Any]:
    return {"id": f"demo-{ticket_id}-m{n}", "author": author, "public": public, "body": body}


def _done(life: _Life) -> DemoTicket:
    return DemoTicket(life.ticket_id, [{"version": 1, "events": events} for events in life.deliveries])
