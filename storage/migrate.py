"""Apply Alembic migrations from code (`deskpulse db upgrade`, and at `serve` start)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


# Revisions after which every stored ticket must be folded again (its derived rows changed).
_REFOLD_AFTER = {"0002"}


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at `url` to the newest schema (creating a SQLite file if needed)."""
    before = current_revision(url)
    command.upgrade(alembic_config(url), revision)
    if before is not None and _passed(before, current_revision(url)) & _REFOLD_AFTER:
        _refold(url)


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
