"""second review decided_at index: the Dashboard's agreement reads only its period's second reviews

Revision ID: 0016
Revises: 0015
Created: 2026-12-01 21:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0016'
down_revision: str | None = '0015'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(op.f('ix_secondreview_decided_at'), 'secondreview', ['decided_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_secondreview_decided_at'), table_name='secondreview')
