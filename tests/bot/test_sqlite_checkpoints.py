"""On SQLite the webhook intake never stops to copy the write-ahead log into the database: a
checkpoint runs inside whichever commit crosses the log's size limit, and a helpdesk waiting for
its 2xx should not pay for it. The delivery processor, in its own process, checkpoints instead."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from bot.runtime import build_service, utc_now
from bot.settings import Settings
from storage.db import make_engine, make_sessions
from storage.ingest.processor import run_processor
from storage.migrate import upgrade

PAGE = 4096


def autocheckpoint(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return int(connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one())


def write_past_the_log_limit(engine) -> None:  # type: ignore[no-untyped-def]
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE bulk (body BLOB)"))
    for _ in range(30):  # about 1,500 pages: past SQLite's limit of 1,000 pages
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO bulk VALUES (randomblob(200000))"))


def test_the_intake_leaves_the_log_to_the_processor_which_copies_it_back(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/deskpulse.db"
    intake, processor = make_engine(url, checkpoints=False), make_engine(url)
    try:
        write_past_the_log_limit(intake)
        database = tmp_path / "deskpulse.db"
        assert os.path.getsize(database) < 100 * PAGE, "the intake's commits copied the log back"
        with processor.begin() as connection:  # the processor's next commit checkpoints
            connection.execute(text("INSERT INTO bulk VALUES (x'00')"))
        assert os.path.getsize(database) > 1400 * PAGE
    finally:
        intake.dispose()
        processor.dispose()


@pytest.mark.parametrize(("processor", "expected"), [("process", 0), ("thread", 1000)])
def test_serve_checkpoints_where_its_processor_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   processor: str, expected: int) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/deskpulse.db")
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    service = build_service(Settings(_env_file=None), processor=processor)  # type: ignore[call-arg]
    try:
        assert autocheckpoint(service.database.engine) == expected
    finally:
        service.stop()


def test_an_idle_processor_copies_back_what_scheduled_jobs_wrote(tmp_path: Path) -> None:
    """No delivery comes (a quiet night), but the server's jobs wrote: the log does not grow for ever."""
    url = f"sqlite:///{tmp_path}/deskpulse.db"
    upgrade(url)
    server, processor = make_engine(url, checkpoints=False), make_engine(url)
    stop = threading.Event()
    worker = threading.Thread(target=run_processor, args=(make_sessions(processor),),
                              kwargs={"clock": utc_now, "stop": stop, "idle_seconds": 0.05, "checkpoint_seconds": 0.1})
    try:
        worker.start()
        write_past_the_log_limit(server)
        database = tmp_path / "deskpulse.db"
        deadline = time.monotonic() + 30
        while os.path.getsize(database) < 1400 * PAGE and time.monotonic() < deadline:
            time.sleep(0.05)
        assert os.path.getsize(database) > 1400 * PAGE
    finally:
        stop.set()
        worker.join(10)
        server.dispose()
        processor.dispose()
