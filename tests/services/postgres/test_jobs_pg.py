"""tests/core/test_jobs.py on PostgreSQL."""

from tests.core.test_jobs import *  # noqa: F403
