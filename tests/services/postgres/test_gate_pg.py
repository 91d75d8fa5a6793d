"""tests/core/test_gate.py on PostgreSQL."""

from tests.core.test_gate import *  # noqa: F403
