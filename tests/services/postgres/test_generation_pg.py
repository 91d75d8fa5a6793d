"""tests/core/test_generation.py on PostgreSQL."""

from tests.core.test_generation import *  # noqa: F403
