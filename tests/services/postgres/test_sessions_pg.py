"""tests/core/test_sessions.py on PostgreSQL."""

from tests.core.test_sessions import *  # noqa: F403
