"""review assignments: the reviewer an editor asked to decide a review item

Revision ID: 0010
Revises: 0009
Created: 2026-12-01 16:00:00

    reviewitem.assigned_to_id, assigned_at      who is asked to decide it, since when (a hint)
    ix_reviewitem_assignee_state_created        a reviewer's assigned items first in the queue,
                                                oldest or newest; each reviewer's open load
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('reviewitem', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assigned_to_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('assigned_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
        batch_op.create_foreign_key('fk_reviewitem_assigned_to_id_user', 'user', ['assigned_to_id'], ['id'])
        batch_op.create_index('ix_reviewitem_assignee_state_created', ['assigned_to_id', 'state', 'created_at', 'id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('reviewitem', schema=None) as batch_op:
        batch_op.drop_index('ix_reviewitem_assignee_state_created')
        batch_op.drop_constraint('fk_reviewitem_assigned_to_id_user', type_='foreignkey')
        batch_op.drop_column('assigned_at')
        batch_op.drop_column('assigned_to_id')
