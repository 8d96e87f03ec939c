"""What `deskpulse doctor` concludes from what it read (bot.doctor's pure checks, literal inputs)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.doctor import (
    FIX,
    LOOK,
    DatabaseState,
    Finding,
    Helpdesk,
    Report,
    SlackSetup,
    database_findings,
    exit_code,
    findings,
    helpdesk_findings,
    render,
    slack_findings,
    unknown_findings,
)
from storage.health import Activity

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def zendesk(secrets: int = 1, **activity: object) -> Helpdesk:
    return Helpdesk(source="zendesk", secret_setting="ZENDESK_WEBHOOK_SECRET", secrets=secrets,
                    activity=Activity(source="zendesk", **activity))  # type: ignore[arg-type]


def texts(found: list[Finding]) -> list[tuple[str, str]]:
    return [(f.level, f.text) for f in found]


def busy(**more: object) -> dict[str, object]:
    """A helpdesk that delivered a minute ago."""
    return {"last_delivery_at": NOW - timedelta(minutes=1), "deliveries_24h": 120, "deliveries_7d": 800, **more}


def test_a_secret_that_differs_from_the_helpdesks_is_named_with_its_count() -> None:
    found = helpdesk_findings(zendesk(refused_24h={"bad_signature": 14}, refused_7d={"bad_signature": 14}), now=NOW)
    assert texts(found)[0] == (FIX, "ZENDESK_WEBHOOK_SECRET is set but 14 requests to /webhooks/zendesk failed the "
                                    "signature check in the last 24 h (bad_signature ×14): the secret in Zendesk "
                                    "and here differ")


def test_some_requests_passing_and_others_failing_means_another_webhooks_secret() -> None:
    found = helpdesk_findings(zendesk(**busy(refused_24h={"bad_signature": 3}, refused_7d={"bad_signature": 3})),
                              now=NOW)
    assert texts(found) == [(FIX, "3 requests to /webhooks/zendesk failed the signature check in the last 24 h while "
                                  "120 deliveries passed: one of your Zendesk webhooks signs with another secret; "
                                  "add it to ZENDESK_WEBHOOK_SECRET, comma-separated")]


def test_requests_without_a_signature_point_at_the_webhooks_settings() -> None:
    found = helpdesk_findings(zendesk(refused_24h={"missing_signature": 2}, refused_7d={"missing_signature": 2}),
                              now=NOW)
    assert "arrived without Zendesk's signature or token header" in found[0].text and found[0].level == FIX


def test_a_missing_secret_matters_only_once_the_helpdesk_calls() -> None:
    assert helpdesk_findings(zendesk(secrets=0), now=NOW) == []
    found = helpdesk_findings(zendesk(secrets=0, refused_24h={"not_configured": 5},
                                      refused_7d={"not_configured": 5}), now=NOW)
    assert texts(found) == [(FIX, "ZENDESK_WEBHOOK_SECRET is not set, so 5 requests to /webhooks/zendesk were "
                                  "refused in the last 24 h: set it to the secret Zendesk signs with "
                                  "(docs/connect-zendesk.md)")]


def test_a_clock_far_off_is_told_apart_from_a_wrong_secret() -> None:
    found = helpdesk_findings(zendesk(**busy(refused_24h={"stale_timestamp": 1}, refused_7d={"stale_timestamp": 1})),
                              now=NOW)
    assert len(found) == 1 and found[0].level == FIX
    assert found[0].text.startswith("1 request to /webhooks/zendesk was refused in the last 24 h for a signed "
                                    "time too far from this server's clock")


def test_old_refusals_are_only_worth_a_look() -> None:
    found = helpdesk_findings(zendesk(**busy(refused_7d={"bad_signature": 4})), now=NOW)
    assert texts(found) == [(LOOK, "4 requests to /webhooks/zendesk were refused in the last 7 days "
                                   "(bad_signature ×4), none in the last 24 h")]


def test_a_set_secret_with_no_traffic_asks_to_check_the_url() -> None:
    [found] = helpdesk_findings(zendesk(), now=NOW)
    assert found.level == LOOK and "no request reached /webhooks/zendesk in the last 30 days: check the URL in " \
                                   "Zendesk (https://<your host>/webhooks/zendesk)" in found.text


def test_a_helpdesk_gone_quiet_for_days_is_worth_a_look() -> None:
    found = helpdesk_findings(zendesk(last_delivery_at=NOW - timedelta(days=4), deliveries_7d=30), now=NOW)
    assert texts(found) == [(LOOK, "no delivery for 4d: is the webhook still active in Zendesk? Helpdesks switch "
                                   "webhooks off after repeated failures")]
    assert helpdesk_findings(zendesk(last_delivery_at=NOW - timedelta(hours=30), deliveries_7d=30), now=NOW) == []


@pytest.mark.parametrize(("codes", "advice"), [
    ({"wrong_type": 8, "missing_id": 4}, "compare the webhook's body with docs/connect-zendesk.md"),
    ({"malformed_json": 2}, "Zendesk sends bodies that are not valid JSON"),
    ({"unsupported_media_type": 1}, "Content-Type other than application/json"),
    ({"adapter_error": 1}, "a deskpulse bug; the deliveries are kept"),
])
def test_failed_deliveries_say_why_and_how_to_read_them_again(codes: dict[str, int], advice: str) -> None:
    n = sum(codes.values())
    [found] = helpdesk_findings(zendesk(**busy(failed_24h=n, failed_7d=n, errors_7d=codes)), now=NOW)
    assert found.level == FIX and advice in found.text
    assert found.text.startswith(f"{n} deliver{'y' if n == 1 else 'ies'} to /webhooks/zendesk failed in the last 24 h")
    assert found.text.endswith("then `deskpulse replay --failed` reads them again")


def test_the_failures_top_error_codes_are_listed_most_frequent_first() -> None:
    [found] = helpdesk_findings(zendesk(**busy(failed_24h=12, failed_7d=12, errors_7d={"missing_id": 4,
                                                                                        "wrong_type": 8})), now=NOW)
    assert "(wrong_type ×8, missing_id ×4)" in found.text


def test_deliveries_waiting_long_mean_the_processor_is_not_running() -> None:
    waiting = busy(pending=37, oldest_pending_at=NOW - timedelta(minutes=42))
    assert texts(helpdesk_findings(zendesk(**waiting), now=NOW)) == [
        (FIX, "37 deliveries have waited 42m to be processed: the processor (part of `deskpulse serve`) is not "
              "running or keeps failing; `deskpulse replay` processes them now")]
    just_in = busy(pending=3, oldest_pending_at=NOW - timedelta(seconds=20))
    assert helpdesk_findings(zendesk(**just_in), now=NOW) == []


def test_untrusted_times_are_worth_a_look() -> None:
    [found] = helpdesk_findings(zendesk(**busy(suspect_events_7d=6)), now=NOW)
    assert found.level == LOOK and found.text.startswith("6 events of the last 7 days carried a time deskpulse "
                                                         "could not trust")


@pytest.mark.parametrize(("slack", "level", "words"), [
    (SlackSetup(), LOOK, "Slack is not configured"),
    (SlackSetup(bot_token_prefix="xoxb-"), FIX, "neither SLACK_SIGNING_SECRET"),
    (SlackSetup(signing_secret=True), FIX, "SLACK_BOT_TOKEN is not set"),
    (SlackSetup(bot_token_prefix="xoxp-", signing_secret=True), FIX, "starts with 'xoxp-', not 'xoxb-'"),
    (SlackSetup(bot_token_prefix="xoxb-", app_token_prefix="xoxb-"), FIX, "SLACK_APP_TOKEN starts with 'xoxb-'"),
])
def test_slack_settings(slack: SlackSetup, level: str, words: str) -> None:
    [found] = slack_findings(slack)
    assert found.level == level and words in found.text


def test_complete_slack_settings_need_nothing() -> None:
    assert slack_findings(SlackSetup(bot_token_prefix="xoxb-", signing_secret=True)) == []
    assert slack_findings(SlackSetup(bot_token_prefix="xoxb-", app_token_prefix="xapp-")) == []


def test_the_database_must_be_readable_and_migrated() -> None:
    url = "sqlite:///deskpulse.db"
    assert database_findings(DatabaseState(url=url, current="0007", head="0007")) == []
    [behind] = database_findings(DatabaseState(url=url, current="0006", head="0007"))
    assert behind.level == FIX and "revision 0006 and this deskpulse needs 0007: run `deskpulse db upgrade`" in \
        behind.text
    [empty] = database_findings(DatabaseState(url=url, current=None, head="0007"))
    assert "has no deskpulse tables yet" in empty.text
    [broken] = database_findings(DatabaseState(url=url, problem="OperationalError: no such file"))
    assert broken.level == FIX and "cannot be read (OperationalError: no such file)" in broken.text


def test_finished_days_waiting_for_their_daily_measures_are_worth_a_look() -> None:
    """After the time zone or business hours change, or while `serve` is not running."""
    url = "sqlite:///deskpulse.db"
    assert database_findings(DatabaseState(url=url, current="0016", head="0016", days_to_build=2)) == []
    state = DatabaseState(url=url, current="0016", head="0016", zone="Europe/Berlin", days_to_build=412)
    [behind] = database_findings(state)
    assert behind.level == LOOK and behind.text.startswith(
        "412 finished days of Europe/Berlin have no up-to-date daily measures for the current time zone and "
        "business hours: questions over them read every ticket (same answers, slower). `deskpulse serve` builds up "
        "to 31 a minute")
    line = render(Report(now=NOW, database=state, slack=SlackSetup(), helpdesks=[]), [behind])[2]
    assert line == "database   sqlite:///deskpulse.db: schema 0016 (up to date) · 412 days to build"


def test_requests_for_a_helpdesk_deskpulse_does_not_know() -> None:
    found = unknown_findings([Activity(source="zendsk", refused_7d={"unknown_helpdesk": 9})], known=["zendesk"])
    assert texts(found) == [(LOOK, "9 requests to /webhooks/zendsk in the last 7 days: deskpulse knows no helpdesk "
                                   "called 'zendsk' (known: zendesk); check the URL")]


def report(*helpdesks: Helpdesk, slack: SlackSetup | None = None) -> Report:
    return Report(now=NOW, database=DatabaseState(url="sqlite:///deskpulse.db", current="0007", head="0007"),
                  slack=slack or SlackSetup(bot_token_prefix="xoxb-", signing_secret=True), helpdesks=list(helpdesks))


def test_a_healthy_setup_exits_0_and_says_so() -> None:
    healthy = report(zendesk(**busy()), Helpdesk(source="gorgias", secret_setting="GORGIAS_WEBHOOK_SECRET",
                                                 secrets=0, activity=Activity(source="gorgias")))
    found = findings(healthy)
    assert found == [] and exit_code(found) == 0
    lines = render(healthy, found)
    assert lines[-1] == "Nothing to fix."
    assert "zendesk    secret set · last delivery 1m ago · 24 h: 120 in, 0 failed · 7 d: 800 in, 0 failed" in lines
    assert "gorgias    no secret · no delivery in 30 days" in lines


def test_anything_to_fix_makes_the_exit_code_1_and_is_listed_first() -> None:
    broken = report(zendesk(refused_24h={"bad_signature": 14}, refused_7d={"bad_signature": 14}),
                    slack=SlackSetup())
    found = findings(broken)
    assert exit_code(found) == 1
    lines = render(broken, found)
    assert lines[lines.index("To fix:") + 1].startswith("  ✗ zendesk: ZENDESK_WEBHOOK_SECRET is set but 14 requests")
    assert lines.index("To fix:") < lines.index("Worth a look:")
    assert exit_code([Finding(LOOK, "slack", "…")]) == 0


def test_no_helpdesk_secret_at_all_needs_fixing() -> None:
    found = findings(report(zendesk(secrets=0)))
    assert [f.subject for f in found if f.level == FIX] == ["helpdesks"]


def test_each_helpdesks_line_shows_its_error_codes_and_refusals() -> None:
    troubled = zendesk(**busy(failed_24h=2, failed_7d=5, errors_7d={"wrong_type": 3, "missing_id": 2},
                              refused_24h={"bad_signature": 1}, refused_7d={"bad_signature": 4}, pending=2,
                              oldest_pending_at=NOW, suspect_events_7d=1))
    line = next(x for x in render(report(troubled), []) if x.startswith("zendesk"))
    assert line == ("zendesk    secret set · last delivery 1m ago · 24 h: 120 in, 2 failed · 7 d: 800 in, 5 failed "
                    "(wrong_type ×3, missing_id ×2) · refused 24 h/7 d: 1/4 (bad_signature ×4) · held back 2 · "
                    "suspect times 7 d: 1")
