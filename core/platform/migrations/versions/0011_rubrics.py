"""rubrics: a project's checklist, and the marks recorded with each review decision

Revision ID: 0011
Revises: 0010
Created: 2026-12-01 16:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0011'
down_revision: str | None = '0010'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rubric', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    op.create_table(
        'rubricmark',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=60), nullable=False),
        sa.Column('passed', sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(['item_id'], ['reviewitem.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('item_id', 'name'),
    )


def downgrade() -> None:
    op.drop_table('rubricmark')
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_column('rubric')
