"""jobs: leases on pending comments

Revision ID: 0006_jobs
Revises: 0005_anon
Create Date: 2026-12-01 02:00:00

A worker leases a batch of pending comments before it classifies them (``comment.claim_token``
and ``comment.claimed_until``) and writes a label only while its lease holds. Several workers never
classify the same comment, and a worker that dies mid-batch only delays its batch until the lease
runs out. ``ix_comment_label`` keeps "what is still pending" fast when most comments are labelled.

Plain ADD/DROP COLUMN, not batch mode (see 0005_anon: a batch rebuild of a parent table with
foreign keys on would cascade-delete its children).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006_jobs'
down_revision = '0005_anon'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('comment', sa.Column('claim_token', sa.String(length=32), nullable=True))
    op.add_column('comment', sa.Column('claimed_until', sa.DateTime(), nullable=True))
    op.create_index(op.f('ix_comment_label'), 'comment', ['label'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_comment_label'), table_name='comment')
    op.drop_column('comment', 'claimed_until')
    op.drop_column('comment', 'claim_token')
