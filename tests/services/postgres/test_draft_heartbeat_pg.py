"""tests/core/test_draft_heartbeat.py on PostgreSQL (the writers are processes on the same database)."""

from tests.core.test_draft_heartbeat import *  # noqa: F403
