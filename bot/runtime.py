"""The composition root's pieces: settings, database, the ingestion writer, the HTTP app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette

from bot.http import build_http_app
from bot.settings import Settings
from storage.db import make_engine, make_sessions
from storage.ingest.writer import DeliveryWriter
from storage.migrate import upgrade


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Database:
    engine: Engine
    sessions: sessionmaker[Session]

    def close(self) -> None:
        self.engine.dispose()


def open_database(settings: Settings, *, migrate: bool = True) -> Database:
    """Bring the schema up to date (Alembic) and open the engine."""
    if migrate:
        upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    return Database(engine=engine, sessions=make_sessions(engine))


@dataclass
class Service:
    """Everything `deskpulse serve` runs, started and stopped together (tests use it too)."""

    database: Database
    writer: DeliveryWriter
    app: Starlette

    def stop(self) -> None:
        self.writer.stop()
        self.database.close()


def build_service(settings: Settings, *, clock: Callable[[], datetime] = utc_now) -> Service:
    database = open_database(settings)
    writer = DeliveryWriter(database.sessions, clock=clock)
    writer.start()
    app = build_http_app(sessions=database.sessions, writer=writer, secrets=settings.webhook_secret_values(),
                         max_age=settings.webhook_max_age_seconds, clock=clock)
    return Service(database=database, writer=writer, app=app)
