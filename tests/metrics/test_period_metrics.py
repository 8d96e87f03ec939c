"""Period metrics from literal support stories (docs/metrics.md); week = Mon 16 - Sun 22 Nov 2026, Berlin."""

from __future__ import annotations

from datetime import timedelta

import pytest

from metrics.agents import agents
from metrics.business_hours import BusinessCalendar, parse_schedule
from metrics.catalog import METRICS, Context, MetricQuery, answer
from metrics.compare import Better, Change, Direction
from metrics.customers import customer_history
from metrics.dimensions import Dimension, Filter, parse_segments
from metrics.model import Channel
from metrics.outcomes import outcomes
from metrics.periods import Period, Unit, day_range
from metrics.response_times import first_response_time, resolution_time, response_time
from metrics.satisfaction import csat
from metrics.sla import Tier, csat_tier, frt_tier, parse_sla, sla
from metrics.tags import tags
from metrics.volume import backlog, busiest, peak_hours, volume
from tests.support.tickets import BERLIN, WEEK, ticket, when

THE_WEEK = day_range(WEEK.date(), WEEK.date() + timedelta(days=6), BERLIN, label="the week")
MONDAY = day_range(WEEK.date(), WEEK.date(), BERLIN, label="Monday")
NINE_TO_FIVE = BusinessCalendar(BERLIN, parse_schedule("mon-fri 09:00-17:00"))
MIN, HOUR = 60.0, 3600.0


def test_first_response_time_counts_in_the_period_of_the_reply() -> None:
    tickets = [
        ticket("Mon 09:00").replied("+12m").build(),
        ticket("Mon 10:00").replied("+1h").build(),
        ticket("Mon 11:00").replied("+30m").build(),
        ticket("2026-11-15 22:00").replied("+11h").build(),  # opened Sunday before, answered Monday
        ticket("Sun 23:00").replied("+2h").build(),  # answered the next week
        ticket("Tue 09:00").build(),  # not answered yet
    ]
    frt = first_response_time(tickets, THE_WEEK)
    assert frt["count"] == 4
    assert frt["median"] == pytest.approx(45 * MIN)  # 12m, 30m, 1h, 11h
    assert frt["p90"] == pytest.approx(11 * HOUR)
    assert frt["mean"] == pytest.approx((12 + 30 + 60 + 660) / 4 * MIN)


def test_bots_and_internal_notes_do_not_stop_the_first_response_clock() -> None:
    t = ticket("Mon 09:00").bot("+1m").replied("+5m", public=False).replied("+40m").build()
    assert first_response_time([t], THE_WEEK)["median"] == pytest.approx(40 * MIN)


def test_first_response_time_in_business_hours() -> None:
    weekend = ticket("Fri 16:00").replied("+66h").build()  # answered Monday 10:00 of the next week
    next_week = Period(THE_WEEK.start, THE_WEEK.end + timedelta(days=7), "two weeks")
    frt = first_response_time([weekend], next_week, NINE_TO_FIVE)
    assert frt["median"] == pytest.approx(66 * HOUR)
    assert frt["business_median"] == pytest.approx(2 * HOUR)  # Fri 16-17 and Mon 9-10


def test_average_response_time_takes_every_wait_an_agent_ended() -> None:
    t = (ticket("Mon 09:00").replied("+10m").wrote("+20m").wrote("+25m").replied("+50m")
         .wrote("+2h").solved("+3h").build())  # the last wait ended with the solve, unmeasured
    art = response_time([t], THE_WEEK)
    assert art["count"] == 2
    assert art["mean"] == pytest.approx(20 * MIN)  # 10m, then 30m from the first of two messages


def test_first_and_full_resolution_time() -> None:
    reopened = ticket("Mon 09:00").replied("+10m").solved("+1h").wrote("+1d").reopened("+1d").solved("+2d").build()
    simple = ticket("Tue 09:00").replied("+10m").replied("+20m").solved("+4h").build()
    r = resolution_time([reopened, simple], THE_WEEK)
    assert r["first_median"] == pytest.approx((1 + 4) / 2 * HOUR)
    assert r["count"] == 2
    assert r["median"] == pytest.approx((48 + 4) / 2 * HOUR)
    assert r["replies_per_resolved"] == pytest.approx(1.5)


def test_volume_counts_new_active_solved_reopened_and_messages() -> None:
    tickets = [
        ticket("2026-11-10 09:00").build(),  # open since the week before: active, not new
        ticket("Mon 09:00").wrote("+0m").replied("+1h").solved("+2h").build(),
        ticket("Tue 09:00").wrote("+0m").replied("+1h").solved("+2h").wrote("+1d").reopened("+1d").build(),
        ticket("2026-11-09 09:00").solved("+1h").build(),  # solved before the week: not active
        ticket("2026-11-23 09:00").build(),  # next week
    ]
    assert volume(tickets, THE_WEEK) == {"new": 2, "active": 3, "solved": 2, "reopened": 1,
                                         "incoming": 3, "outgoing": 2}


def test_backlog_at_the_end_of_a_period_by_age() -> None:
    end = THE_WEEK.end  # Monday 23 Nov 00:00
    tickets = [
        ticket("Sun 20:00").build(),  # 4 hours old
        ticket("Fri 09:00").build(),  # 2.6 days
        ticket("2026-11-10 09:00").build(),  # 12.6 days
        ticket("Mon 09:00").solved("+1h").build(),  # resolved
        ticket("Mon 09:00").solved("+1h").reopened("+2d").build(),  # reopened Wednesday: open again
        ticket("Tue 09:00").solved("+8d").build(),  # resolved only after the end: open then
    ]
    b = backlog(tickets, end)
    assert b["open"] == 5
    assert (b["under_1d"], b["d1_3"], b["d3_7"], b["over_7d"]) == (1, 1, 2, 1)
    assert b["oldest_age"] == pytest.approx((end - when("2026-11-10 09:00")).total_seconds())


def test_csat_is_the_share_of_good_ratings_on_any_scale() -> None:
    tickets = [ticket("Mon 09:00").rated("+1d", score).build() for score in (5, 4, 3, 1)]
    tickets.append(ticket("Mon 09:00").rated("+1d", "good").build())
    tickets.append(ticket("Mon 09:00").rated("+8d", 1).build())  # rated the week after
    c = csat(tickets, THE_WEEK)
    assert c["score"] == pytest.approx(60.0)
    assert (c["ratings"], c["satisfied"], c["neutral"], c["unsatisfied"]) == (5, 3, 1, 1)
    assert c["average"] == pytest.approx(3.25)  # numeric ratings only


def test_resolution_outcomes() -> None:
    tickets = [
        ticket("Mon 09:00").replied("+5m").solved("+10m").wrote("+20m").build(),  # one-touch ("thanks!")
        ticket("Mon 09:00").replied("+5m").replied("+1h").solved("+2h").build(),
        ticket("Mon 09:00").solved("+1h").build(),  # abandoned
        ticket("Mon 09:00").bot("+1m").solved("+2m").build(),  # automated
        ticket("Mon 09:00").replied("+5m").build(),  # not resolved: not in the base
    ]
    o = outcomes(tickets, THE_WEEK)
    assert o["resolved"] == 4
    assert (o["one_touch"], o["abandoned"], o["automated"]) == (25.0, 25.0, 25.0)


def test_agents_are_credited_with_their_own_work() -> None:
    tickets = [
        ticket("Mon 09:00", assignee="ben").replied("+10m", by="ana").replied("+1h", by="ben").solved("+2h")
        .rated("+3h", 5).build(),
        ticket("Mon 10:00", assignee="ana").replied("+20m", by="ana").solved("+1h").rated("+2h", 2).build(),
    ]
    per_agent = agents(tickets, THE_WEEK)
    assert per_agent["ana"] == {"replies": 2, "closed": 1, "handled": 2, "csat": 0.0, "ratings": 1,
                                "frt_median": pytest.approx(15 * MIN)}
    assert per_agent["ben"]["replies"] == 1 and per_agent["ben"]["closed"] == 1 and per_agent["ben"]["csat"] == 100


def test_tags_top_risers_and_new() -> None:
    previous = THE_WEEK.previous()
    tickets = [ticket("Mon 09:00", tags=("shipping",)).build() for _ in range(3)]
    tickets += [ticket("Tue 09:00", tags=("refund", "vip")).build(), ticket("Wed 09:00", tags=("outage",)).build()]
    tickets += [ticket("2026-11-10 09:00", tags=("refund",)).build() for _ in range(2)]
    report = tags(tickets, THE_WEEK, previous, seen_before={"shipping", "refund", "vip"})
    assert [(t.tag, t.tickets) for t in report.top] == [("shipping", 3), ("outage", 1), ("refund", 1), ("vip", 1)]
    assert [(t.tag, t.rise) for t in report.risers] == [("shipping", 3), ("outage", 1), ("vip", 1)]
    assert [t.tag for t in report.new] == ["outage"]
    assert report.top[0].share == 60.0


def test_sla_first_response_targets_per_channel() -> None:
    targets = parse_sla("chat=5m;email=4h;*/urgent=1h")
    now = when("Wed 12:00")
    tickets = [
        ticket("Mon 09:00", channel="chat").replied("+3m").build(),  # met
        ticket("Mon 09:00", channel="chat").replied("+10m").build(),  # breached
        ticket("Mon 09:00", channel="email").build(),  # no reply after two days: breached
        ticket("Wed 10:00", channel="email").build(),  # 2 h, still within 4 h: pending
        ticket("Mon 09:00", channel="email", priority="urgent").replied("+2h").build(),  # urgent: 1 h, breached
    ]
    s = sla(tickets, THE_WEEK, targets, now=now)
    assert (s["met"], s["breached"], s["pending"]) == (1, 3, 1)
    assert s["attainment"] == 25.0


def test_sla_in_business_hours() -> None:
    targets = parse_sla("email=2h")
    friday = ticket("Fri 16:30", channel="email").replied("+66h").build()  # Mon 10:30: 1.5 business hours
    s = sla([friday], THE_WEEK, targets, now=when("2026-11-24 12:00"), calendar=NINE_TO_FIVE)
    assert s["met"] == 1


def test_service_level_tiers_after_the_source_article() -> None:
    assert frt_tier(Channel.CHAT, 40) is Tier.STELLAR
    assert frt_tier(Channel.CHAT, 3 * MIN) is Tier.ABOVE_AVERAGE
    assert frt_tier(Channel.CHAT, 10 * MIN) is Tier.AVERAGE
    assert frt_tier(Channel.CHAT, 45 * MIN) is Tier.BELOW_AVERAGE
    assert frt_tier(Channel.CHAT, 2 * HOUR) is Tier.UNACCEPTABLE
    assert frt_tier(Channel.EMAIL, 30 * MIN) is Tier.STELLAR
    assert frt_tier(Channel.EMAIL, 18 * HOUR) is Tier.AVERAGE
    assert frt_tier(Channel.EMAIL, 5 * 24 * HOUR) is Tier.UNACCEPTABLE
    assert frt_tier(Channel.SOCIAL, 10 * MIN) is Tier.STELLAR
    assert csat_tier(4.85) is Tier.ABOVE_AVERAGE
    assert csat_tier(3.5) is Tier.BELOW_AVERAGE
    assert frt_tier(Channel.CHAT, None) is None


def test_peak_hours_grid_in_local_time() -> None:
    tickets = [ticket("Tue 10:15").build(), ticket("Tue 10:50").build(), ticket("Sat 23:59").build()]
    grid = peak_hours(tickets, THE_WEEK)
    assert grid[1][10] == 2 and grid[5][23] == 1
    assert busiest(grid) == (1, 10, 2)


def test_lower_first_response_time_is_good_news() -> None:
    better = Change(current=600, previous=900, better=Better.LOWER)
    assert better.direction is Direction.DOWN and better.good is True and better.ratio == pytest.approx(-1 / 3)
    assert Change(5, 5, Better.HIGHER).good is None
    assert Change(5, None, Better.HIGHER).direction is None
    assert Change(3, 0, Better.NEITHER).ratio is None


def test_answer_filters_breaks_down_and_compares() -> None:
    tickets = [
        ticket("Mon 09:00", channel="chat").replied("+2m").build(),
        ticket("Mon 09:00", channel="chat").replied("+4m").build(),
        ticket("Mon 09:00", channel="email").replied("+3h").build(),
        ticket("2026-11-10 09:00", channel="chat").replied("+10m").build(),  # the week before
        ticket("Mon 09:00", channel="chat").replied("+1m").spam("+5m").build(),  # spam leaves every metric
    ]
    context = Context(now=THE_WEEK.end)
    by_channel = answer(MetricQuery(METRICS["frt"], THE_WEEK, Dimension.CHANNEL), tickets, context)
    assert by_channel.total.figures["count"] == 3
    chat = next(r for r in by_channel.rows if r.key == "chat")
    assert chat.figures["median"] == pytest.approx(3 * MIN)
    assert chat.previous is not None and chat.previous["median"] == pytest.approx(10 * MIN)
    assert chat.change(METRICS["frt"].headline).good is True  # type: ignore[union-attr]
    only_email = answer(MetricQuery(METRICS["frt"], THE_WEEK, filters=(Filter(Dimension.CHANNEL, "email"),)),
                        tickets, context)
    assert only_email.total.figures["median"] == pytest.approx(3 * HOUR)
    by_day = answer(MetricQuery(METRICS["volume"], THE_WEEK, Unit.DAY), tickets, context)
    assert [r.figures["new"] for r in by_day.rows] == [3, 0, 0, 0, 0, 0, 0]


def test_segments_from_tags_and_organisations() -> None:
    segments = parse_segments("vip=tag:vip,org:Acme;b2b=tag:business")
    tickets = [ticket("Mon 09:00", tags=("vip",)).replied("+5m").build(),
               ticket("Mon 09:00", organization="ACME").replied("+15m").build(),
               ticket("Mon 09:00").replied("+1h").build()]
    result = answer(MetricQuery(METRICS["frt"], THE_WEEK, filters=(Filter(Dimension.SEGMENT, "vip"),)),
                    tickets, Context(now=THE_WEEK.end, segments=segments))
    assert result.total.figures["median"] == pytest.approx(10 * MIN)
    with pytest.raises(ValueError, match="tag:<tag> or org:<organisation>"):
        parse_segments("vip=plan:gold")


def test_customer_history() -> None:
    tickets = [ticket("Mon 09:00", requester="jane@example.com").wrote("+0m").replied("+5m", by="ana")
               .solved("+1h").rated("+2h", 5).build(),
               ticket("Wed 09:00", requester="jane@example.com").wrote("+1h").build()]
    history = customer_history("jane@example.com", tickets)
    assert history.open == 1 and len(history.tickets) == 2 and history.agents == ["ana"]
    assert history.last_contact == when("Wed 10:00") and history.csat == 100.0
