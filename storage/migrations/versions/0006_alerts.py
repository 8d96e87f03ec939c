"""alerts: muting on subscriptions, and incidents (one open incident per subscription and signal)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import Id, UTCDateTime

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('subscriptions') as batch:
        batch.add_column(sa.Column('muted_until', UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('muted_signal', sa.String(80), nullable=False, server_default=''))
    op.create_table(
        'incidents',
        sa.Column('id', Id, primary_key=True, autoincrement=True),
        sa.Column('subscription_id', Id, nullable=False),
        sa.Column('signal', sa.String(80), nullable=False),
        sa.Column('open_key', sa.String(80), nullable=True),
        sa.Column('opened_at', UTCDateTime(), nullable=False),
        sa.Column('updated_at', UTCDateTime(), nullable=False),
        sa.Column('closed_at', UTCDateTime(), nullable=True),
        sa.Column('message_ts', sa.String(40), nullable=True),
        sa.Column('updates', sa.Integer(), nullable=False),
        sa.Column('acknowledged_by', sa.String(40), nullable=True),
        sa.Column('value', sa.Float(), nullable=True),
        sa.Column('usual', sa.Float(), nullable=True),
        sa.Column('window_start', UTCDateTime(), nullable=False),
        sa.Column('window_end', UTCDateTime(), nullable=False),
        sa.UniqueConstraint('subscription_id', 'open_key', name='uq_incidents_open'),
    )


def downgrade() -> None:
    op.drop_table('incidents')
    with op.batch_alter_table('subscriptions') as batch:
        batch.drop_column('muted_signal')
        batch.drop_column('muted_until')
