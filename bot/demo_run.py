"""`deskpulse demo`: a demo team's history, sent through the real ingestion pipeline."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, timedelta
from typing import Any

import click

from bot.ask import ask
from bot.demo import demo_history, demo_orders
from bot.digest.compose import compose
from bot.digest.schedule import covered
from bot.render.terminal import answer_lines, digest_lines
from bot.runtime import Database, open_database, utc_now
from bot.settings import Settings
from bot.text import duration, overview_lines
from metrics.anomaly import detect, share_behind
from metrics.catalog import Answer
from metrics.overview import overview
from metrics.series import HOUR, Series, hourly_series
from storage import tickets
from storage.db import unit_of_work
from storage.ingest.adapters.deskpulse import sign
from storage.ingest.pipeline import Answer as Delivered
from storage.ingest.pipeline import Request, process_all, receive, store_many
from storage.subscriptions import DigestPlan

DEMO_SECRET = "deskpulse-demo-secret"  # used only when DESKPULSE_WEBHOOK_SECRET is not set
_GROUP = 1000


def run_demo(settings: Settings, *, days: int, seed: int) -> None:
    database = open_database(settings)
    try:
        with database.sessions() as session:
            existing = tickets.count(session)
        if existing:
            click.echo(f"The database already holds {existing} tickets; showing them "
                       "(delete the database file for a fresh demo).", err=True)
        else:
            _fill(database, settings, days=days, seed=seed)
        with database.sessions() as session:
            summary = overview(tickets.all_tickets(session), tz=settings.zone)
        click.echo("\n".join(overview_lines(summary, timezone=settings.timezone)))
        _answer_examples(database, settings)
        _digest_example(database, settings)
        _alerts_example(database, settings)
        click.echo("\nLook at one ticket: deskpulse ticket deskpulse:10001")
        click.echo('Ask your own: deskpulse ask "csat last week by agent" (deskpulse ask help lists the words)')
    finally:
        database.close()


EXAMPLE_QUESTIONS = ("frt yesterday by channel", "csat last week", "backlog")


def _answer_examples(database: Database, settings: Settings) -> None:
    """What a lead would type in Slack, answered the same way `deskpulse ask` does."""
    for question in EXAMPLE_QUESTIONS:
        click.echo(f"\n$ deskpulse ask {question}")
        result = ask(database.sessions, settings, question, now=utc_now())
        assert isinstance(result, Answer), "the examples are metric questions"
        click.echo("\n".join(answer_lines(result)))


def _digest_example(database: Database, settings: Settings) -> None:
    """Yesterday's digest, as a channel would get it each morning (`/deskpulse digest daily 09:00`)."""
    now = utc_now()
    yesterday = now.astimezone(settings.zone).date() - timedelta(days=1)
    plan = DigestPlan(channel_id="", cadence="daily", at_time="09:00", timezone=settings.timezone)
    period, _ = covered(plan, yesterday + timedelta(days=1))
    click.echo("\n$ deskpulse digest --dry-run")
    digest = compose(database.sessions, settings, cadence="daily", period=period, filters="", now=now,
                     with_agents=True)
    click.echo("\n".join(digest_lines(digest)))


def _alerts_example(database: Database, settings: Settings) -> None:
    """What `/deskpulse alerts on` would have said over the demo's history (metrics.anomaly.detect)."""
    with database.sessions() as session:
        history = tickets.all_tickets(session)
    if not history:
        return
    end = utc_now().replace(minute=0, second=0, microsecond=0)
    start = min(t.created_at for t in history).replace(minute=0, second=0, microsecond=0)
    holidays = settings.holiday_names()
    click.echo("\nAlerts the detector raised on this history (docs/metrics.md, \"Unusual hours\"):")
    raised = []
    for series in hourly_series(history, start, end):
        for moment in detect(series.stamps, series.values, metric=series.metric, direction=series.direction,
                             support=series.support, holidays=holidays, freq=HOUR):
            raised.append((moment, series.metric, _shown(series, series.stamps.index(moment), holidays)))
    for moment, metric, shown in sorted(raised):
        click.echo(f"  {moment.astimezone(settings.zone):%a %d %b %H:%M}  {metric:<11} {shown}")
    if not raised:
        click.echo("  none: nothing in this history was far from usual")


def _shown(series: Series, i: int, holidays: Iterable[date]) -> str:
    """The number behind an alert, in the words of the digest."""
    if series.metric == "volume":
        return f"{series.values[i]:.0f} new tickets in the hour"
    if series.metric == "frt_median":
        return f"median first response {duration(series.values[i])} in the hour"
    behind = share_behind(series.stamps, series.values, series.support, series.stamps[i], holidays=holidays, freq=HOUR)
    if behind is None:
        return "CSAT"
    window, share, ratings = behind
    return f"CSAT {share:.0f}% of {ratings} ratings in the last {duration(window.total_seconds())}"


def _fill(database: Database, settings: Settings, *, days: int, seed: int) -> None:
    secret = settings.webhook_secret_values().get("deskpulse", DEMO_SECRET)
    history = list(demo_history(end=utc_now(), days=days, seed=seed))
    pending: list[Delivered] = []
    label = f"sending {days} days of a demo team's tickets through the webhook pipeline"
    with click.progressbar(history, label=label, file=sys.stderr) as bar:
        for ticket in bar:
            pending.extend(_signed_answer(body, secret, settings.webhook_max_age_seconds)
                           for body in ticket.deliveries)
            if len(pending) >= _GROUP:
                _store_and_process(database, pending)
                pending = []
    _store_and_process(database, pending)
    shop = list(demo_orders(end=utc_now(), days=days, seed=seed))
    _store_and_process(database, [_signed_answer(body, secret, settings.webhook_max_age_seconds) for body in shop])


def _signed_answer(body: dict[str, Any], secret: str, max_age: int) -> Delivered:
    """The delivery as the helpdesk would have sent it, received when its last event happened."""
    raw = json.dumps(body).encode()
    received_at = max(datetime.fromisoformat(e["occurred_at"]) for e in _events(body))
    timestamp = str(int(received_at.timestamp()))
    headers = {"content-type": "application/json", "x-deskpulse-timestamp": timestamp,
               "x-deskpulse-signature": sign(secret, timestamp, raw)}
    request = Request(source="deskpulse", endpoint="/webhooks/deskpulse", hint=None, headers=headers,
                      body=raw, received_at=received_at)
    answer = receive(request, secrets={"deskpulse": secret}, max_age=max_age)
    if answer.status >= 400:
        raise click.ClickException(f"the demo produced a delivery the pipeline refused: {answer.body}")
    return answer


def _events(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield from body.get("events", [body])


def _store_and_process(database: Database, answers: Sequence[Delivered]) -> None:
    if answers:
        with unit_of_work(database.sessions) as session:
            store_many(session, answers)
        process_all(database.sessions, now=utc_now(), batch=500)
