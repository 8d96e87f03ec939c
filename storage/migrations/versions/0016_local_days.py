"""local days: daily measures follow the configured time zone's days, and ingestion marks what
it touched as stretches of time instead of UTC days

`rollup_days.zone` names the zone a built day belongs to; every day built so far was a UTC day.
A question asked in another zone reads such days from the tickets until the builder has built
that zone's days (`deskpulse serve` does it). The marks become the stretch of each UTC day, so
they still say which days of any zone are stale.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 18:00:00
"""

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from alembic import op

from storage.tables import Id, UTCDateTime

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

stale_days = sa.table('stale_days', sa.column('day', sa.Date))


def upgrade() -> None:
    with op.batch_alter_table('rollup_days') as table:
        table.add_column(sa.Column('zone', sa.String(64), nullable=False, server_default='UTC'))
    with op.batch_alter_table('rollup_days') as table:  # new days always name their zone
        table.alter_column('zone', server_default=None)
    spans = op.create_table(
        'stale_spans',
        sa.Column('id', Id, primary_key=True, autoincrement=True),
        sa.Column('starts_at', UTCDateTime(), nullable=False),
        sa.Column('ends_at', UTCDateTime(), nullable=False),
    )
    op.create_index('ix_stale_spans_starts_at', 'stale_spans', ['starts_at'])
    days = op.get_bind().execute(sa.select(stale_days.c.day).distinct()).scalars().all()
    if days:
        midnight = [datetime.combine(day, time(), UTC) for day in days]
        op.bulk_insert(spans, [{'starts_at': m, 'ends_at': m + timedelta(days=1)} for m in midnight])
    op.drop_index('ix_stale_days_day', 'stale_days')
    op.drop_table('stale_days')


def downgrade() -> None:
    """Marks become every UTC day they touch; days built in another zone than UTC are dropped."""
    table = op.create_table(
        'stale_days',
        sa.Column('id', Id, primary_key=True, autoincrement=True),
        sa.Column('day', sa.Date(), nullable=False),
    )
    op.create_index('ix_stale_days_day', 'stale_days', ['day'])
    spans = sa.table('stale_spans', sa.column('starts_at', UTCDateTime()), sa.column('ends_at', UTCDateTime()))
    days: set[date] = set()
    for starts_at, ends_at in op.get_bind().execute(sa.select(spans.c.starts_at, spans.c.ends_at).distinct()):
        day = starts_at.astimezone(UTC).date()
        while datetime.combine(day, time(), UTC) < ends_at:
            days.add(day)
            day += timedelta(days=1)
    if days:
        op.bulk_insert(table, [{'day': day} for day in sorted(days)])
    op.drop_index('ix_stale_spans_starts_at', 'stale_spans')
    op.drop_table('stale_spans')
    op.execute("DELETE FROM daily_measures WHERE day IN (SELECT day FROM rollup_days WHERE zone <> 'UTC')")
    op.execute("DELETE FROM rollup_days WHERE zone <> 'UTC'")
    with op.batch_alter_table('rollup_days') as table:
        table.drop_column('zone')
