"""The loop that turns stored deliveries into events and tickets, for `deskpulse serve`.

It runs beside the HTTP server (in its own process, so that processing never slows the
answers to helpdesks) and also picks up what an earlier run or another replica left.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from storage.db import checkpoint, is_postgres
from storage.ingest.pipeline import process_pending

log = logging.getLogger(__name__)


def run_processor(sessions: sessionmaker[Session], *, clock: Callable[[], datetime], stop: threading.Event,
                  batch: int | None = None, idle_seconds: float = 0.2, checkpoint_seconds: float = 10.0) -> None:
    """Process pending deliveries until `stop` is set; errors are logged, never fatal.

    On SQLite it also copies the write-ahead log back every `checkpoint_seconds` while idle: the
    server's own commits leave that to this process (storage.db.make_engine), and its scheduled
    jobs may write for long after the last delivery.
    """
    with sessions() as session:
        postgres = is_postgres(session)
    if batch is None:
        # SQLite has one write lock, shared with the webhook intake: short batches keep
        # its waits (the intake's p99) short. PostgreSQL locks rows, so batches can be large.
        batch = 500 if postgres else 100
    checkpointed = time.monotonic()
    while not stop.is_set():
        try:
            report = process_pending(sessions, now=clock(), limit=batch)
        except Exception:
            log.exception("processing deliveries failed; retrying in a moment")
            stop.wait(5)
            continue
        if report.failed:
            log.warning("%d deliveries failed to process; kept for `deskpulse replay --failed`", report.failed)
        if report.total < batch:
            if not postgres and time.monotonic() - checkpointed >= checkpoint_seconds:
                checkpoint(sessions)
                checkpointed = time.monotonic()
            stop.wait(idle_seconds)


def wait_until_processed(sessions: sessionmaker[Session], *, timeout: float = 10.0) -> bool:
    """True once nothing is pending (tests and the benchmark use it)."""
    from storage.deliveries import PENDING, count_by_fate

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with sessions() as session:
            if not count_by_fate(session).get(PENDING):
                return True
        time.sleep(0.02)
    return False
