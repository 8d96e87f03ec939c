"""raw deliveries, events and tickets

Revision ID: 0001
Revises:
Create Date: 2026-11-23 04:44:51.208563
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.tables

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('quarantine',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('endpoint', sa.String(length=300), nullable=False),
    sa.Column('headers', storage.tables.CleanJSON(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('body_size', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=40), nullable=False),
    sa.Column('detail', storage.tables.CleanText(), nullable=False),
    sa.Column('received_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('raw_deliveries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('endpoint', sa.String(length=300), nullable=False),
    sa.Column('hint', sa.String(length=100), nullable=True),
    sa.Column('headers', storage.tables.CleanJSON(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('body_sha256', sa.String(length=64), nullable=False),
    sa.Column('received_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('idempotency_key', sa.String(length=300), nullable=True),
    sa.Column('fate', sa.String(length=12), nullable=False),
    sa.Column('error_code', sa.String(length=40), nullable=True),
    sa.Column('error', storage.tables.CleanText(), nullable=True),
    sa.Column('events_count', sa.Integer(), nullable=False),
    sa.Column('processed_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('raw_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_raw_deliveries_fate', ['fate', 'id'], unique=False)
        batch_op.create_index('ix_raw_deliveries_key', ['idempotency_key'], unique=False)
        batch_op.create_index('ix_raw_deliveries_received_at', ['received_at'], unique=False)

    op.create_table('ticket_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('event_id', sa.String(length=300), nullable=False),
    sa.Column('ticket_key', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('occurred_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('time_suspect', sa.Boolean(), nullable=False),
    sa.Column('author_role', sa.String(length=10), nullable=True),
    sa.Column('author_id', sa.String(length=200), nullable=True),
    sa.Column('public', sa.Boolean(), nullable=True),
    sa.Column('delivery_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('data', storage.tables.CleanJSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('source', 'event_id', name='uq_ticket_events_source_event')
    )
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_events_kind_time', ['kind', 'occurred_at'], unique=False)
        batch_op.create_index('ix_ticket_events_ticket', ['ticket_key', 'occurred_at'], unique=False)

    op.create_table('tickets',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('source', sa.String(length=40), nullable=False),
    sa.Column('ticket_id', sa.String(length=160), nullable=False),
    sa.Column('created_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at_known', sa.Boolean(), nullable=False),
    sa.Column('subject', storage.tables.CleanText(), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('channel_raw', storage.tables.CleanText(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('status_raw', storage.tables.CleanText(), nullable=True),
    sa.Column('is_resolved', sa.Boolean(), nullable=False),
    sa.Column('priority', sa.String(length=10), nullable=True),
    sa.Column('ticket_type', storage.tables.CleanText(), nullable=True),
    sa.Column('tags', storage.tables.CleanJSON(), nullable=False),
    sa.Column('requester_id', sa.String(length=200), nullable=True),
    sa.Column('requester_name', storage.tables.CleanText(), nullable=True),
    sa.Column('requester_email', storage.tables.CleanText(), nullable=True),
    sa.Column('organization', storage.tables.CleanText(), nullable=True),
    sa.Column('assignee_id', sa.String(length=200), nullable=True),
    sa.Column('assignee_name', storage.tables.CleanText(), nullable=True),
    sa.Column('group_name', storage.tables.CleanText(), nullable=True),
    sa.Column('outbound', sa.Boolean(), nullable=False),
    sa.Column('first_response_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_response_seconds', sa.Float(), nullable=True),
    sa.Column('response_intervals', sa.JSON(), nullable=False),
    sa.Column('awaiting_reply_since', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('agent_replies', sa.Integer(), nullable=False),
    sa.Column('customer_messages', sa.Integer(), nullable=False),
    sa.Column('bot_replies', sa.Integer(), nullable=False),
    sa.Column('first_resolved_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_resolved_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_resolution_seconds', sa.Float(), nullable=True),
    sa.Column('full_resolution_seconds', sa.Float(), nullable=True),
    sa.Column('times_resolved', sa.Integer(), nullable=False),
    sa.Column('reopens', sa.Integer(), nullable=False),
    sa.Column('one_touch', sa.Boolean(), nullable=False),
    sa.Column('abandoned', sa.Boolean(), nullable=False),
    sa.Column('csat', sa.String(length=8), nullable=True),
    sa.Column('csat_raw', storage.tables.CleanText(), nullable=True),
    sa.Column('csat_scale', sa.String(length=10), nullable=True),
    sa.Column('csat_score', sa.Float(), nullable=True),
    sa.Column('csat_comment', storage.tables.CleanText(), nullable=True),
    sa.Column('csat_agent_id', sa.String(length=200), nullable=True),
    sa.Column('rated_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('removed', sa.String(length=10), nullable=True),
    sa.Column('last_activity_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('time_suspect_events', sa.Integer(), nullable=False),
    sa.Column('agents', storage.tables.CleanJSON(), nullable=False),
    sa.PrimaryKeyConstraint('key')
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_assignee', ['assignee_id', 'created_at'], unique=False)
        batch_op.create_index('ix_tickets_channel_created', ['channel', 'created_at'], unique=False)
        batch_op.create_index('ix_tickets_created', ['created_at'], unique=False)
        batch_op.create_index('ix_tickets_first_response', ['first_response_at'], unique=False)
        batch_op.create_index('ix_tickets_open', ['is_resolved', 'created_at'], unique=False)
        batch_op.create_index('ix_tickets_rated', ['rated_at'], unique=False)
        batch_op.create_index('ix_tickets_requester', ['requester_id'], unique=False)
        batch_op.create_index('ix_tickets_resolved', ['last_resolved_at'], unique=False)

    op.create_table('delivery_keys',
    sa.Column('idempotency_key', sa.String(length=300), nullable=False),
    sa.Column('delivery_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['raw_deliveries.id'], ),
    sa.PrimaryKeyConstraint('idempotency_key')
    )
    op.create_table('ticket_tags',
    sa.Column('ticket_key', sa.String(length=200), nullable=False),
    sa.Column('tag', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['ticket_key'], ['tickets.key'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_key', 'tag')
    )
    with op.batch_alter_table('ticket_tags', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_tags_tag', ['tag'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('ticket_tags', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_tags_tag')

    op.drop_table('ticket_tags')
    op.drop_table('delivery_keys')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_resolved')
        batch_op.drop_index('ix_tickets_requester')
        batch_op.drop_index('ix_tickets_rated')
        batch_op.drop_index('ix_tickets_open')
        batch_op.drop_index('ix_tickets_first_response')
        batch_op.drop_index('ix_tickets_created')
        batch_op.drop_index('ix_tickets_channel_created')
        batch_op.drop_index('ix_tickets_assignee')

    op.drop_table('tickets')
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_events_ticket')
        batch_op.drop_index('ix_ticket_events_kind_time')

    op.drop_table('ticket_events')
    with op.batch_alter_table('raw_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_raw_deliveries_received_at')
        batch_op.drop_index('ix_raw_deliveries_key')
        batch_op.drop_index('ix_raw_deliveries_fate')

    op.drop_table('raw_deliveries')
    op.drop_table('quarantine')
