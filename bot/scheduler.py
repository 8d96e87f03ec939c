"""The jobs `deskpulse serve` runs on a clock (APScheduler 3): posting the digests that are due,
evaluating the alerts (both when Slack is configured), and building the daily measures that keep
long questions fast (storage/rollups.py).

Job bodies stay thin; bot/digest/post.py decides what is due and posts each digest once, so
any number of replicas can run this same scheduler against one database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.notify import Alerter
from bot.digest.post import Poster, holder_name
from bot.settings import Settings
from bot.slack.access import AgentAccess
from bot.slack.webapi import posting_client
from storage import rollups, subscriptions
from storage.db import unit_of_work
from storage.subscriptions import DigestPlan

log = logging.getLogger(__name__)

ALWAYS = datetime(2000, 1, 1, tzinfo=UTC)
CHECK_SECONDS = 30  # how often due digests are looked for: a 09:00 digest is out by 09:00:30
ALERT_SECONDS = 300  # how often every alerts subscription's signals are evaluated
ROLLUP_SECONDS = 60  # how often finished or changed days get their daily measures built
ROLLUP_DAYS_PER_RUN = 31  # keeps a run short; a large import is caught up over several runs


def digest_poster(settings: Settings, sessions: sessionmaker[Session]) -> Poster:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    access = AgentAccess(settings.agent_metric_channels, settings.agent_metric_usergroups)
    return Poster(sessions, settings, posting_client(token, settings.slack_api_url), holder_name(),
                  access.channel_allowed)


def alerter(settings: Settings, sessions: sessionmaker[Session]) -> Alerter:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    access = AgentAccess(settings.agent_metric_channels, settings.agent_metric_usergroups)
    return Alerter(sessions, settings, posting_client(token, settings.slack_api_url), holder_name(),
                   access.channel_allowed)


def save_fixed_digests(settings: Settings, sessions: sessionmaker[Session]) -> None:
    """The digests of DESKPULSE_DIGESTS, saved like those set from Slack. They count as always set: a
    deployment at 10:00 still posts the 09:00 digest, late, within the grace period."""
    with unit_of_work(sessions) as session:
        for channel, wanted in settings.fixed_digests():
            subscriptions.save_digest(session, DigestPlan(
                channel_id=channel, cadence=wanted.cadence, at_time=wanted.at_time,
                timezone=wanted.timezone or settings.timezone, weekday=wanted.weekday, filters=wanted.filters),
                created_by="environment", now=ALWAYS)


def start_scheduler(settings: Settings, sessions: sessionmaker[Session],
                    clock: Callable[[], datetime]) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=UTC)
    _every(scheduler, ROLLUP_SECONDS, "daily measures", lambda: rollups.build_missing(
        sessions, now=clock(), zone=settings.zone, calendar=settings.calendar(), limit=ROLLUP_DAYS_PER_RUN))
    if settings.slack_bot_token is not None:
        save_fixed_digests(settings, sessions)
        poster, alerts = digest_poster(settings, sessions), alerter(settings, sessions)
        _every(scheduler, ALERT_SECONDS, "alerts", lambda: alerts.check(clock()))
        _every(scheduler, CHECK_SECONDS, "digests", lambda: poster.post_due(clock()))
    scheduler.start()
    return scheduler


def _every(scheduler: BackgroundScheduler, seconds: int, name: str, job: Callable[[], object]) -> None:
    def run() -> None:
        try:
            job()
        except Exception:  # the next run tries again; the scheduler must keep running
            log.exception("%s: the scheduled run failed", name)

    # one run at a time per process (max_instances) and no pile-up after a pause (coalesce)
    scheduler.add_job(run, "interval", seconds=seconds, id=name, max_instances=1, coalesce=True,
                      next_run_time=datetime.now(UTC))
