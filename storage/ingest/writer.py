"""One thread that commits webhook deliveries in groups.

Committing each webhook in its own transaction costs one fsync per request; here every
request waiting at that moment shares one commit, and each is answered only after it.
Processing happens elsewhere (storage.ingest.processor), so answering never waits for it.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future

from sqlalchemy.orm import Session, sessionmaker

from storage.db import unit_of_work
from storage.ingest.pipeline import Answer, store_many

log = logging.getLogger(__name__)

_STOP = object()
_Item = tuple[Answer, "Future[Answer]"]


class DeliveryWriter:
    """`submit(answer)` returns a future resolved once the answer's delivery is committed."""

    def __init__(self, sessions: sessionmaker[Session], *, max_group: int = 500) -> None:
        self._sessions = sessions
        self._max_group = max_group
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="deskpulse-writer", daemon=True)

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
        stopping = False
        while not stopping:
            group: list[_Item] = []
            item = self._queue.get()
            while True:
                if item is _STOP:
                    stopping = True
                    break
                group.append(item)  # type: ignore[arg-type]
                if len(group) >= self._max_group:
                    break
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
            if group:
                self._commit(group)

    def _commit(self, group: list[_Item]) -> None:
        try:
            with unit_of_work(self._sessions) as session:
                results = store_many(session, [answer for answer, _ in group])
        except Exception as exc:  # the database is down: every waiting request gets a 503
            log.exception("could not store %d deliveries", len(group))
            for _, future in group:
                future.set_exception(exc)
            return
        for (_, future), result in zip(group, results, strict=True):
            future.set_result(result)
