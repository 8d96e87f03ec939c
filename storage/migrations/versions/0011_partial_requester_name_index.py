"""index only the requester names that exist: `/customer` stays an index lookup when most
requesters have no name (statistics of a full index say a name matches every ticket)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 03:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

NAMED = sa.text('requester_name IS NOT NULL')


def upgrade() -> None:
    op.drop_index('ix_tickets_requester_name', table_name='tickets')
    op.create_index('ix_tickets_requester_name', 'tickets', ['requester_name'], unique=False,
                    sqlite_where=NAMED, postgresql_where=NAMED)


def downgrade() -> None:
    op.drop_index('ix_tickets_requester_name', table_name='tickets')
    op.create_index('ix_tickets_requester_name', 'tickets', ['requester_name'], unique=False)
