"""tests/core/llm/test_cache.py on PostgreSQL."""

from tests.core.llm.test_cache import *  # noqa: F403
