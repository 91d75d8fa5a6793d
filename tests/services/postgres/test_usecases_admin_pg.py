"""tests/core/test_usecases_admin.py on PostgreSQL."""

from tests.core.test_usecases_admin import *  # noqa: F403
