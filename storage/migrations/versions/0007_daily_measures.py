"""daily measures: per-day packed measurements for long questions, and the marks of stale days

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 17:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import Id, UTCDateTime

revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'daily_measures',
        sa.Column('measure', sa.String(24), primary_key=True),
        sa.Column('day', sa.Date(), primary_key=True),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('dims', sa.JSON(), nullable=False),
        sa.Column('data', sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        'rollup_days',
        sa.Column('day', sa.Date(), primary_key=True),
        sa.Column('built_at', UTCDateTime(), nullable=False),
    )
    op.create_table(
        'stale_days',
        sa.Column('id', Id, primary_key=True, autoincrement=True),
        sa.Column('day', sa.Date(), nullable=False),
    )
    op.create_index('ix_stale_days_day', 'stale_days', ['day'])


def downgrade() -> None:
    op.drop_index('ix_stale_days_day', 'stale_days')
    op.drop_table('stale_days')
    op.drop_table('rollup_days')
    op.drop_table('daily_measures')
