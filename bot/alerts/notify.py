"""Turn findings into incidents and messages, each posted once (also across replicas).

An alarming signal opens an incident (one open per subscription and signal, by a unique key) and
posts the alert; while it stays alarming, an update goes to the alert's thread at most once per
cooldown; when it is back within the usual range, a "back to normal" reply closes it. Each message
is claimed like a digest (storage/scheduled_posts.py) and carries metadata naming it, so a retry
after an unclear failure looks before it posts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.evaluate import Finding, evaluate
from bot.render.alerts import alert_message, normal_message, subject, update_message
from bot.settings import Settings
from bot.slack import once
from bot.slack.webapi import SlackProblem
from storage import incidents, scheduled_posts, subscriptions
from storage.db import unit_of_work
from storage.incidents import OpenIncident
from storage.subscriptions import AlertPlan

log = logging.getLogger(__name__)

EVENT_TYPE = "deskpulse_alert"
COOLDOWN = timedelta(minutes=30)  # at most one update per incident in this time
LEASE = timedelta(minutes=2)


@dataclass(frozen=True)
class Alerter:
    sessions: sessionmaker[Session]
    settings: Settings
    client: WebClient  # webapi.posting_client
    holder: str
    agents_allowed: Callable[[str], bool] = lambda channel_id: False  # may an alert there name an agent?

    def check(self, now: datetime) -> int:
        """Evaluate every alerts subscription at `now`; returns how many messages were posted."""
        with self.sessions() as session:
            plans = subscriptions.alert_plans(session)
        return sum(self._check(plan, now) for plan in plans if plan.id is not None)

    def _check(self, plan: AlertPlan, now: datetime) -> int:
        findings = {f.key: f for f in evaluate(self.sessions, self.settings, plan, now,
                                               with_agents=self.agents_allowed(plan.channel_id))}
        with self.sessions() as session:
            open_now = incidents.open_incidents(session, plan.id)  # type: ignore[arg-type]
        posted = 0
        for key, finding in findings.items():
            if not finding.alarming or plan.muted(key, now):
                continue
            incident = open_now.get(key)
            if incident is None:
                posted += self._open(plan, finding, now)
            elif incident.message_ts is None:  # its alert was never confirmed posted: try again
                posted += self._post_alert(plan, finding, incident, now)
            elif now - incident.updated_at >= COOLDOWN:
                posted += self._update(plan, finding, incident, now)
        for key, incident in open_now.items():
            finding = findings.get(key)
            if finding is None or not finding.alarming:
                posted += self._close(plan, finding, incident, now)
        return posted

    def _open(self, plan: AlertPlan, finding: Finding, now: datetime) -> int:
        with unit_of_work(self.sessions) as session:
            incident = incidents.open_incident(session, plan.id, finding.key, now=now, value=finding.value,  # type: ignore[arg-type]
                                               usual=finding.verdict.usual,
                                               window=(finding.window.start, finding.window.end))
        return 0 if incident is None else self._post_alert(plan, finding, incident, now)

    def _post_alert(self, plan: AlertPlan, finding: Finding, incident: OpenIncident, now: datetime) -> int:
        ts = self._post_once(plan, f"incident:{incident.id}:alert", now,
                             alert_message(finding, incident_id=incident.id, filters=plan.filters))
        if ts is None:
            return 0
        with unit_of_work(self.sessions) as session:
            incidents.record_message(session, incident.id, ts)
        log.info("alert %s posted in %s: %s", incident.id, plan.channel_id, finding.key)
        return 1

    def _update(self, plan: AlertPlan, finding: Finding, incident: OpenIncident, now: datetime) -> int:
        with unit_of_work(self.sessions) as session:
            if not incidents.record_update(session, incident, now=now, value=finding.value):
                return 0  # another replica posts this update
        ts = self._post_once(plan, f"incident:{incident.id}:update:{incident.updates + 1}", now,
                             update_message(finding), thread_ts=incident.message_ts)
        return int(ts is not None)

    def _close(self, plan: AlertPlan, finding: Finding | None, incident: OpenIncident, now: datetime) -> int:
        with unit_of_work(self.sessions) as session:
            if not incidents.close(session, incident, now=now):
                return 0
        if incident.message_ts is None:
            return 0  # the alert itself never got out: nothing to follow up
        what = subject(finding) if finding is not None else incident.signal
        ts = self._post_once(plan, f"incident:{incident.id}:normal", now,
                             normal_message(finding, what, opened_at=incident.opened_at, now=now),
                             thread_ts=incident.message_ts)
        return int(ts is not None)

    def _post_once(self, plan: AlertPlan, key: str, now: datetime, message: dict[str, Any], *,
                   thread_ts: str | None = None) -> str | None:
        """Post one message of an incident unless it is posted (or being posted) already."""
        with unit_of_work(self.sessions) as session:
            claim = scheduled_posts.claim(session, plan.id, key, holder=self.holder, now=now, lease=LEASE)  # type: ignore[arg-type]
        if claim is None:
            return None
        metadata = {"event_type": EVENT_TYPE, "event_payload": {"subscription": plan.id, "message": key}}
        try:
            ts = self._find(plan, metadata, thread_ts, now) if claim.retaken else None
            if ts is None:
                answer = self.client.chat_postMessage(channel=plan.channel_id, thread_ts=thread_ts, metadata=metadata,
                                                      unfurl_links=False, **message)
                ts = str(answer["ts"])
        except SlackApiError as error:
            problem = SlackProblem.from_error(error)
            log.warning("alert message %s in %s: %s", key, plan.channel_id, problem.sentence)
            with unit_of_work(self.sessions) as session:
                if problem.code in once.PERMANENT:
                    scheduled_posts.finish(session, claim.id, now=now, error=problem.sentence)
                else:  # the next evaluation tries again, looking first
                    scheduled_posts.release(session, claim.id, error=problem.code, now=now, lease=LEASE)
            return None
        except (SlackRequestError, OSError) as error:
            with unit_of_work(self.sessions) as session:
                scheduled_posts.release(session, claim.id, error=repr(error)[:300], now=now, lease=LEASE)
            return None
        with unit_of_work(self.sessions) as session:
            scheduled_posts.record_message(session, claim.id, ts)
            scheduled_posts.finish(session, claim.id, now=now)
        return ts

    def _find(self, plan: AlertPlan, metadata: dict[str, Any], thread_ts: str | None, now: datetime) -> str | None:
        """The message, if an earlier attempt posted it (an alert's own message within the last hours)."""
        found = once.messages(self.client, plan.channel_id, since=now - timedelta(hours=6), thread_ts=thread_ts)
        return next((m["ts"] for m in found if once.payload_of(m, EVENT_TYPE) == metadata["event_payload"]), None)
