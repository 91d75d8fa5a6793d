"""tests/core/test_audit.py on PostgreSQL."""

from tests.core.test_audit import *  # noqa: F403
