"""draft error message: why a draft failed or stopped as a message, rendered in each reader's language

Revision ID: 0015
Revises: 0014
Created: 2026-12-01 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0015'
down_revision: str | None = '0014'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ADD COLUMN: SQLite keeps the draft table (and the daily summaries' triggers on it)
    op.add_column('draft', sa.Column('error_message', sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column('draft', 'error_message')
