"""index tickets by first resolution time; drop the (is_resolved, created_at) index

Metric reads go through the moment each measurement is attributed to. The open-tickets index
misled SQLite's planner into scanning every resolved ticket for "resolved in the period".
Removed tickets (merged, spam, deleted) lose their messages and spans, which no metric counts,
so that reads of those tables need not join the tickets.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_tickets_first_resolved', 'tickets', ['first_resolved_at'], unique=False)
    op.drop_index('ix_tickets_open', table_name='tickets')
    for child in ('ticket_messages', 'ticket_spans'):
        op.execute(f"DELETE FROM {child} WHERE ticket_key IN (SELECT key FROM tickets WHERE removed IS NOT NULL)")


def downgrade() -> None:
    op.create_index('ix_tickets_open', 'tickets', ['is_resolved', 'created_at'], unique=False)
    op.drop_index('ix_tickets_first_resolved', table_name='tickets')
