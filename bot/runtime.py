"""The composition root's pieces: settings, database, the delivery processor, the HTTP app."""

from __future__ import annotations

import ctypes
import logging
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.types import ASGIApp

from bot.http import build_http_app
from bot.scheduler import start_scheduler
from bot.settings import Settings
from bot.slack.app import build_slack_app, events_route, start_socket_mode
from storage.db import make_engine, make_sessions
from storage.ingest.processor import run_processor
from storage.migrate import upgrade

_M_ARENA_MAX = -8  # glibc's malloc.h


def share_one_heap() -> bool:
    """Make every thread of this process allocate from one glibc heap; True when that was set.

    glibc gives each thread that allocates a heap ("arena") of its own and keeps what was freed
    there for that heap's reuse. A question reads its comparison period on a second thread
    (storage/figures.py), so each heap came to hold a year's worth of freed arrays: 322 MB peak RSS
    over bench/query.py's questions against 247 MB with one heap, at the same speed. Call it before
    any thread starts; elsewhere than glibc there is nothing to set."""
    try:
        return bool(ctypes.CDLL(None).mallopt(_M_ARENA_MAX, 1))
    except (OSError, AttributeError):
        return False


def utc_now() -> datetime:
    return datetime.now(UTC)


def warm_business_clock(settings: Settings, now: datetime) -> threading.Thread | None:
    """Build the business-hours clock (metrics.business_hours) on a thread of its own, once per
    process: the first question that needs business time at question time (an SLA of tickets still
    waiting) would otherwise build it, about 200 ms, counting from 2000."""
    calendar = settings.calendar()
    if calendar is None:
        return None
    thread = threading.Thread(target=calendar.business_seconds, args=(now - timedelta(days=1), now),
                              name="deskpulse-warm-clock", daemon=True)
    thread.start()
    return thread


@dataclass(frozen=True)
class Database:
    engine: Engine
    sessions: sessionmaker[Session]

    def close(self) -> None:
        self.engine.dispose()


def open_database(settings: Settings, *, migrate: bool = True, checkpoints: bool = True) -> Database:
    """Bring the schema up to date (Alembic) and open the engine (`checkpoints`: storage.db.make_engine)."""
    if migrate:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url, checkpoints=checkpoints)
    return Database(engine=engine, sessions=make_sessions(engine))


class Processor:
    """Runs storage.ingest.processor beside the server, in a child process or a thread,
    and starts it again if it ever dies."""

    def __init__(self, database_url: str, sessions: sessionmaker[Session], *, mode: str,
                 clock: Callable[[], datetime]) -> None:
        self._url, self._sessions, self._mode, self._clock = database_url, sessions, mode, clock
        self._context = multiprocessing.get_context("spawn")
        self._stop: Any = None
        self._worker: Any = None
        self._watching = threading.Event()
        self._lock = threading.Lock()  # no restart can slip in after stop()

    def start(self) -> None:
        self._launch()
        threading.Thread(target=self._watch, name="deskpulse-processor-watch", daemon=True).start()

    def _launch(self) -> None:
        if self._mode == "thread":
            self._stop = threading.Event()
            self._worker = threading.Thread(target=run_processor, name="deskpulse-processor", daemon=True,
                                            args=(self._sessions,), kwargs={"clock": self._clock, "stop": self._stop})
        else:
            self._stop = self._context.Event()
            self._worker = self._context.Process(target=_processor_process, args=(self._url, self._stop),
                                                 name="deskpulse-processor", daemon=True)
        self._worker.start()

    def _watch(self) -> None:
        while not self._watching.wait(2.0):
            with self._lock:
                if self._watching.is_set() or self._worker.is_alive() or self._stop.is_set():
                    continue
                logging.getLogger(__name__).error("the delivery processor died; starting it again")
                self._launch()

    def stop(self) -> None:
        with self._lock:
            self._watching.set()
        self._stop.set()
        self._worker.join(15)
        # Free the stop event's semaphores now: uvicorn ends the process by its signal before the
        # exit handlers that would release them run, and Python's resource tracker warns of a leak.
        self._worker = self._stop = None


def _processor_process(database_url: str, stop: Any) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us through `stop`
    # ...or, if it is gone without a word (killed), we stop too rather than run on orphaned.
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=lambda: (parent.join(), stop.set()), name="deskpulse-parent-watch",
                         daemon=True).start()
    # Answering helpdesks is urgent, processing is not: under a burst, let the server go first.
    os.nice(10)
    engine = make_engine(database_url)
    try:
        run_processor(make_sessions(engine), clock=utc_now, stop=stop)
    finally:
        engine.dispose()


@dataclass
class Service:
    """Everything `deskpulse serve` runs, started and stopped together (tests use it too)."""

    database: Database
    processor: Processor
    app: ASGIApp
    disconnect_slack: Callable[[], None] | None = None
    scheduler: BackgroundScheduler | None = None
    stopped: bool = False

    def stop(self) -> None:
        """Stop everything once; `serve` calls it when the server shuts down (uvicorn then ends
        the process by the signal that stopped it, so nothing after `uvicorn.run` would run)."""
        if self.stopped:
            return
        self.stopped = True
        if self.scheduler is not None and self.scheduler.running:
            # wait for a running job: disposing the engine under it would strand its connection
            self.scheduler.shutdown(wait=True)
        if self.disconnect_slack is not None:
            self.disconnect_slack()
        self.processor.stop()
        self.database.close()


def build_web(settings: Settings, database: Database, *, clock: Callable[[], datetime] = utc_now,
              on_shutdown: Callable[[], None] | None = None) -> ASGIApp:
    """The HTTP app of one server process: webhooks, /healthz and /slack/events."""
    warm_business_clock(settings, clock())
    slack = build_slack_app(settings, database.sessions, clock) if settings.slack_configured else None
    return build_http_app(sessions=database.sessions, secrets=settings.webhook_secret_values(),
                          max_age=settings.webhook_max_age_seconds, clock=clock, on_shutdown=on_shutdown,
                          extra_routes=[events_route(slack)])


def build_service(settings: Settings, *, clock: Callable[[], datetime] = utc_now,
                  processor: str = "process") -> Service:
    """Migrate, then start the delivery processor; the caller serves `app`."""
    # A processor of its own process checkpoints SQLite's log, so the intake's commits need not.
    database = open_database(settings, checkpoints=processor != "process")
    worker = Processor(settings.database_url, database.sessions, mode=processor, clock=clock)
    worker.start()
    def stop_service() -> None:
        service.stop()

    service = Service(database=database, processor=worker,
                      app=build_web(settings, database, clock=clock, on_shutdown=stop_service))
    service.scheduler = start_scheduler(settings, database.sessions, clock)
    if settings.socket_mode:
        slack = build_slack_app(settings, database.sessions, clock, socket_mode=True)
        service.disconnect_slack = start_socket_mode(slack, settings.slack_app_token.get_secret_value())  # type: ignore[union-attr]
    elif not settings.slack_configured:
        logging.getLogger(__name__).warning(
            "Slack is not configured (SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET, or SLACK_APP_TOKEN for Socket "
            "Mode): serving webhooks only")
    return service


def create_worker_app() -> ASGIApp:
    """App factory for each of `deskpulse serve --workers N`'s processes (the parent migrated)."""
    share_one_heap()
    settings = Settings()
    database = open_database(settings, migrate=False, checkpoints=False)  # the parent's processor does
    return build_web(settings, database, on_shutdown=database.close)
