"""agent measures: daily measures also keep each agent's replies, resolutions, first responses
and ratings, so the agents table of a month or a year reads a row per day

No table changes, but every built day lacks the new measures, so every day's measures are
rebuilt (`deskpulse serve` does it; until then questions read the tickets, with the same answers).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 04:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0013'
down_revision: str | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AGENT_MEASURES = "('replies', 'closures', 'first_responses', 'ratings')"


def upgrade() -> None:
    op.execute('DELETE FROM rollup_days')


def downgrade() -> None:
    # The other measures are as the older code packs them: built days stay usable.
    op.execute(f'DELETE FROM daily_measures WHERE measure IN {AGENT_MEASURES}')
