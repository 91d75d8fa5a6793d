"""tests/core/test_users.py on PostgreSQL."""

from tests.core.test_users import *  # noqa: F403
