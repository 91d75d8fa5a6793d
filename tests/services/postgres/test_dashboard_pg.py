"""tests/core/test_dashboard.py on PostgreSQL."""

from tests.core.test_dashboard import *  # noqa: F403
