"""A ticket seen through Zendesk's webhooks and through the API backfill counts once (docs/backfill.md).

The same story is sent as signed event webhooks to the running server, and served by the
API stand-in; the ticket's numbers are those of either path alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from bot.cli import cli
from metrics.tickets import Ticket
from storage import tickets
from tests.bot.test_backfill_zendesk import EXPECTED, OPENED, numbers
from tests.support.server import RunningServer
from tests.support.signing import signed_request
from tests.support.zendesk_api_standin import (
    EMAIL,
    TOKEN,
    ZendeskAccount,
    ZendeskApiStandIn,
    ZendeskTicket,
    start_zendesk_api_standin,
)

WITHOUT_CSAT = {k: v for k, v in EXPECTED.items() if k != "csat"}  # event webhooks carry no ratings


@pytest.fixture
def zendesk() -> Iterator[tuple[ZendeskApiStandIn, ZendeskTicket]]:
    standin = start_zendesk_api_standin()
    t = ZendeskAccount(standin, staff={"2002": "Agent Ana"}).ticket("48213", opened=OPENED)
    t.comment(0, "9001", author="1001").comment(25, "9002", author="2002").status(26, "solved")
    t.comment(180, "9003", author="1001").status(180, "open").comment(200, "9004", author="2002")
    t.status(210, "solved").rated(240, "good", "Fast!")
    try:
        yield standin, t
    finally:
        standin.stop()


def send_webhooks(server: RunningServer, story: ZendeskTicket) -> None:
    for payload in reversed(story.webhooks):  # Zendesk does not promise the order
        body, headers = signed_request("zendesk", payload)
        assert server.post("/webhooks/zendesk", body, headers).status_code == 202
    server.wait_processed()


def backfill(standin: ZendeskApiStandIn) -> str:
    result = CliRunner().invoke(cli, ["backfill", "zendesk", "--subdomain", "acme", "--email", EMAIL, "--token",
                                      TOKEN, "--api-url", standin.base_url])
    assert result.exit_code == 0, result.output
    return result.stdout


def ticket(server: RunningServer) -> Ticket | None:
    with server.sessions() as session:
        return tickets.get(session, "zendesk:48213")


def without_csat(t: Ticket | None) -> dict[str, Any]:
    return {k: v for k, v in numbers(t).items() if k != "csat"}


def test_webhooks_then_the_api_count_each_message_once(server: RunningServer, zendesk: Any) -> None:
    standin, story = zendesk
    send_webhooks(server, story)
    assert without_csat(ticket(server)) == WITHOUT_CSAT  # the webhooks alone
    output = backfill(standin)
    assert "4 messages already known from webhooks" in output
    assert numbers(ticket(server)) == EXPECTED  # the same numbers, and the rating only the API knows
    backfill(standin)
    assert numbers(ticket(server)) == EXPECTED


def test_the_api_then_webhooks_count_each_message_once(server: RunningServer, zendesk: Any) -> None:
    standin, story = zendesk
    backfill(standin)
    assert numbers(ticket(server)) == EXPECTED
    send_webhooks(server, story)
    assert numbers(ticket(server)) == EXPECTED
