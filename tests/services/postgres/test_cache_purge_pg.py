"""tests/core/test_cache_purge.py on PostgreSQL."""

from tests.core.test_cache_purge import *  # noqa: F403
