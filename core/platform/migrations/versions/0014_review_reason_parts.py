"""review reason parts: why a draft is in review as messages, rendered in each reader's language

Revision ID: 0014
Revises: 0013
Created: 2026-12-01 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0014'
down_revision: str | None = '0013'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # a plain ADD COLUMN: SQLite's batch mode would copy the table and drop the daily summaries' triggers on it
    op.add_column('reviewitem', sa.Column('reason_parts', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))


def downgrade() -> None:
    op.drop_column('reviewitem', 'reason_parts')
