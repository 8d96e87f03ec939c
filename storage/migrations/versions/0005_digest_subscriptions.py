"""digest subscriptions and the posts claimed for them (each period posted once)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 14:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.tables import CleanText, Id, UTCDateTime

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'subscriptions',
        sa.Column('id', Id, primary_key=True, autoincrement=True),
        sa.Column('channel_id', sa.String(40), nullable=False),
        sa.Column('kind', sa.String(10), nullable=False),
        sa.Column('cadence', sa.String(10), nullable=False),
        sa.Column('weekday', sa.Integer(), nullable=True),
        sa.Column('at_time', sa.String(5), nullable=False),
        sa.Column('timezone', sa.String(64), nullable=False),
        sa.Column('filters', CleanText(), nullable=False),
        sa.Column('created_by', sa.String(40), nullable=False),
        sa.Column('created_at', UTCDateTime(), nullable=False),
        sa.UniqueConstraint('channel_id', 'kind', 'cadence', name='uq_subscriptions_channel_kind'),
    )
    op.create_table(
        'scheduled_posts',
        sa.Column('id', Id, primary_key=True, autoincrement=True),
        sa.Column('subscription_id', Id, nullable=False),
        sa.Column('period_key', sa.String(40), nullable=False),
        sa.Column('state', sa.String(10), nullable=False),
        sa.Column('holder', sa.String(80), nullable=False),
        sa.Column('claimed_at', UTCDateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('message_ts', sa.String(40), nullable=True),
        sa.Column('parts_posted', sa.Integer(), nullable=False),
        sa.Column('error', CleanText(), nullable=True),
        sa.Column('done_at', UTCDateTime(), nullable=True),
        sa.UniqueConstraint('subscription_id', 'period_key', name='uq_scheduled_posts_period'),
    )
    op.create_index('ix_scheduled_posts_state', 'scheduled_posts', ['state', 'claimed_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_scheduled_posts_state', table_name='scheduled_posts')
    op.drop_table('scheduled_posts')
    op.drop_table('subscriptions')
