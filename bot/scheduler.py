"""The jobs `deskpulse serve` runs on a clock (APScheduler 3): posting the digests that are due,
and evaluating the alerts.

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
from storage import subscriptions
from storage.db import unit_of_work
from storage.subscriptions import DigestPlan

log = logging.getLogger(__name__)

ALWAYS = datetime(2000, 1, 1, tzinfo=UTC)
CHECK_SECONDS = 30  # how often due digests are looked for: a 09:00 digest is out by 09:00:30
ALERT_SECONDS = 300  # how often every alerts subscription's signals are evaluated


def digest_poster(settings: Settings, sessions: sessionmaker[Session]) -> Poster:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    access = AgentAccess(settings.agent_metric_channels, settings.agent_metric_usergroups)
    return Poster(sessions, settings, posting_client(token, settings.slack_api_url), holder_name(),
                  access.channel_allowed)


def alerter(settings: Settings, sessions: sessionmaker[Session]) -> Alerter:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else ""
    return Alerter(sessions, settings, posting_client(token, settings.slack_api_url), holder_name())


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
    save_fixed_digests(settings, sessions)
    poster = digest_poster(settings, sessions)

    def post_digests() -> None:
        try:
            poster.post_due(clock())
        except Exception:  # the next run tries again; the scheduler must keep running
            log.exception("posting digests failed")

    alerts = alerter(settings, sessions)

    def check_alerts() -> None:
        try:
            alerts.check(clock())
        except Exception:
            log.exception("checking alerts failed")

    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(check_alerts, "interval", seconds=ALERT_SECONDS, id="alerts", max_instances=1, coalesce=True,
                      next_run_time=datetime.now(UTC))
    # one run at a time per process (max_instances) and no pile-up after a pause (coalesce)
    scheduler.add_job(post_digests, "interval", seconds=CHECK_SECONDS, id="digests", max_instances=1, coalesce=True,
                      next_run_time=datetime.now(UTC))
    scheduler.start()
    return scheduler
