"""second reviews: a project's share of blind second reviews, and the second reviews

Revision ID: 0009
Revises: 0008
Created: 2026-12-01 13:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.add_column(sa.Column('second_review_share', sa.Float(), nullable=False, server_default='0'))
    op.create_table(
        'secondreview',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('state', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('reviewer_id', sa.Integer(), nullable=True),
        sa.Column('claim_expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('verdict', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column('decided_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('adjudicated_by_id', sa.Integer(), nullable=True),
        sa.Column('adjudicated_verdict', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('adjudicated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['adjudicated_by_id'], ['user.id']),
        sa.ForeignKeyConstraint(['item_id'], ['reviewitem.id']),
        sa.ForeignKeyConstraint(['reviewer_id'], ['user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('item_id'),
    )
    with op.batch_alter_table('secondreview', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_secondreview_state'), ['state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('secondreview', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_secondreview_state'))
    op.drop_table('secondreview')
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_column('second_review_share')
