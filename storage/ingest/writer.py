"""One thread that commits deliveries in groups and processes them when it is idle.

Committing each webhook in its own transaction costs one fsync per request; here every
request waiting at that moment shares one commit, and each is answered only after it.
The same thread processes stored deliveries between groups, so on SQLite there is a
single writer and no lock contention.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from storage.db import unit_of_work
from storage.ingest.pipeline import Answer, process_pending, store

log = logging.getLogger(__name__)

_STOP = object()


class DeliveryWriter:
    """`submit(answer)` returns a future resolved once the answer's delivery is committed."""

    def __init__(self, sessions: sessionmaker[Session], *, clock: Callable[[], datetime],
                 max_group: int = 500, process_batch: int = 50, poll_seconds: float = 1.0) -> None:
        self._sessions = sessions
        self._clock = clock
        self._max_group = max_group
        self._process_batch = process_batch
        self._poll_seconds = poll_seconds
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="deskpulse-writer", daemon=True)
        self._backlog = True  # look for pending deliveries left by an earlier run
        self.idle = threading.Event()

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout)

    def submit(self, answer: Answer) -> Future[Answer]:
        future: Future[Answer] = Future()
        self._queue.put((answer, future))
        return future

    def _run(self) -> None:
        while True:
            group, stopping = self._next_group()
            if group:
                self._commit(group)
            if stopping:
                return
            if self._queue.empty():
                self._process_some()

    def _next_group(self) -> tuple[list[tuple[Answer, Future[Answer]]], bool]:
        timeout = 0 if self._backlog else self._poll_seconds
        try:
            first = self._queue.get(timeout=timeout) if timeout else self._queue.get_nowait()
        except queue.Empty:
            self._backlog = True  # quiet: check for work other processes or restarts left
            return [], False
        group: list[tuple[Answer, Future[Answer]]] = []
        item = first
        while True:
            if item is _STOP:
                return group, True
            group.append(item)  # type: ignore[arg-type]
            if len(group) >= self._max_group:
                return group, False
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return group, False

    def _commit(self, group: list[tuple[Answer, Future[Answer]]]) -> None:
        try:
            with unit_of_work(self._sessions) as session:
                results = [store(session, answer) for answer, _ in group]
        except Exception as exc:  # the database is down: every waiting request gets a 503
            log.exception("could not store %d deliveries", len(group))
            for _, future in group:
                future.set_exception(exc)
            return
        for (_, future), result in zip(group, results, strict=True):
            future.set_result(result)
        self._backlog = self._backlog or any(r.delivery is not None for r in results)

    def _process_some(self) -> None:
        if not self._backlog:
            self.idle.set()
            return
        self.idle.clear()
        started = time.perf_counter()
        try:
            report = process_pending(self._sessions, now=self._clock(), limit=self._process_batch)
        except Exception:
            log.exception("processing deliveries failed; will retry")
            time.sleep(min(self._poll_seconds, 1.0))
            return
        self._backlog = report.total > 0
        if report.total:
            log.debug("processed %d deliveries in %.0f ms", report.total, (time.perf_counter() - started) * 1000)
        else:
            self.idle.set()
