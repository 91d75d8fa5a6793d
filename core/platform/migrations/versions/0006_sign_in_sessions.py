"""sign-in sessions

Revision ID: 0006
Revises: 0005
Created: 2026-12-01 12:50:49.856704

One new table, `signinsession` (core.access.signins): one row per signed-in browser, holding
only a SHA-256 of the cookie's token. Nothing existing changes.
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'signinsession',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('last_seen_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('expires_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('address', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('user_agent', sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column('revoked_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('revoked_reason', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    with op.batch_alter_table('signinsession', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signinsession_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('signinsession', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signinsession_user_id'))
    op.drop_table('signinsession')
