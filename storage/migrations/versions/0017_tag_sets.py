"""tag sets: each ticket's tags as one value (tickets.tag_set), which daily measures carry in
their attribute tuples, so that questions by tag, filtered by tag, or about segments made of
tags read days instead of tickets (messages are counted both without tags, as before, and per tag
set: incoming_by_tag, outgoing_by_tag)

Every built day is dropped with the attribute tuples it pointed to (they lack the tags), and
`deskpulse serve` builds them again, the most recent first; until then questions read the
tickets. `rollup_days.layout` says what a built day's tuples hold: a day an older replica
builds meanwhile (layout 1) is never read by this release, which rebuilds it.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-08 01:00:00
"""

import json
from collections.abc import Sequence
from itertools import groupby

import sqlalchemy as sa
from alembic import op

revision: str = '0017'
down_revision: str | None = '0016'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 10_000
tickets = sa.table('tickets', sa.column('key', sa.String), sa.column('tag_set', sa.Text))
tags = sa.table('ticket_tags', sa.column('ticket_key', sa.String), sa.column('tag', sa.String))


def _fill_tag_sets() -> None:
    """tag_set from ticket_tags, as storage.tables.tag_set writes it (sorted JSON, ASCII); the
    rows come in batches, each ticket's next to each other: years of them never sit in memory.
    PostgreSQL works them out itself, in one statement (its JSON keeps other characters than
    ASCII as they are, which reads back as the same tags): on 2.2 million tickets either way took
    about 2.5 minutes, most of it writing every ticket's row again."""
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute('UPDATE tickets SET tag_set = found.tags FROM ('
                   ' SELECT ticket_key, json_agg(tag ORDER BY tag COLLATE "C")::text AS tags'
                   ' FROM ticket_tags GROUP BY ticket_key) AS found WHERE tickets.key = found.ticket_key')
        return
    update = sa.update(tickets).where(tickets.c.key == sa.bindparam('ticket')).values(tag_set=sa.bindparam('tags'))
    ordered = bind.execute(sa.select(tags.c.ticket_key, tags.c.tag).order_by(tags.c.ticket_key)
                           .execution_options(stream_results=True, yield_per=BATCH))
    pending: list[dict[str, str]] = []
    for key, group in groupby(ordered, key=lambda row: row[0]):
        pending.append({'ticket': key, 'tags': json.dumps(sorted(tag for _, tag in group))})
        if len(pending) == BATCH:
            bind.execute(update, pending)
            pending = []
    if pending:
        bind.execute(update, pending)


def upgrade() -> None:
    with op.batch_alter_table('tickets') as table:
        table.add_column(sa.Column('tag_set', sa.Text(), nullable=True))
    _fill_tag_sets()
    op.execute('DELETE FROM daily_measures')
    op.execute('DELETE FROM rollup_days')
    op.execute('DELETE FROM measure_dims')
    with op.batch_alter_table('rollup_days') as table:
        table.add_column(sa.Column('layout', sa.Integer(), nullable=False, server_default='1'))


def downgrade() -> None:
    """Built days stay: the older release reads their tuples' first six attributes and the last,
    where it keeps them, and never looks at the tag set between; the message counts per tag set
    are new here, and go."""
    op.execute("DELETE FROM daily_measures WHERE measure IN ('incoming_by_tag', 'outgoing_by_tag')")
    with op.batch_alter_table('rollup_days') as table:
        table.drop_column('layout')
    # not in batch: on SQLite that copies the tickets table, and dropping the old one cascades to its children
    op.drop_column('tickets', 'tag_set')
