"""tests/core/test_throttle.py on PostgreSQL."""

from tests.core.test_throttle import *  # noqa: F403
