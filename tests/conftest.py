"""Shared fixtures: clean environment, databases (SQLite and PostgreSQL), a running server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from bot.runtime import Database, open_database
from bot.settings import Settings
from storage.db import make_engine, make_sessions
from storage.ingest.adapters import ADAPTERS
from storage.migrate import upgrade
from tests.support.server import RunningServer, start_server
from tests.support.signing import secret_for

POSTGRES_URL = os.environ.get("DESKPULSE_TEST_POSTGRES_URL", "postgresql+psycopg://127.0.0.1:5432/test")
_CLEARED_PREFIXES = ("DESKPULSE_", "SLACK_", "DATABASE_URL")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: os.PathLike[str]) -> None:
    """Tests see no setting they did not set, and no .env from the developer's checkout."""
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES) or name.upper().endswith("_WEBHOOK_SECRET"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _postgres_available() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    problem = _postgres_available()
    if problem:
        message = f"PostgreSQL at {make_url(POSTGRES_URL).render_as_string()} is not reachable ({problem})"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI requires it")
        pytest.skip(message + "; set DESKPULSE_TEST_POSTGRES_URL")
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"deskpulse_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: os.PathLike[str]) -> str:
    return f"sqlite:///{tmp_path}/deskpulse.db"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    return str(request.getfixturevalue(f"{request.param}_url"))


# every helpdesk's secret, as tests.support.signing.secret_for names it
SECRETS = {adapter.secret_setting: secret_for(source) for source, adapter in ADAPTERS.items()}


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    """deskpulse's database, migrated, as `serve` opens it."""
    database = open_database(Settings(database_url=database_url))
    try:
        yield database
    finally:
        database.close()


@pytest.fixture
def store(database_url: str) -> Iterator[tuple[str, sessionmaker[Session]]]:
    """A migrated database's URL and sessions, for storage-level tests."""
    upgrade(database_url)
    engine = make_engine(database_url)
    yield database_url, make_sessions(engine)
    engine.dispose()


@pytest.fixture
def server(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningServer]:
    """`deskpulse serve`'s app on a real socket, with its delivery processor running."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", database_url)
    running = start_server()
    try:
        yield running
    finally:
        running.stop()
