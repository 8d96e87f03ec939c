"""Group commit for webhook deliveries, inside the server's event loop.

Committing each webhook in its own transaction costs one commit per request; here every
request that arrives while a commit is under way joins the next one, and each request is
answered only after the commit that holds its delivery.
"""

from __future__ import annotations

import asyncio

from sqlalchemy.orm import Session, sessionmaker

from storage.db import unit_of_work
from storage.ingest.pipeline import Answer, store_many

MAX_GROUP = 500


class DeliveryIntake:
    """`await intake.store(answer)` returns the answer once its delivery is committed."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._waiting: list[tuple[Answer, asyncio.Future[Answer]]] = []
        self._flushing = False

    async def store(self, answer: Answer) -> Answer:
        future: asyncio.Future[Answer] = asyncio.get_running_loop().create_future()
        self._waiting.append((answer, future))
        if not self._flushing:
            self._flushing = True
            asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting[:MAX_GROUP], self._waiting[MAX_GROUP:]
                try:
                    stored = await asyncio.to_thread(self._commit, [answer for answer, _ in group])
                except Exception as exc:  # the database is down: each waiting request gets a 503
                    for _, future in group:
                        future.set_exception(exc)
                    continue
                for (_, future), result in zip(group, stored, strict=True):
                    future.set_result(result)
        finally:
            self._flushing = False

    def _commit(self, answers: list[Answer]) -> list[Answer]:
        with unit_of_work(self._sessions) as session:
            return store_many(session, answers)
