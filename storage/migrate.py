"""Apply Alembic migrations from code (`deskpulse db upgrade`, and at `serve` start)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.pool import NullPool

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# Revisions after which every stored ticket must be folded again (its derived rows changed).
_REFOLD_AFTER = {"0002"}


# Any number of `deskpulse serve` replicas may start at once on one PostgreSQL: the first to
# take this lock migrates, the others wait for it and then find nothing left to do.
_MIGRATION_LOCK = 0x6465736B  # "desk"


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to the newest schema (creating a SQLite file if needed)."""
    with _migration_lock(url):
        before = current_revision(url)
        command.upgrade(alembic_config(url), revision)
        if before is not None and _passed(before, current_revision(url)) & _REFOLD_AFTER:
            _refold(url)


@contextmanager
def _migration_lock(url: str) -> Iterator[None]:
    """A PostgreSQL advisory lock held on its own connection while migrating (SQLite's
    migrations run in one transaction under its database lock)."""
    if not url.startswith("postgresql"):
        yield
        return
    from sqlalchemy import text

    from storage.db import make_engine

    engine = make_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
            connection.commit()
            try:
                yield
            finally:
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
                connection.commit()
    finally:
        engine.dispose()


def _passed(before: str, after: str | None) -> set[str]:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    if after is None or after == before:
        return set()
    return {rev.revision for rev in script.iterate_revisions(after, before)}


def _refold(url: str) -> None:
    from storage import tickets
    from storage.db import make_engine, make_sessions, unit_of_work

    engine = make_engine(url)
    try:
        with unit_of_work(make_sessions(engine)) as session:
            tickets.refold_all(session)
    finally:
        engine.dispose()


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    from storage.db import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
