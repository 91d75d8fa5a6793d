"""tests/core/test_rescoring.py on PostgreSQL."""

from tests.core.test_rescoring import *  # noqa: F403
