"""reason checklist: the weak label a respondent's own checklist gives their comments

Revision ID: 0002_reasons
Revises: 0001
Create Date: 2026-11-30 23:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0002_reasons'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('self_label', sa.String(length=16), nullable=True))


def downgrade():
    with op.batch_alter_table('comment', schema=None) as batch_op:
        batch_op.drop_column('self_label')
