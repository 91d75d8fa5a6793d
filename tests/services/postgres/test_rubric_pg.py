"""tests/core/test_rubric.py on PostgreSQL."""

from tests.core.test_rubric import *  # noqa: F403
