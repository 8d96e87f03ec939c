"""measure dims: daily measures point to their ticket attributes by id instead of a JSON list per day

The packed rows change meaning, so every day's measures are rebuilt (`deskpulse serve` does it;
until then questions read the tickets, with the same answers).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 20:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import Id

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _daily_measures(*dims: sa.Column) -> None:  # type: ignore[type-arg]
    op.create_table(
        'daily_measures',
        sa.Column('measure', sa.String(24), primary_key=True),
        sa.Column('day', sa.Date(), primary_key=True),
        sa.Column('rows', sa.Integer(), nullable=False),
        *dims,
        sa.Column('data', sa.LargeBinary(), nullable=False),
    )


def upgrade() -> None:
    op.create_table(
        'measure_dims',
        sa.Column('id', Id, primary_key=True, autoincrement=True),
        sa.Column('key', sa.Text(), nullable=False),
        sa.UniqueConstraint('key', name='uq_measure_dims_key'),
    )
    op.drop_table('daily_measures')
    _daily_measures()
    op.execute('DELETE FROM rollup_days')


def downgrade() -> None:
    op.drop_table('daily_measures')
    _daily_measures(sa.Column('dims', sa.JSON(), nullable=False))
    op.execute('DELETE FROM rollup_days')
    op.drop_table('measure_dims')
