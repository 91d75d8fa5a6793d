"""tests/core/test_evidence.py on PostgreSQL."""

from tests.core.test_evidence import *  # noqa: F403
