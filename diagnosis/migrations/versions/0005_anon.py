"""anonymity: released snapshots of responses

Revision ID: 0005_anon
Revises: 0004_abuse
Create Date: 2026-11-30 12:00:00

Adds ``response.snapshot_seq``: the snapshot that first included a response (NULL while it waits
for enough others, see diagnosis.recommend.anonymity). Responses stored before this revision were
already visible, so they all join snapshot 1: nothing shown before the upgrade is taken back, and
nothing new is shown by it.

Plain ADD/DROP COLUMN, not batch mode: on SQLite, batch mode rebuilds the table, and dropping the
old ``response`` table with foreign keys on would cascade-delete every comment.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005_anon'
down_revision = '0004_abuse'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('response', sa.Column('snapshot_seq', sa.Integer(), nullable=True))
    op.create_index(op.f('ix_response_snapshot_seq'), 'response', ['snapshot_seq'], unique=False)
    op.execute(sa.text('UPDATE response SET snapshot_seq = 1'))


def downgrade():
    op.drop_index(op.f('ix_response_snapshot_seq'), table_name='response')
    op.drop_column('response', 'snapshot_seq')
