"""order changes: cancellations and refunds of a shop's orders, so an undone order stops counting

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 22:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import CleanText, Id, UTCDateTime

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'order_changes',
        sa.Column('id', Id, primary_key=True, autoincrement=True),
        sa.Column('source', sa.String(40), nullable=False),
        sa.Column('order_id', sa.String(160), nullable=False),
        sa.Column('change', sa.String(220), nullable=False),
        sa.Column('kind', sa.String(12), nullable=False),
        sa.Column('happened_at', UTCDateTime(), nullable=False),
        sa.Column('amount', sa.Float(), nullable=True),
        sa.Column('currency', sa.String(8), nullable=True),
        sa.Column('reason', CleanText(), nullable=True),
        sa.Column('time_suspect', sa.Boolean(), nullable=False),
        sa.Column('delivery_id', Id, nullable=True),
        sa.UniqueConstraint('source', 'order_id', 'change', name='uq_order_changes_order_change'),
    )


def downgrade() -> None:
    op.drop_table('order_changes')
