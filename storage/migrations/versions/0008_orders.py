"""orders: a shop's purchases, for converted tickets and retention

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 18:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import CleanText, Id, UTCDateTime

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'orders',
        sa.Column('id', Id, primary_key=True, autoincrement=True),
        sa.Column('source', sa.String(40), nullable=False),
        sa.Column('order_id', sa.String(160), nullable=False),
        sa.Column('placed_at', UTCDateTime(), nullable=False),
        sa.Column('customer_key', sa.String(320), nullable=True),
        sa.Column('customer_id', sa.String(200), nullable=True),
        sa.Column('customer_name', CleanText(), nullable=True),
        sa.Column('total', sa.Float(), nullable=True),
        sa.Column('currency', sa.String(8), nullable=True),
        sa.Column('time_suspect', sa.Boolean(), nullable=False),
        sa.Column('delivery_id', Id, nullable=True),
        sa.UniqueConstraint('source', 'order_id', name='uq_orders_source_order'),
    )
    op.create_index('ix_orders_placed', 'orders', ['placed_at'])
    op.create_index('ix_orders_customer', 'orders', ['customer_key', 'placed_at'])


def downgrade() -> None:
    op.drop_index('ix_orders_customer', table_name='orders')
    op.drop_index('ix_orders_placed', table_name='orders')
    op.drop_table('orders')
