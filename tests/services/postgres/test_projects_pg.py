"""tests/core/test_projects.py on PostgreSQL."""

from tests.core.test_projects import *  # noqa: F403
