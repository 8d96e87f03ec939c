"""ticket messages, open spans, first responder

Tickets folded before this revision have no messages or spans: `storage.migrate.upgrade`
re-folds them from their stored events right after.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 07:32:30.252911
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.tables

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('ticket_messages',
    sa.Column('ticket_key', sa.String(length=200), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('author', sa.String(length=200), nullable=True),
    sa.Column('wait_seconds', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['ticket_key'], ['tickets.key'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_key', 'seq')
    )
    with op.batch_alter_table('ticket_messages', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_messages_at', ['at'], unique=False)

    op.create_table('ticket_spans',
    sa.Column('ticket_key', sa.String(length=200), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('opened_at', storage.tables.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', storage.tables.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_by', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['ticket_key'], ['tickets.key'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_key', 'seq')
    )
    with op.batch_alter_table('ticket_spans', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_spans_opened', ['opened_at'], unique=False)
        batch_op.create_index('ix_ticket_spans_resolved', ['resolved_at'], unique=False)

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_responder', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('requester_key', sa.String(length=320), nullable=True))
        batch_op.create_index('ix_tickets_activity', ['last_activity_at'], unique=False)
        batch_op.create_index('ix_tickets_requester_key', ['requester_key'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_requester_key')
        batch_op.drop_index('ix_tickets_activity')
        batch_op.drop_column('requester_key')
        batch_op.drop_column('first_responder')

    with op.batch_alter_table('ticket_spans', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_spans_resolved')
        batch_op.drop_index('ix_ticket_spans_opened')

    op.drop_table('ticket_spans')
    with op.batch_alter_table('ticket_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_messages_at')

    op.drop_table('ticket_messages')
