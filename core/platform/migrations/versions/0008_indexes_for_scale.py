"""indexes for scale: the review queue and history, the dashboard, the audit trail (issue 17)

Revision ID: 0008
Revises: 0006
Created: 2026-12-01

Each index serves a query that must not read a whole table as the data grows
(tests/core/test_query_plans.py reads their plans):

    ix_reviewitem_state_created     the queue, oldest or newest first: one ordered walk per state
    ix_reviewitem_decider_decided   a reviewer's history, newest first
    ix_reviewitem_decided_at        the dashboard's decisions of a period
    ix_score_draft_metric_value     scores of a draft by metric from the index alone (queue by score,
                                    the dashboard's means)
    ix_auditevent_created_id        the audit trail newest first (time, then id) within dates
    ix_auditevent_actor_created     the same for one user
    ix_auditevent_action_created    the same for one action
"""

from collections.abc import Sequence

from alembic import op

revision: str = '0008'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    ("ix_reviewitem_state_created", "reviewitem", ["state", "created_at", "id"]),
    ("ix_reviewitem_decider_decided", "reviewitem", ["decided_by_id", "decided_at", "id"]),
    ("ix_reviewitem_decided_at", "reviewitem", ["decided_at"]),
    ("ix_score_draft_metric_value", "score", ["draft_id", "metric", "value"]),
    ("ix_auditevent_created_id", "auditevent", ["created_at", "id"]),
    ("ix_auditevent_actor_created", "auditevent", ["actor_id", "created_at", "id"]),
    ("ix_auditevent_action_created", "auditevent", ["action", "created_at", "id"]),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
