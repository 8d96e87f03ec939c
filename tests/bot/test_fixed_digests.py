"""The digests of DESKPULSE_DIGESTS are saved when serve starts, by every replica at once."""

from __future__ import annotations

import threading
import time

from sqlalchemy import text

from bot.scheduler import ALWAYS, save_fixed_digests
from bot.settings import Settings
from storage import subscriptions
from storage.db import make_engine, make_sessions
from storage.migrate import upgrade
from storage.subscriptions import DigestPlan


def test_a_replica_that_finds_another_adding_the_same_digest_keeps_that_one(postgres_url: str) -> None:
    """Replica 1 has added the channel's digest but not committed it when replica 2 adds it too:
    replica 2 waits on the unique key, then reads replica 1's row instead of failing to start."""
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    sessions = make_sessions(engine)
    settings = Settings(database_url=postgres_url, digests="C0REPLICA daily 09:00", timezone="UTC")
    first = sessions()
    subscriptions.save_digest(first, DigestPlan(channel_id="C0REPLICA", cadence="daily", at_time="09:00",
                                                timezone="UTC"), created_by="environment", now=ALWAYS)
    first.flush()
    failures: list[BaseException] = []

    def second_replica() -> None:
        try:
            save_fixed_digests(settings, sessions)
        except BaseException as error:  # reported by the assertion below
            failures.append(error)

    second = threading.Thread(target=second_replica)
    second.start()
    # until replica 2 is blocked on replica 1's uncommitted row (autocommit: pg_stat_activity is
    # a snapshot held for the whole of a transaction)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as watcher:
        for _ in range(600):
            if watcher.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                   "AND datname = current_database()")):
                break
            time.sleep(0.05)
        else:
            raise AssertionError(f"replica 2 never waited for replica 1: {failures}")
    first.commit()
    first.close()
    second.join(timeout=30)
    with sessions() as session:
        saved = subscriptions.digests(session)
    engine.dispose()
    assert failures == []
    assert [(d.channel_id, d.at_time) for d in saved] == [("C0REPLICA", "09:00")]
