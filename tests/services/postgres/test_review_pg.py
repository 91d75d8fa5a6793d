"""tests/core/test_review.py on PostgreSQL."""

from tests.core.test_review import *  # noqa: F403
