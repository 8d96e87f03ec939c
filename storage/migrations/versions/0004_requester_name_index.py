"""index tickets by requester name: `/customer Jane Doe` reads an index, not every ticket

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 15:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_tickets_requester_name', 'tickets', ['requester_name'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tickets_requester_name', table_name='tickets')
