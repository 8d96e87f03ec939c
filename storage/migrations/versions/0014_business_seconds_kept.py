"""business seconds kept: daily measures keep each duration (and each answered ticket's wait for
its SLA) in business seconds, worked out under the business calendar named in rollup_days.calendar

Every built day holds the older layout (the moment a duration ended, where the business seconds
now go), so every day's measures are rebuilt (`deskpulse serve` does it; until then questions
read the tickets, with the same answers).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02 07:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute('DELETE FROM rollup_days')
    with op.batch_alter_table('rollup_days') as table:
        table.add_column(sa.Column('calendar', sa.String(16), nullable=True))


def downgrade() -> None:
    op.execute('DELETE FROM rollup_days')  # the older code reads the second number as a moment
    with op.batch_alter_table('rollup_days') as table:
        table.drop_column('calendar')
