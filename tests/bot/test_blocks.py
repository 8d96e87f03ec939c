"""Answers rendered as Block Kit: within Slack's limits whatever the data, and safe from ticket text."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.grammar import parse_query
from bot.render.blocks import answer_blocks, customer_blocks, escape
from metrics.catalog import METRICS, Context, MetricQuery, answer
from metrics.customers import customer_history
from tests.support.slack_standin import message_problems
from tests.support.tickets import BERLIN, ticket

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=BERLIN)


def ask(text: str, tickets: list) -> dict:  # type: ignore[type-arg]
    query = parse_query(text, now=NOW, tz=BERLIN)
    assert isinstance(query, MetricQuery)
    result = answer(query, tickets, Context(now=NOW))
    return {"blocks": answer_blocks(result, as_of=NOW, share='{"c": "/frt"}'), "text": "answer"}


def a_busy_week(tags: int = 0) -> list:  # type: ignore[type-arg]
    out = []
    for i in range(60):
        day = ("Mon", "Tue", "Wed", "Thu", "Fri")[i % 5]
        story = ticket(f"{day} {9 + i % 8:02d}:{i % 60:02d}", channel=("chat", "email", "social")[i % 3],
                       tags=(f"tag-{i % tags}",) if tags else (), assignee=f"agent{i % 7}")
        out.append(story.wrote("+0m").replied(f"+{5 + i}m", by=f"agent{i % 7}").solved("+2h").rated("+3h", 1 + i % 5)
                   .build())
    return out


@pytest.mark.parametrize("metric", sorted(METRICS))
def test_every_metric_renders_blocks_slack_accepts(metric: str) -> None:
    by_channel = () if METRICS[metric].of_customers else ("last week by channel",)  # customers have no channel
    for words in ("last week", *by_channel, "last week by day"):
        message = ask(f"{metric} {words}", a_busy_week(tags=5))
        assert message_problems(message) == [], (metric, words)


def test_a_long_breakdown_is_cut_to_fit_and_says_how_many_more() -> None:
    message = ask("volume last week by tag", a_busy_week(tags=60))
    assert message_problems(message) == []
    table = next(b["text"]["text"] for b in message["blocks"] if "```" in b.get("text", {}).get("text", ""))
    assert len(table) <= 3000
    shown = len(table.split("```")[1].splitlines()) - 2  # header and the "more" line
    assert table.rstrip("`").endswith(f"… and {60 - shown} more")


def test_ticket_text_is_escaped_so_it_cannot_ping_anyone() -> None:
    assert escape("<!channel> & <@U123>") == "&lt;!channel&gt; &amp; &lt;@U123&gt;"
    tickets = [ticket("Mon 09:00", tags=("<!everyone>",)).wrote("+0m").build()]
    rendered = str(ask("tags last week", tickets)["blocks"])
    assert "<!everyone>" not in rendered and "&lt;!everyone&gt;" in rendered


def test_a_customer_with_a_long_history_fits() -> None:
    tickets = [ticket(f"Mon {9 + i % 8:02d}:00", requester="jane@example.com").wrote("+0m").build()
               for i in range(40)]
    tickets[0] = ticket("Mon 08:00", requester="jane@example.com").wrote("+0m").build()
    history = customer_history("jane@example.com", tickets)
    message = {"blocks": customer_blocks(history, BERLIN, share="x"), "text": "jane"}
    assert message_problems(message) == []
    assert "… and 20 more" in str(message["blocks"])


def test_the_breakdown_keeps_its_change_arrows_and_period_bounds() -> None:
    last_week = a_busy_week()
    earlier = [ticket("2026-11-10 10:00", channel="chat").wrote("+0m").replied("+2m").build()]
    message = ask("frt last week by channel", last_week + earlier)
    text = str(message["blocks"])
    assert "Mon 16 Nov 2026 00:00 → Mon 23 Nov 2026 00:00 (Europe/Berlin, end excluded)" in text
    assert "based on 60 first responses" in text
    assert "▲" in text  # chat was faster the week before
