"""Engines, sessions and transactions.

Repositories never commit; `unit_of_work` does, so a caller can put several writes in
one transaction and a failure rolls all of them back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from storage.tables import storable_json

DEFAULT_DATABASE_URL = "sqlite:///deskpulse.db"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, *, checkpoints: bool = True) -> None:
    # WAL lets readers work while the webhook writer commits; NORMAL is durable across
    # application crashes (an OS crash may lose the last commits, the journal stays sound).
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    if not checkpoints:
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


def make_engine(url: str, *, checkpoints: bool = True, **kwargs: Any) -> Engine:
    """An engine for a SQLite file or a PostgreSQL URL (postgresql+psycopg://...).

    `checkpoints=False` (SQLite): this engine's commits never copy the write-ahead log back into
    the database; another engine on the same file must (the delivery processor's does). A
    checkpoint runs inside the commit that crosses the log's size limit, so the webhook intake
    leaves them to the processor and answers sooner.
    """
    kwargs.setdefault("json_serializer", storable_json)  # what CleanJSON columns promise
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **kwargs)
        event.listen(engine, "connect", partial(_sqlite_pragmas, checkpoints=checkpoints))
        return engine
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
    return create_engine(url, pool_pre_ping=True, **kwargs)


def checkpoint(sessions: sessionmaker[Session]) -> None:
    """SQLite: copy the write-ahead log back into the database, as far as readers allow (PASSIVE
    neither waits for nor blocks anyone)."""
    with sessions() as session:
        session.connection().exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")


def is_postgres(engine_or_session: Engine | Session) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "postgresql"


def dialect_insert(session: Session, table: Any) -> Any:
    """INSERT with the dialect's ON CONFLICT clauses (both SQLite and PostgreSQL have them)."""
    return (pg_insert if is_postgres(session) else sqlite_insert)(table)


@contextmanager
def without_parallel_workers(session: Session) -> Iterator[None]:
    """PostgreSQL plans the reads inside without parallel workers: meant for many small reads (a
    breakdown by day or week reads the tickets open at each slice's edge), where starting two
    workers took ~6 ms of a 2.4 ms read. Ends with the transaction if the work inside fails."""
    if not is_postgres(session) or session.info.get(_SERIAL):  # within one already: it decides
        yield
        return
    session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    session.info[_SERIAL] = True
    try:
        yield
    finally:
        del session.info[_SERIAL]
    session.execute(text("SET LOCAL max_parallel_workers_per_gather TO DEFAULT"))


_SERIAL = "without_parallel_workers"


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def unit_of_work(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit on success, roll back on error, always close."""
    session = sessions()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
