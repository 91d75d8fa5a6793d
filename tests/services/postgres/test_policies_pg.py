"""tests/core/test_policies.py on PostgreSQL."""

from tests.core.test_policies import *  # noqa: F403
