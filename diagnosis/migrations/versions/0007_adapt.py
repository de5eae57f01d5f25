"""adapt: review queue and per-organisation adapted classifiers

Revision ID: 0007_adapt
Revises: 0006_jobs
Create Date: 2026-12-01 05:00:00

``comment.sentence_labels`` keeps each sentence's label of a multi-sentence answer (the review
queue looks for answers whose sentences disagree with the answer's label);
``comment.review_model_label`` keeps the model's label at the moment a person reviewed the comment
(a confirmation is a review that agrees). ``org_example`` holds one organisation's imported labelled
comments, outside any campaign; ``org_model`` its adapted classifier.

Plain ADD COLUMN, not batch mode (see 0005_anon).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007_adapt'
down_revision = '0006_jobs'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column('comment', sa.Column('sentence_labels', sa.JSON(), nullable=True))
    op.add_column('comment', sa.Column('review_model_label', sa.String(length=16), nullable=True))
    op.create_table(
        'org_example',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('label', sa.String(length=16), nullable=False),
        sa.Column('source', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_org_example_organisation_id'), 'org_example', ['organisation_id'],
                    unique=False)
    op.create_table(
        'org_model',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('base_version', sa.String(length=64), nullable=False),
        sa.Column('version', sa.String(length=96), nullable=False),
        sa.Column('head', sa.LargeBinary(), nullable=False),
        sa.Column('errors', sa.LargeBinary(), nullable=True),
        sa.Column('n_reviewed', sa.Integer(), nullable=False),
        sa.Column('n_self_labelled', sa.Integer(), nullable=False),
        sa.Column('reviewed_through', sa.DateTime(), nullable=True),
        sa.Column('figures', sa.JSON(), nullable=True),
        sa.Column('in_use', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('seconds', sa.Double(), nullable=True),
        sa.Column('trained_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('organisation_id'),
    )


def downgrade():
    op.drop_table('org_model')
    op.drop_index(op.f('ix_org_example_organisation_id'), table_name='org_example')
    op.drop_table('org_example')
    op.drop_column('comment', 'review_model_label')
    op.drop_column('comment', 'sentence_labels')
