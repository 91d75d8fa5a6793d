"""tests/core/test_variants.py on PostgreSQL."""

from tests.core.test_variants import *  # noqa: F403
