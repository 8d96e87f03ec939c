"""Post each due digest once: claim it in the database, compose, post, record each step.

Exactly once, also with several `deskpulse serve` processes on one PostgreSQL and restarts
midway: only the process holding a (subscription, period) claim posts; every message carries
Slack message metadata naming its digest and part, so a process that takes over a claim, or
retries after an answer it could not read (a 5xx, a dropped connection), first looks in the
channel for what was already posted and only posts what is missing.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from sqlalchemy.orm import Session, sessionmaker

from bot.digest.compose import Digest, compose
from bot.digest.schedule import Due, due_digest
from bot.render.charts import chart_png
from bot.render.digest import digest_message, digest_title, thread_messages
from bot.settings import Settings
from bot.slack import once
from bot.slack.webapi import SlackProblem
from storage import scheduled_posts, subscriptions
from storage.db import unit_of_work
from storage.scheduled_posts import Claim
from storage.subscriptions import DigestPlan

log = logging.getLogger(__name__)

EVENT_TYPE = "deskpulse_digest"
LEASE = timedelta(minutes=5)  # a claim whose holder went quiet this long is taken over
MAX_ATTEMPTS = 12


def holder_name() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


@dataclass(frozen=True)
class Poster:
    sessions: sessionmaker[Session]
    settings: Settings
    client: WebClient  # webapi.posting_client: no blind retries after a 5xx
    holder: str
    agents_allowed: Callable[[str], bool]  # per-agent lines only in the channels allowed to see them

    def post_due(self, now: datetime) -> int:
        """Post every digest due at `now` that no process has posted; returns how many were finished."""
        with self.sessions() as session:
            plans = subscriptions.digests(session)
        finished = 0
        for plan in plans:
            due = due_digest(plan, now, grace=self.settings.digest_grace, week_start=self.settings.first_weekday)
            if due is None or plan.id is None:
                continue
            with unit_of_work(self.sessions) as session:
                claim = scheduled_posts.claim(session, plan.id, due.key, holder=self.holder, now=now, lease=LEASE)
            if claim is not None:
                finished += self._post(plan, due, claim, now)
        return finished

    def _post(self, plan: DigestPlan, due: Due, claim: Claim, now: datetime) -> int:
        try:
            digest = compose(self.sessions, self.settings, cadence=plan.cadence, period=due.period,
                             filters=plan.filters, now=now, with_agents=self.agents_allowed(plan.channel_id))
            _Delivery(self, plan, due, claim, digest).run()
        except SlackApiError as error:
            problem = SlackProblem.from_error(error)
            if problem.code in once.PERMANENT:
                log.warning("digest %s for %s not posted: %s", plan.id, plan.channel_id, problem.sentence)
                self._finish(claim, now, problem.sentence)
                return 1
            return self._retry_later(claim, due, now, f"Slack answered {problem.code}")
        except (SlackRequestError, OSError) as error:  # no readable answer: it may have been posted
            return self._retry_later(claim, due, now, f"no answer from Slack: {error!r}"[:300])
        except Exception as error:  # composing failed (a database outage, a bug): try again soon
            log.exception("digest %s for %s failed", plan.id, plan.channel_id)
            return self._retry_later(claim, due, now, repr(error)[:300])
        self._finish(claim, now, None)
        log.info("digest %s (%s) posted in %s", plan.id, due.key, plan.channel_id)
        return 1

    def _retry_later(self, claim: Claim, due: Due, now: datetime, reason: str) -> int:
        if claim.attempts >= MAX_ATTEMPTS or now - due.slot > self.settings.digest_grace:
            log.error("digest claim %s given up after %d attempts: %s", claim.id, claim.attempts, reason)
            self._finish(claim, now, reason)
            return 1
        log.warning("digest claim %s will be retried: %s", claim.id, reason)
        with unit_of_work(self.sessions) as session:
            scheduled_posts.release(session, claim.id, error=reason, now=now, lease=LEASE)
        return 0

    def _finish(self, claim: Claim, now: datetime, error: str | None) -> None:
        with unit_of_work(self.sessions) as session:
            scheduled_posts.finish(session, claim.id, now=now, error=error)


@dataclass
class _Delivery:
    """The steps of one digest: the top message, then the chart and the details in its thread."""

    poster: Poster
    plan: DigestPlan
    due: Due
    claim: Claim
    digest: Digest

    def run(self) -> None:
        ts = self.claim.message_ts or (self._find_top() if self.claim.retaken else None)
        if ts is None:
            ts = self._post_message(digest_message(self.digest), part=0)
        self._record(message_ts=ts)
        parts = thread_messages(self.digest)
        posted = self._parts_found(ts) if self.claim.retaken else set()
        for index, message in enumerate(parts, start=1):
            if index > self.claim.parts_posted and index not in posted:
                self._post_message(message, part=index, thread_ts=ts)
            self._record(parts_posted=index)
        if "chart" not in posted:
            self._post_chart(ts)

    def _metadata(self, part: int) -> dict[str, Any]:
        return {"event_type": EVENT_TYPE, "event_payload": {
            "subscription": self.plan.id, "period": self.due.key, "part": part}}

    def _post_message(self, message: dict[str, Any], *, part: int, thread_ts: str | None = None) -> str:
        answer = self.poster.client.chat_postMessage(channel=self.plan.channel_id, thread_ts=thread_ts,
                                                     metadata=self._metadata(part), unfurl_links=False, **message)
        return str(answer["ts"])

    def _post_chart(self, ts: str) -> None:
        png = chart_png(self.digest.chart)
        if png is None:
            return
        self.poster.client.files_upload_v2(channel=self.plan.channel_id, thread_ts=ts, file=png,
                                           filename=self._chart_name(), title=digest_title(self.digest),
                                           alt_txt=f"New tickets over {self.digest.period.label}")

    def _chart_name(self) -> str:
        return f"deskpulse-digest-{self.plan.id}-{self.due.key.replace('/', '-')}.png"

    def _ours(self, message: dict[str, Any]) -> int | None:
        """The part number of one of this digest's messages, else None."""
        payload = once.payload_of(message, EVENT_TYPE)
        if payload and payload.get("subscription") == self.plan.id and payload.get("period") == self.due.key:
            return int(payload.get("part", 0))
        return None

    def _find_top(self) -> str | None:
        """The top message, if an earlier attempt posted it."""
        found = once.messages(self.poster.client, self.plan.channel_id, since=self.due.slot - timedelta(minutes=1))
        return next((m["ts"] for m in found if self._ours(m) == 0), None)

    def _parts_found(self, ts: str) -> set[int | str]:
        found: set[int | str] = set()
        for message in once.messages(self.poster.client, self.plan.channel_id, thread_ts=ts):
            part = self._ours(message)
            if part:
                found.add(part)
            if any(f.get("name") == self._chart_name() for f in message.get("files") or []):
                found.add("chart")
        return found

    def _record(self, *, message_ts: str | None = None, parts_posted: int | None = None) -> None:
        with unit_of_work(self.poster.sessions) as session:
            if message_ts is not None:
                scheduled_posts.record_message(session, self.claim.id, message_ts)
            if parts_posted is not None:
                scheduled_posts.record_parts(session, self.claim.id, parts_posted)
