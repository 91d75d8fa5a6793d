"""tests/core/test_privacy.py on PostgreSQL."""

from tests.core.test_privacy import *  # noqa: F403
