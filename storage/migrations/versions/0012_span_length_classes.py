"""span length classes: which tickets were open at a past moment is read per class, from the spans
opened within the class's limit before it, not from every span resolved since

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 03:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0012'
down_revision: str | None = '0011'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# storage.tables.SPAN_LENGTH_LIMITS as they were written here, in seconds: 1, 7, 30, 90, 365 days
LIMITS = (86_400, 604_800, 2_592_000, 7_776_000, 31_536_000)


def upgrade() -> None:
    op.add_column('ticket_spans', sa.Column('length_class', sa.Integer(), nullable=True))
    seconds = ("(julianday(resolved_at) - julianday(opened_at)) * 86400" if op.get_bind().dialect.name == "sqlite"
               else "EXTRACT(EPOCH FROM resolved_at - opened_at)")
    # a second to spare, as storage.tables.span_length_class: rounding can only move a span up
    classes = " ".join(f"WHEN {seconds} + 1 <= {limit} THEN {k}" for k, limit in enumerate(LIMITS))
    op.execute(f"UPDATE ticket_spans SET length_class = CASE {classes} ELSE {len(LIMITS)} END "
               "WHERE resolved_at IS NOT NULL")
    op.create_index('ix_ticket_spans_length_opened', 'ticket_spans', ['length_class', 'opened_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_ticket_spans_length_opened', table_name='ticket_spans')
    op.drop_column('ticket_spans', 'length_class')
