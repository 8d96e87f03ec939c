"""tallied messages: daily measures keep the messages a day counted as one row per ticket
attribute tuple with its number (incoming_count, outgoing_count), not a row per message
(incoming, outgoing)

A year of messages is millions of rows, and volume only counts them. Built days are converted
in place: nothing is rebuilt. The new names keep a day an older replica builds meanwhile from
being misread: it lacks them, so questions read that day from the tickets.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02 10:00:00
"""

from collections.abc import Callable, Sequence

import numpy as np
import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RENAMED = {'incoming': 'incoming_count', 'outgoing': 'outgoing_count'}
measures = sa.table('daily_measures', sa.column('measure', sa.String), sa.column('day', sa.Date),
                    sa.column('rows', sa.Integer), sa.column('data', sa.LargeBinary))


def _convert(names: dict[str, str], repack: Callable[[np.ndarray], np.ndarray]) -> None:
    """One day at a time: years of messages never sit in memory at once."""
    bind = op.get_bind()
    keys = bind.execute(sa.select(measures.c.measure, measures.c.day).where(measures.c.measure.in_(names))).all()
    for measure, day in keys:
        which = (measures.c.measure == measure, measures.c.day == day)
        packed = repack(np.frombuffer(bind.execute(sa.select(measures.c.data).where(*which)).scalar_one(),
                                      dtype=np.float64))
        bind.execute(sa.update(measures).where(*which)
                     .values(measure=names[measure], rows=int(packed.shape[0]), data=packed.tobytes()))


def _tally(ids: np.ndarray) -> np.ndarray:
    """A row per message (its attributes' id) -> a row per id: (id, messages)."""
    distinct, counts = np.unique(ids, return_counts=True)
    return np.column_stack([distinct, counts.astype(np.float64)]) if len(distinct) else np.empty((0, 2))


def _expand(packed: np.ndarray) -> np.ndarray:
    rows = packed.reshape(-1, 2)
    return np.repeat(rows[:, 0], rows[:, 1].astype(np.intp)).reshape(-1, 1)


def upgrade() -> None:
    _convert(RENAMED, _tally)


def downgrade() -> None:
    _convert({new: old for old, new in RENAMED.items()}, _expand)
